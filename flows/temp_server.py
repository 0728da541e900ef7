"""The temporary Prefect server of ``alien run``: stopped on every exit, reaped after a kill.

Without ``PREFECT_API_URL`` Prefect starts a temporary API server (a uvicorn child
process) and stops it from an ``atexit`` hook. That hook never runs when the run is
killed: ``SIGTERM`` and ``SIGHUP`` end Python without ``atexit``, and ``SIGKILL``
cannot be caught at all, so the server was left running, orphaned.

Here the same server (Prefect's own ``SubprocessASGIServer``, which Prefect's client
then reuses: it is a per-port singleton) is started up front, with two guarantees:

- ``SIGTERM`` / ``SIGHUP`` become ``SystemExit`` for the duration, so the interpreter
  exits normally and Prefect's own ``atexit`` hook stops the server (after its log and
  event workers have drained);
- the server inherits ``ALIEN_PREFECT_SERVER_OWNER=<pid>:<project folder>``; after a
  ``SIGKILL`` (even one during the server's start-up) the next ``alien run`` of the
  project stops every Prefect server process carrying its folder whose owner is gone.

Processes are found and read through psutil, so this works without ``/proc`` (macOS).
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from types import FrameType

import psutil

from alien.assets.processes import pid_alive

OWNER_ENV = "ALIEN_PREFECT_SERVER_OWNER"
_SERVER_APP = "prefect.server.api.server:create_app"


def _owner_mark(process: psutil.Process) -> str | None:
    """The process's ``OWNER_ENV`` value, if it is a Prefect server carrying one (and readable)."""
    try:
        if _SERVER_APP not in " ".join(process.cmdline()):
            return None
        return process.environ().get(OWNER_ENV)
    except (psutil.NoSuchProcess, psutil.AccessDenied):  # gone, or another user's
        return None


def left_behind(root: str | Path = ".") -> list[int]:
    """Pids of temporary Prefect servers started for ``root`` by runs that no longer exist."""
    folder = str(Path(root).resolve())
    found = []
    for process in psutil.process_iter():
        mark = None if process.pid == os.getpid() else _owner_mark(process)
        if mark is None:
            continue
        owner, _, where = mark.partition(":")
        if where == folder and owner.isdigit() and not pid_alive(int(owner)) and pid_alive(process.pid):
            found.append(process.pid)
    return sorted(found)


def reap_orphans(root: str | Path = ".") -> list[int]:
    """Stop the temporary servers killed runs of this project left behind; returns their pids."""
    stopped = left_behind(root)
    for pid in stopped:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + 5
    for pid in stopped:
        while pid_alive(pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        if pid_alive(pid):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        print(
            f"stopped a temporary Prefect server (pid {pid}) that a killed run left behind", file=sys.stderr
        )
    return stopped


def _exit_on_signal(signum: int, _frame: FrameType | None) -> None:
    raise SystemExit(128 + signum)


@contextlib.contextmanager
def temporary_server(root: str | Path = ".") -> Iterator[str | None]:
    """Run the block against a temporary Prefect server that cannot outlive the run.

    With ``PREFECT_API_URL`` set (a real server) this does nothing and yields ``None``;
    otherwise it yields the temporary server's API URL.
    """
    from prefect.settings import PREFECT_API_URL

    if PREFECT_API_URL.value():
        yield None
        return
    from prefect.server.api.server import SubprocessASGIServer

    reap_orphans(root)
    previous = {sig: signal.signal(sig, _exit_on_signal) for sig in (signal.SIGTERM, signal.SIGHUP)}
    server = SubprocessASGIServer()
    os.environ[OWNER_ENV] = f"{os.getpid()}:{Path(root).resolve()}"  # the server's env copies it
    try:
        try:
            server.start()
        finally:
            os.environ.pop(OWNER_ENV, None)  # only the server carries it, not the stages' processes
        yield server.api_url
    finally:
        # No server.stop() here: Prefect stops it from atexit, *after* its log and event
        # workers have drained into it (stopping it first left them retrying for a minute).
        # A SIGTERM/SIGHUP is a SystemExit now, so that atexit path runs on those too.
        for sig, handler in previous.items():
            signal.signal(sig, handler)
