"""``alien run``'s temporary-server bookkeeping on a machine without ``/proc`` (macOS).

The orphan search, the reaping and the start-up path of
:func:`flows.temp_server.temporary_server` run inside :func:`tests.no_proc.no_proc`,
against stand-in server processes (a ``sleep`` whose command line names Prefect's
server app). tests/integration/test_temp_server.py does the same with a real server.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import ClassVar

import pytest

from flows import temp_server
from flows.temp_server import OWNER_ENV, left_behind, reap_orphans, temporary_server
from tests.no_proc import no_proc

_STAND_IN = "import time; time.sleep(120)"


def _dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


@pytest.fixture
def servers() -> Iterator[list[subprocess.Popen[bytes]]]:
    started: list[subprocess.Popen[bytes]] = []
    yield started
    for proc in started:
        proc.kill()
        proc.wait()


def _server(servers: list[subprocess.Popen[bytes]], owner: int, folder: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, OWNER_ENV: f"{owner}:{folder.resolve()}"}
    proc = subprocess.Popen([sys.executable, "-c", _STAND_IN, temp_server._SERVER_APP], env=env)
    servers.append(proc)
    return proc


def test_orphans_are_found_and_stopped_without_proc(tmp_path: Path, servers: list) -> None:
    other = tmp_path / "other-project"
    other.mkdir()
    orphan = _server(servers, _dead_pid(), tmp_path)
    running = _server(servers, os.getpid(), tmp_path)  # its run is alive: not an orphan
    elsewhere = _server(servers, _dead_pid(), other)  # another project's
    with no_proc():
        assert left_behind(tmp_path) == [orphan.pid]
        assert left_behind(other) == [elsewhere.pid]
        assert reap_orphans(tmp_path) == [orphan.pid]
        assert left_behind(tmp_path) == []  # stopped: a zombie until waited for, which counts as gone
    assert orphan.wait(timeout=10) == -signal.SIGTERM
    assert running.poll() is None and elsewhere.poll() is None


class _FakeServer:
    """Stands in for Prefect's ``SubprocessASGIServer``; records the owner mark its process would inherit."""

    marks: ClassVar[list[str | None]] = []

    def __init__(self) -> None:
        self.api_url = "http://127.0.0.1:1/api"

    def start(self) -> None:
        self.marks.append(os.environ.get(OWNER_ENV))


def test_temporary_server_starts_without_proc(tmp_path: Path, servers: list, monkeypatch) -> None:
    import prefect.server.api.server as prefect_server
    import prefect.settings

    class _Unset:
        def value(self) -> None:
            return None

    monkeypatch.setattr(prefect.settings, "PREFECT_API_URL", _Unset())
    monkeypatch.setattr(prefect_server, "SubprocessASGIServer", _FakeServer)
    orphan = _server(servers, _dead_pid(), tmp_path)
    with no_proc(), temporary_server(tmp_path) as url:
        assert url == "http://127.0.0.1:1/api"
        assert orphan.wait(timeout=10) == -signal.SIGTERM  # a killed run's server, stopped on the way in
        assert OWNER_ENV not in os.environ  # only the server carries the mark
    assert _FakeServer.marks == [f"{os.getpid()}:{tmp_path.resolve()}"]
