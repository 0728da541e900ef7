"""``dvc.lock`` read without DVC: opening DVC's repository costs seconds, parsing the file less."""

from __future__ import annotations

import functools
from collections.abc import Mapping
from pathlib import Path
from typing import Any


def locked_stages(root: str | Path) -> Mapping[str, Any]:
    """``dvc.lock``'s ``stages`` (empty without one), parsed once per state of the file: the
    lock of a default run holds thousands of lines, and a run reads it from several tasks.
    The mapping is shared: read it, do not change it."""
    lock = Path(root) / "dvc.lock"
    try:
        stat = lock.stat()
    except FileNotFoundError:
        return {}
    return _parsed_lock(str(lock.resolve()), stat.st_ino, stat.st_mtime_ns, stat.st_size)


@functools.lru_cache(maxsize=4)
def _parsed_lock(path: str, _inode: int, _mtime_ns: int, _size: int) -> Mapping[str, Any]:
    import yaml

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    return (yaml.load(Path(path).read_text(encoding="utf-8"), Loader=loader) or {}).get("stages", {})
