"""A machine without ``/proc`` (macOS, the BSDs), for tests of the code that looks at processes.

Inside :func:`no_proc` every way of reaching ``/proc`` (``open``, ``io.open``,
``os.open``, ``os.listdir``, ``os.scandir``, ``os.stat``, and so ``pathlib``) raises
``FileNotFoundError``, as it does on macOS, unless psutil itself is the caller:
psutil is the portable layer, which on Linux is built on ``/proc`` and on macOS on
``sysctl``/``libproc``. So a test passing inside it shows the code under test asks
psutil, never ``/proc``.
"""

from __future__ import annotations

import builtins
import contextlib
import io
import os
import sys
from collections.abc import Callable, Iterator
from typing import Any

import pytest

_PATCHED = {
    builtins: ("open",),
    io: ("open",),
    os: ("open", "listdir", "scandir", "stat", "lstat"),
}


def _is_proc(path: Any) -> bool:
    if isinstance(path, int):  # a file descriptor
        return False
    with contextlib.suppress(TypeError):
        name = os.fsdecode(os.fspath(path))
        return name == "/proc" or name.startswith("/proc/")
    return False


def _guarded(name: str, real: Callable[..., Any]) -> Callable[..., Any]:
    def guarded(*args: Any, **kwargs: Any) -> Any:
        caller = sys._getframe(1).f_globals.get("__name__", "")
        if args and _is_proc(args[0]) and not caller.startswith("psutil"):
            raise FileNotFoundError(
                2, f"No such file or directory (no /proc here; {name} from {caller})", args[0]
            )
        return real(*args, **kwargs)

    return guarded


@contextlib.contextmanager
def no_proc() -> Iterator[None]:
    """Within the block, ``/proc`` does not exist for anything but psutil."""
    with pytest.MonkeyPatch.context() as patch:
        for module, names in _PATCHED.items():
            for name in names:
                patch.setattr(module, name, _guarded(name, getattr(module, name)))
        yield
