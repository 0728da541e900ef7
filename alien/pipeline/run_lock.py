"""One pipeline run per project folder at a time.

Two runs in one checkout would write the same ``data/``, ``models/`` and
``dvc.lock`` under each other. The run lock is a file lock on
``<root>/.alien-run.lock``, taken without waiting: a second run fails at once
with :class:`ProjectBusyError` naming the holder, before any stage starts.
(Registrations are serialised separately, per registry and model, by
:mod:`alien.tracking.lock`; runs on other machines by a Prefect concurrency limit.)
"""

from __future__ import annotations

import contextlib
import os
import socket
from collections.abc import Iterator
from pathlib import Path

LOCK_FILE = ".alien-run.lock"


class ProjectBusyError(RuntimeError):
    """Another run of this project holds the run lock."""


@contextlib.contextmanager
def project_run_lock(root: str | Path = ".") -> Iterator[Path]:
    """Hold ``<root>/.alien-run.lock`` for the block.

    Raises:
        ProjectBusyError: another process holds it (the message names it).
    """
    from filelock import FileLock, Timeout

    path = Path(root).resolve() / LOCK_FILE
    owner = path.with_suffix(".owner")
    lock = FileLock(str(path), timeout=0)
    try:
        lock.acquire()
    except Timeout:
        held_by = owner.read_text(encoding="utf-8").strip() if owner.is_file() else "another process"
        raise ProjectBusyError(
            f"another run of the project in {path.parent} is in progress ({held_by}); "
            "wait for it to finish (runs of one project never overlap)"
        ) from None
    try:
        owner.write_text(f"pid {os.getpid()} on {socket.gethostname()}\n", encoding="utf-8")
        yield path
    finally:
        owner.unlink(missing_ok=True)
        lock.release()
