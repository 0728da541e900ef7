"""Whether a process on this machine is still running: the test behind every "left by a dead process" clean-up.

Asked through psutil, so it works where there is no ``/proc`` (macOS).
"""

from __future__ import annotations

import psutil


def pid_alive(pid: int) -> bool:
    """True while ``pid`` runs (also when another user owns it); a zombie counts as gone.

    >>> import os
    >>> pid_alive(os.getpid())
    True
    """
    if not psutil.pid_exists(pid):
        return False
    try:
        # Exited but not yet reaped by its parent: it holds nothing any more.
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:  # gone meanwhile, or a zombie (psutil.ZombieProcess, on macOS)
        return False
    except psutil.AccessDenied:  # alive, owned by another user
        return True
