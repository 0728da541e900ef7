"""Data: sources (packaged, local, hub), validation, stable splits, and prepared-split readers.

The names below are imported on first use (PEP 562), so ``import alien.data.io`` (reading a
JSON report, as a no-op pipeline run does) does not load pandas with the data sources.
"""

from __future__ import annotations

import importlib
from typing import Any

_WHERE = {
    "RawDataset": "alien.data.dataset",
    "meta_path": "alien.data.dataset",
    "read_raw": "alien.data.dataset",
    "write_raw": "alien.data.dataset",
    "SPLITS": "alien.data.io",
    "read_labels": "alien.data.io",
    "read_split": "alien.data.io",
    "read_summary": "alien.data.io",
    "load_source": "alien.data.sources",
}

__all__ = sorted(_WHERE)


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module 'alien.data' has no attribute {name!r}")
    return getattr(importlib.import_module(_WHERE[name]), name)
