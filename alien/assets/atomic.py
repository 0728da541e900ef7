"""Atomic outputs: write into a temporary sibling, then rename — and clean up after a crash.

Every stage and every cache build writes this way, so a failure half-way leaves
the previous output exactly as it was (DVC and Prefect retries rely on that).
Temporaries are named ``.<target>.<pid>.<random>.tmp`` (and ``.old`` for a
directory being swapped out) next to the target, so
:func:`remove_stale_staging` can tell the leftovers of a killed process from
the work of a running one.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

from alien.assets.processes import pid_alive

# .<target>.<pid>.<tempfile's random part>.<tmp|old>; pid-less names are from before pids were recorded
_STAGING = re.compile(r"^\.(?P<target>.+?)\.(?:(?P<pid>\d+)\.)?[a-z0-9_]{8}\.(?P<kind>tmp|old)$")


def _prefix(path: Path) -> str:
    return f".{path.name}.{os.getpid()}."


@contextlib.contextmanager
def atomic_file(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path next to ``path``; on success it replaces ``path``.

    On an exception the temporary file is removed and ``path`` is untouched.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=_prefix(path), suffix=".tmp", dir=path.parent)
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


@contextlib.contextmanager
def atomic_directory(path: str | Path) -> Iterator[Path]:
    """Yield an empty temporary directory next to ``path``; on success it replaces ``path``.

    The old directory (if any) is moved aside, the new one renamed into place,
    then the old one deleted — so a crash inside the block leaves ``path``
    exactly as it was, and a crash during the swap leaves the old directory
    where :func:`remove_stale_staging` puts it back.

    Raises:
        OSError: ``path`` could not be replaced (e.g. another process put a
            directory there during the swap); the temporary is removed.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=_prefix(path), suffix=".tmp", dir=path.parent))
    try:
        yield tmp
        old = None
        if path.exists() or path.is_symlink():
            old = Path(tempfile.mkdtemp(prefix=_prefix(path), suffix=".old", dir=path.parent))
            os.replace(path, old / "previous")
        try:
            os.replace(tmp, path)
        except OSError:
            if old is not None and not path.exists():
                os.replace(old / "previous", path)
            raise
        finally:
            if old is not None:
                shutil.rmtree(old, ignore_errors=True)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


@contextlib.contextmanager
def scratch_directory(parent: str | Path, *, name: str) -> Iterator[Path]:
    """A temporary working directory in ``parent``, always removed; named like a staging folder.

    For downloads and unpacking that must stay on the target's file system
    (so the final rename is atomic) and must be cleaned up after a crash too.
    """
    folder = Path(parent)
    folder.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=_prefix(folder / name), suffix=".tmp", dir=folder))
    try:
        yield tmp
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def remove_stale_staging(parent: str | Path) -> list[Path]:
    """Remove the temporaries that killed processes left in ``parent``; restore a swapped-out target.

    A temporary is stale when the process named in it is no longer running
    (or it names none: written before pids were recorded). A stale ``.old``
    folder whose target is missing holds the previous output of a swap that
    was interrupted; it is moved back instead of deleted.

    Args:
        parent: the folder holding atomic outputs (e.g. ``models/``); a missing
            folder has nothing to clean.

    Returns:
        The temporaries removed or restored, sorted.

    Raises:
        TypeError: ``parent`` is not a path.
    """
    if not isinstance(parent, str | os.PathLike):
        raise TypeError(f"parent must be a path, got {type(parent).__name__}")
    folder = Path(parent)
    if not folder.is_dir():
        return []
    cleaned = []
    for entry in sorted(folder.iterdir()):
        match = _STAGING.match(entry.name)
        if match is None or _running(match["pid"]):
            continue
        target = folder / match["target"]
        previous = entry / "previous"
        if match["kind"] == "old" and previous.exists() and not (target.exists() or target.is_symlink()):
            os.replace(previous, target)
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry, ignore_errors=True)
        else:
            entry.unlink(missing_ok=True)
        cleaned.append(entry)
    return cleaned


def _running(pid: str | None) -> bool:
    if pid is None:
        return False
    return int(pid) == os.getpid() or pid_alive(int(pid))
