"""Run a stage only when DVC says its inputs changed, then record it in ``dvc.lock``.

Used by the Prefect flow so that a nightly run with unchanged data and params
does no work, and so that ``dvc repro`` after a flow run (or the other way
round) is a no-op: both runners share one ``dvc.lock``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from alien.stages.versioning import commit_stage, stage_up_to_date


class StageResult(Protocol):
    def to_dict(self) -> Mapping[str, Any]: ...


@dataclass(frozen=True)
class StageOutcome:
    """What happened to one stage in one pipeline execution."""

    stage: str
    skipped: bool
    seconds: float
    result: dict[str, Any] | None

    def to_dict(self) -> dict[str, Any]:
        return {"stage": self.stage, "skipped": self.skipped, "seconds": self.seconds, "result": self.result}


def run_incremental(stage: str, run: Callable[[], StageResult], *, root: str | Path = ".") -> StageOutcome:
    """Run ``run()`` unless DVC reports ``stage`` up to date; commit the stage afterwards."""
    start = time.perf_counter()
    if stage_up_to_date(stage, root=root):
        return StageOutcome(stage, True, round(time.perf_counter() - start, 2), None)
    result = dict(run().to_dict())
    commit_stage(stage, root=root)
    return StageOutcome(stage, False, round(time.perf_counter() - start, 2), result)
