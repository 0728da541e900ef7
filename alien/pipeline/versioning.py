"""DVC bookkeeping shared by both runners.

``dvc repro`` tracks stages itself. The Prefect flow runs the same stage
functions in-process, so it asks DVC whether a stage is up to date before
running it and commits the stage afterwards: ``dvc.lock`` then describes what
was run, and a later ``dvc repro`` is a no-op. (The data version, read from
``dvc.lock``, is :func:`alien.stages.artifacts.data_version`.)

Every function takes the project root (the folder with ``dvc.yaml``) explicitly.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)


def is_dvc_repo(root: str | Path) -> bool:
    """Whether ``root`` holds a DVC project (a ``.dvc`` folder and ``dvc.yaml``)."""
    root = Path(root)
    return (root / ".dvc").is_dir() and (root / "dvc.yaml").is_file()


@contextlib.contextmanager
def _repo(root: str | Path) -> Iterator[Any]:
    """DVC's ``Repo`` at ``root``, entered from ``root``: DVC resolves stage names and paths
    against the working directory, whatever folder the Repo was opened on."""
    from dvc.repo import Repo

    with contextlib.chdir(root), Repo(".") as repo:
        yield repo


def up_to_date_stages(root: str | Path) -> frozenset[str]:
    """The stages DVC considers unchanged right now, from one status of the whole pipeline.

    One ``Repo`` and one parse of ``dvc.yaml`` and ``dvc.lock`` for every stage (each costs a
    second or more on a large lock file). Only valid while no stage has changed its outputs
    since: :class:`alien.pipeline.incremental.Plan` stops trusting it at the first that does.
    Empty outside a DVC repo.
    """
    if not is_dvc_repo(root):
        return frozenset()
    with _repo(root) as repo, repo.lock:
        return frozenset(stage.name for stage in repo.index.stages if not stage.status())


def reusable(stage: str, *, root: str | Path) -> str | None:
    """Whether ``stage`` need not run: ``"up to date"`` (as in ``dvc.lock``), ``"restored"`` or None.

    ``"restored"``: it has run with these deps and params before, and its outputs were checked
    out from DVC's run-cache — what ``dvc repro`` does before running a stage
    (``StageCache.restore``); the stage is then committed, so ``dvc.lock`` describes the
    restored state. None outside a DVC repo, or when neither holds (the stage must run).
    Stages marked ``always_changed`` are never reusable. One DVC ``Repo`` for both checks.
    """
    if not is_dvc_repo(root):
        return None
    from dvc.stage.cache import RunCacheNotFoundError

    with _repo(root) as repo:
        if not repo.status(targets=[stage]):
            return "up to date"
        (found,) = repo.stage.collect(stage)
        if found.always_changed:
            return None
        try:
            with repo.lock:
                repo.stage_cache.restore(found)
        except RunCacheNotFoundError:
            return None
        repo.commit(stage, force=True)
    return "restored"


def commit_stage(stage: str, *, root: str | Path) -> None:
    """Record ``stage``'s current deps/outs in ``dvc.lock`` and the DVC cache (no-op outside DVC)."""
    if not is_dvc_repo(root):
        return
    with _repo(root) as repo:
        repo.commit(stage, force=True)


def push(targets: list[str], *, root: str | Path, remote: str | None = None) -> int:
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
