"""What DVC tells a stage's command line through the environment, read only there.

``dvc repro`` and ``dvc exp run`` set ``DVC_ROOT`` (the repository root; under
``dvc exp run --temp`` the *parent* repository's, while the stage runs in a temporary
executor folder), and ``dvc exp run`` sets ``DVC_EXP_NAME`` (the experiment's name)
for every stage. A stage's ``cli_keywords`` (see :mod:`alien.pipeline.cli`) turns them
into explicit keyword arguments of its ``run``; nothing else reads them.
"""

from __future__ import annotations

import os
from pathlib import Path

DVC_EXP_NAME = "DVC_EXP_NAME"
DVC_ROOT = "DVC_ROOT"


def dvc_experiment() -> str | None:
    """The name of the ``dvc exp run`` this process is a stage of, or ``None``."""
    return os.environ.get(DVC_EXP_NAME) or None


def dvc_root() -> Path | None:
    """The DVC repository root this stage belongs to (the user's, even in a ``--temp`` executor), or ``None``."""
    root = os.environ.get(DVC_ROOT)
    return Path(root) if root else None
