"""`alien run`'s temporary Prefect server does not outlive a killed run.

A real Prefect temporary server (uvicorn child process) is started by
:func:`flows.temp_server.temporary_server` in a child Python process, which is then
killed: SIGTERM must stop the server on the way out; after SIGKILL the server is
left, found by :func:`left_behind` and stopped by the next start.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from flows.temp_server import left_behind, reap_orphans
from tests.integration.servers import server_env

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = """
import sys, time
from flows.temp_server import temporary_server
with temporary_server(sys.argv[1]) as url:
    print(url, flush=True)
    time.sleep(600)
"""


def _servers_of(pid: int) -> list[int]:
    """Child pids of ``pid`` running Prefect's server app."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text().rsplit(")", 1)[-1].split()
            cmd = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if int(stat[1]) == pid and b"prefect.server.api.server:create_app" in cmd:
            found.append(int(entry.name))
    return found


def _gone(pid: int, within: float = 10.0) -> bool:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        if Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[-1].split()[0] == "Z":
            return True
        time.sleep(0.1)
    return False


def _start(project: Path) -> tuple[subprocess.Popen[str], int]:
    env = server_env(PYTHONPATH=str(ROOT))
    env.pop("PREFECT_API_URL", None)
    env["PREFECT_HOME"] = str(project / ".prefect")
    env["PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS"] = "180"
    proc = subprocess.Popen(
        [sys.executable, "-c", SCRIPT, str(project)], cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None
    url = proc.stdout.readline().strip()
    assert url.startswith("http://127.0.0.1:"), f"temporary server did not start (exit {proc.poll()})"
    servers = _servers_of(proc.pid)
    assert len(servers) == 1, servers
    return proc, servers[0]


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP], ids=["SIGTERM", "SIGHUP"])
def test_a_terminated_run_stops_its_server(tmp_path: Path, sig: signal.Signals) -> None:
    proc, server = _start(tmp_path)
    proc.send_signal(sig)
    assert proc.wait(timeout=30) == 128 + sig
    assert _gone(server), f"temporary Prefect server {server} outlived the run ({sig.name})"


def test_a_killed_runs_server_is_stopped_by_the_next_start(tmp_path: Path) -> None:
    proc, server = _start(tmp_path)
    other = tmp_path / "other-project"
    other.mkdir()
    proc.kill()
    proc.wait(timeout=30)
    assert not _gone(server, within=1.0), "SIGKILL is expected to leave the server (nothing can catch it)"
    assert left_behind(other) == []  # another project's runs never touch it
    assert left_behind(tmp_path) == [server]
    assert reap_orphans(tmp_path) == [server]
    assert _gone(server)
    assert left_behind(tmp_path) == []
