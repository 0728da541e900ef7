"""A file lock per (registry, model): writers of one registered model on one machine take turns.

MLflow cannot compare-and-set an alias, so two registrations that read the
champion, decide, and move the alias at the same time can both "win". The
register stage holds this lock from its first registry read to its last
write, which makes read-decide-move one step for every process on this
machine that registers the same model in the same registry — whichever clone
or project folder it runs from. The lock file lives in ``$ALIEN_LOCK_DIR``
(default: ``<tmp>/alien-locks``), named after a hash of the URI and the model.

Runs on other machines are not covered: use the Prefect concurrency limit
described in ``docs/registry.md`` for those.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from filelock import BaseFileLock

LOCK_DIR_ENV = "ALIEN_LOCK_DIR"


class RegistryBusyError(RuntimeError):
    """Another process held the registry lock for longer than the timeout."""


def lock_path(uri: str, model_name: str) -> Path:
    """The lock file of registered model ``model_name`` in the registry at ``uri``."""
    folder = Path(os.environ.get(LOCK_DIR_ENV) or Path(tempfile.gettempdir()) / "alien-locks")
    digest = hashlib.sha256(f"{uri}\n{model_name}".encode()).hexdigest()[:16]
    return folder / f"registry-{digest}.lock"


class RegistryLock:
    """A :class:`filelock.FileLock` whose timeout raises :class:`RegistryBusyError` naming the file."""

    def __init__(self, path: Path, timeout: float) -> None:
        from filelock import FileLock

        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.timeout = timeout
        self._lock: BaseFileLock = FileLock(str(path), timeout=timeout)

    def __enter__(self) -> RegistryLock:
        from filelock import Timeout

        try:
            self._lock.acquire()
        except Timeout as exc:
            raise RegistryBusyError(
                f"another registration of this model held {self.path} for over {self.timeout:.0f} s; "
                "retry when it has finished"
            ) from exc
        return self

    def __exit__(self, *exc: object) -> None:
        self._lock.release()

    @property
    def is_locked(self) -> bool:
        return self._lock.is_locked


def registry_lock(uri: str, model_name: str, *, timeout: float = 600.0) -> RegistryLock:
    """A context manager holding the lock of ``model_name`` at ``uri`` (waits up to ``timeout`` s).

    Raises:
        ValueError: ``timeout`` is negative.
        RegistryBusyError: (on entering) the lock was not free within ``timeout``.
    """
    if timeout < 0:
        raise ValueError(f"lock timeout must be >= 0 seconds, got {timeout}")
    return RegistryLock(lock_path(uri, model_name), timeout)
