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

A stage that always runs (it looks at the outside world or reads the live registry) is not
committed again when ``dvc.lock`` already records the very output files it wrote: a DVC
commit costs seconds, and a no-op nightly run would pay it for fetch, gate and register.
Gate and register may also find that nothing they decide on changed and report ``unchanged``
in their result (:mod:`alien.tracking.decision`): the outcome is then ``skipped``.

A run of the whole table asks DVC once, up front (:class:`Plan`): while no stage has changed
its outputs, a stage DVC called up to date then is up to date still, and skips without opening
DVC again. From the first stage that does change them, each stage asks DVC itself.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from alien.pipeline.dvc_lock import locked_stages
from alien.pipeline.versioning import commit_stage, reusable, up_to_date_stages

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
    unchanged: bool = False  # skipped because the stage found its last decision still holds
    outputs_changed: bool = False  # it ran or was restored, and its outputs may differ from dvc.lock's

    def to_dict(self) -> dict[str, Any]:
        return {
            "stage": self.stage,
            "skipped": self.skipped,
            "seconds": self.seconds,
            "result": self.result,
            "restored": self.restored,
            "unchanged": self.unchanged,
            "outputs_changed": self.outputs_changed,
        }


@dataclass(frozen=True)
class Plan:
    """DVC's status of every stage at the start of a run, trusted until a stage changes its outputs.

    ``up_to_date``: the stages DVC called unchanged (one status call); ``trusted``: no stage
    has changed its outputs since. Untrusted (every stage asks DVC itself) for a params file
    DVC does not track.
    """

    up_to_date: frozenset[str] = frozenset()
    trusted: bool = False

    @classmethod
    def of(cls, *, root: str | Path, params_file: str | Path) -> Plan:
        if not tracked_by_dvc(params_file, root=root):
            return cls()
        return cls(up_to_date_stages(root), trusted=True)

    def skips(self, stage: str) -> bool:
        """Whether ``stage`` is known to be up to date without asking DVC again."""
        return self.trusted and stage in self.up_to_date

    def after(self, outcome: Mapping[str, Any]) -> Plan:
        """The plan for the stages after one with ``outcome`` (:meth:`StageOutcome.to_dict`)."""
        return Plan(self.up_to_date, trusted=False) if outcome["outputs_changed"] else self


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
    up_to_date: bool = False,
) -> StageOutcome:
    """Run ``run()`` unless DVC reports ``stage`` up to date or restores it from its run-cache;
    commit the stage afterwards.

    Args:
        stage: the stage's name in ``dvc.yaml``.
        run: runs the stage.
        root: the project root (the folder with ``dvc.yaml``).
        params_file: the params file this run uses.
        always: never ask DVC (stages that look at the outside world or read the live
            registry: DVC would say they changed); such a stage may still report ``unchanged``.
        up_to_date: the run's :class:`Plan` already knows DVC calls the stage unchanged.
    """
    start = time.perf_counter()
    recorded = tracked_by_dvc(params_file, root=root)
    if recorded and not always and up_to_date:
        return StageOutcome(stage, True, round(time.perf_counter() - start, 2), None)
    reuse = reusable(stage, root=root) if recorded and not always else None
    if reuse is not None:
        seconds = round(time.perf_counter() - start, 2)
        restored = reuse == "restored"
        return StageOutcome(stage, True, seconds, None, restored=restored, outputs_changed=restored)
    result = dict(run().to_dict())
    unchanged = bool(result.get("unchanged"))
    same_outputs = always and recorded and locked_outputs_match(stage, root=root)
    if recorded and not same_outputs:
        commit_stage(stage, root=root)
    seconds = round(time.perf_counter() - start, 2)
    return StageOutcome(
        stage, unchanged, seconds, result, unchanged=unchanged, outputs_changed=not same_outputs
    )


def locked_outputs_match(stage: str, *, root: str | Path) -> bool:
    """Whether ``dvc.lock`` records ``stage`` with exactly the output files there are now.

    Read from the file, without DVC (opening DVC's repository costs seconds): only
    single-file outputs are compared (a folder's hash is DVC's own), and any doubt — no
    lock, no entry, a folder, another hash — means no.
    """
    outs = (locked_stages(root).get(stage) or {}).get("outs") or []
    for out in outs:
        path = Path(root) / str(out.get("path", ""))
        if out.get("hash") != "md5" or not path.is_file() or str(out.get("md5", "")).endswith(".dir"):
            return False
        if hashlib.md5(path.read_bytes()).hexdigest() != out.get("md5"):
            return False
    return bool(outs)
