"""Run a stage only when DVC says its inputs changed, then record it in ``dvc.lock``.

Like ``dvc repro``, a stage whose deps and params DVC has seen before (a reverted
parameter) is restored from DVC's run-cache instead of run again.

Used by the Prefect flow so that a nightly run with unchanged data and params
does no work, and so that ``dvc repro`` after a flow run (or the other way
round) is a no-op: both runners share one ``dvc.lock``.

DVC's record is only evidence when it describes this run: ``dvc.lock`` holds
the values of ``<root>/params.yaml``, so a run from another params file never
skips a stage and never commits one (``dvc.lock`` would then claim outputs
that params.yaml did not produce).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from alien.pipeline.versioning import commit_stage, reusable

DVC_PARAMS_FILE = "params.yaml"


class _Result(Protocol):
    def to_dict(self) -> Mapping[str, Any]: ...


@dataclass(frozen=True)
class StageOutcome:
    """What happened to one stage in one pipeline execution."""

    stage: str
    skipped: bool
    seconds: float
    result: dict[str, Any] | None
    restored: bool = False  # skipped because DVC's run-cache held its outputs (checked out)

    def to_dict(self) -> dict[str, Any]:
        return {
            "stage": self.stage,
            "skipped": self.skipped,
            "seconds": self.seconds,
            "result": self.result,
            "restored": self.restored,
        }


def tracked_by_dvc(params_file: str | Path, *, root: str | Path) -> bool:
    """Whether ``params_file`` is the params file DVC tracks for the project at ``root``."""
    return Path(params_file).resolve() == (Path(root) / DVC_PARAMS_FILE).resolve()


def run_incremental(
    stage: str,
    run: Callable[[], _Result],
    *,
    root: str | Path,
    params_file: str | Path,
    always: bool = False,
) -> StageOutcome:
    """Run ``run()`` unless DVC reports ``stage`` up to date or restores it from its run-cache;
    commit the stage afterwards.

    Args:
        stage: the stage's name in ``dvc.yaml``.
        run: runs the stage.
        root: the project root (the folder with ``dvc.yaml``).
        params_file: the params file this run uses.
        always: never skip (stages that read the live registry).
    """
    start = time.perf_counter()
    recorded = tracked_by_dvc(params_file, root=root)
    reuse = reusable(stage, root=root) if recorded and not always else None
    if reuse is not None:
        seconds = round(time.perf_counter() - start, 2)
        return StageOutcome(stage, True, seconds, None, restored=reuse == "restored")
    result = dict(run().to_dict())
    if recorded:
        commit_stage(stage, root=root)
    return StageOutcome(stage, False, round(time.perf_counter() - start, 2), result)
