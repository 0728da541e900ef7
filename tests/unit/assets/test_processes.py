"""``pid_alive``: running, gone and zombie processes, on a machine without ``/proc`` as well."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from alien.assets.processes import pid_alive
from tests.no_proc import no_proc


def _exited_pid() -> int:
    """The pid of a child that has exited and been reaped (nothing runs under it now)."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def _zombie() -> subprocess.Popen[bytes]:
    """A child that has exited but is not reaped yet: a zombie."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    deadline = time.monotonic() + 30
    while psutil.Process(child.pid).status() != psutil.STATUS_ZOMBIE:
        assert time.monotonic() < deadline, "the child did not exit"
        time.sleep(0.02)
    return child


def test_the_fake_machine_has_no_proc() -> None:
    with no_proc():
        with pytest.raises(FileNotFoundError):
            Path("/proc/self/stat").read_text()
        with pytest.raises(FileNotFoundError):
            next(Path("/proc").iterdir())
        with pytest.raises(FileNotFoundError):
            open("/proc/self/environ", "rb")  # noqa: SIM115
        with pytest.raises(FileNotFoundError):
            os.listdir("/proc")
    assert Path("/proc/self/stat").exists() or sys.platform != "linux"  # restored afterwards


@pytest.mark.parametrize("without_proc", [False, True], ids=["with /proc", "without /proc"])
def test_running_gone_and_zombie(without_proc: bool) -> None:
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    zombie = _zombie()
    gone = _exited_pid()
    try:
        with no_proc() if without_proc else contextlib.nullcontext():
            assert pid_alive(os.getpid())
            assert pid_alive(sleeper.pid)
            assert not pid_alive(gone)
            assert not pid_alive(zombie.pid), "an exited, unreaped child holds nothing: it counts as gone"
    finally:
        sleeper.kill()
        sleeper.wait()
        zombie.wait()
    assert not pid_alive(sleeper.pid)


def test_another_users_process_counts_as_running(monkeypatch: pytest.MonkeyPatch) -> None:
    def denied(self: psutil.Process) -> str:
        raise psutil.AccessDenied(self.pid)

    monkeypatch.setattr(psutil.Process, "status", denied)  # what psutil says of another user's process
    with no_proc():
        assert pid_alive(os.getpid())
        assert not pid_alive(_exited_pid())
