"""DVC bookkeeping shared by both runners.

``dvc repro`` tracks stages itself. The Prefect flow runs the same stage
functions in-process, so it asks DVC whether a stage is up to date before
running it and commits the stage afterwards: ``dvc.lock`` then describes what
was run, a later ``dvc repro`` is a no-op, and the data version (the DVC md5 of
the raw data) is the same number whichever runner produced the model.
"""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path
from typing import Any

import yaml

log = logging.getLogger(__name__)


def is_dvc_repo(root: str | Path = ".") -> bool:
    """Whether ``root`` holds a DVC project (a ``.dvc`` folder and ``dvc.yaml``)."""
    root = Path(root)
    return (root / ".dvc").is_dir() and (root / "dvc.yaml").is_file()


def _repo(root: str | Path) -> Any:
    from dvc.repo import Repo

    return Repo(str(root))


def stage_up_to_date(stage: str, *, root: str | Path = ".") -> bool:
    """Whether DVC considers ``stage`` unchanged (deps, params, outs as in ``dvc.lock``).

    Stages marked ``always_changed`` are never up to date. Outside a DVC repo
    nothing is known, so every stage runs.
    """
    if not is_dvc_repo(root):
        return False
    with _repo(root) as repo:
        status = repo.status(targets=[stage])
    return not status


def commit_stage(stage: str, *, root: str | Path = ".") -> None:
    """Record ``stage``'s current deps/outs in ``dvc.lock`` and the DVC cache (no-op outside DVC)."""
    if not is_dvc_repo(root):
        return
    with _repo(root) as repo:
        repo.commit(stage, force=True)


def push(targets: list[str], *, root: str | Path = ".", remote: str | None = None) -> int:
    """Push the outputs of ``targets`` to the DVC remote; returns the number of files pushed.

    Raises:
        RuntimeError: no remote is configured or the push failed (message names the remote).
    """
    if not is_dvc_repo(root):
        return 0
    with _repo(root) as repo:
        try:
            return int(repo.push(targets=targets, remote=remote))
        except Exception as exc:
            raise RuntimeError(f"dvc push to remote {remote or '(default)'} failed: {exc}") from exc


def file_md5(path: str | Path) -> str:
    """md5 of a file's bytes, the way DVC 3 hashes a file output."""
    with Path(path).open("rb") as fh:
        return hashlib.file_digest(fh, "md5").hexdigest()


def data_version(raw_path: str | Path, *, root: str | Path = ".") -> dict[str, str]:
    """The data version of the raw dataset: DVC's md5 from ``dvc.lock`` if it matches the file.

    Returns:
        ``{"md5": ..., "source": "dvc.lock" | "file", "path": ...}``.
    """
    raw_path = Path(raw_path)
    if not raw_path.is_file():
        raise FileNotFoundError(f"raw data not found at {raw_path}; run the fetch stage first")
    md5 = file_md5(raw_path)
    lock = Path(root) / "dvc.lock"
    if lock.is_file():
        stages = (yaml.safe_load(lock.read_text()) or {}).get("stages", {})
        for stage in stages.values():
            for out in stage.get("outs", []):
                if Path(out.get("path", "")) == raw_path and out.get("md5") == md5:
                    return {"md5": md5, "source": "dvc.lock", "path": str(raw_path)}
    return {"md5": md5, "source": "file", "path": str(raw_path)}
