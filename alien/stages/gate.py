"""Stage ``gate``: decide whether the challenger may replace the champion.

Decides on the numbers ``evaluate`` measured: the per-row
test scores (:class:`~alien.stages.artifacts.TestScores`) — ALIEN's scores are
not recomputed. Decides the rules of docs/gates.md (:mod:`alien.evaluation.rules`):
paired bootstraps on the test rows against what the backbone gives for free after
post-hoc calibration (the baselines evaluate chose on the calibration split, and the
free scores' test rows it wrote) and against the current registry champion (if any),
scored on the **same current test split** with its served (calibrated) uncertainty and the **same**
``n_bins`` the challenger was scored with, and writes
``paths.gate_report``. The report names the registry (resolved tracking URI,
model, champion version) it was decided against. The registry is only read
here; :mod:`alien.stages.register` acts on the verdict.

The gate reads the live registry, which DVC does not track, so the stage table
marks it ``live``: it runs every time in both runners and is never restored
from DVC's run-cache. Its one output is the JSON report; the markdown view is
rendered from it wherever it is shown (:meth:`GateReport.to_markdown`), so no
second file can disagree with it.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from alien.config.data import DataConfig
from alien.config.gates import GatesConfig
from alien.config.paths import PathsConfig
from alien.config.registry import RegistryConfig
from alien.core.model import AlienClassifier
from alien.data.io import read_labels, read_split, write_json
from alien.evaluation.free_baseline import FREE_SCORES
from alien.evaluation.gates import GateReport
from alien.evaluation.rules import FreeScores, Scored, decide
from alien.pipeline.cli import StageResult, stage_cli
from alien.pipeline.dvc_env import dvc_root
from alien.stages.artifacts import TestScores
from alien.task import get_task

ALIEN = "alien"


@dataclass(frozen=True)
class GateStageResult(StageResult):
    """The verdict, every gate, and the champion it compared with."""

    passed: bool
    gates: list[dict[str, Any]]
    champion_version: str | None


def champion_scored(version: str, champion: AlienClassifier, paths: PathsConfig, data: DataConfig) -> Scored:
    """The champion's served uncertainty and errors on the challenger's current test split.

    Raises:
        ValueError: the champion predicts a different label set than the current data has.
    """
    labels = read_labels(paths.prepared)
    if list(champion.label_names) != list(labels):
        raise ValueError(
            f"champion v{version} predicts labels {list(champion.label_names)} but the current "
            f"data has {labels}; the models are not comparable"
        )
    task = get_task(data.task)
    inputs, gold = task.split_inputs(read_split(paths.prepared, "test"))
    prediction = champion.predict(inputs)
    # what the champion serves (its calibrated P(error)), as the challenger's "alien" row is
    u = np.asarray(prediction.uncertainty, dtype=np.float64).reshape(-1)
    predicted = np.asarray(prediction.labels).reshape(-1)
    gold_rows = task.gold_rows(gold, prediction.example_ids, prediction.word_ids)
    keep = gold_rows >= 0  # ignored words (-100) are not scored
    return Scored(u[keep], (predicted[keep] != gold_rows[keep]).astype(np.int64))


def build_report(
    gates: GatesConfig,
    scores: TestScores,
    champion: tuple[str, Scored] | None,
    *,
    registry: dict[str, Any] | None = None,
) -> GateReport:
    """Decide every rule (:mod:`alien.evaluation.rules`) on the per-row test scores.

    Raises:
        ValueError: a free score (entropy, softmax response, temperature scaling) was not
            evaluated, the scores predate Rule 1's baselines, or the champion was scored on
            different rows.
    """
    for needed in FREE_SCORES:
        if needed not in scores.uncertainty:
            raise ValueError(
                f"the {needed} baseline is missing from the evaluation; add it to evaluate.baselines"
            )
    if scores.free_baseline is None:
        raise ValueError(
            "the per-row test scores name no Rule 1 baselines (written by an older evaluate); "
            "run the evaluate stage again"
        )
    if champion is not None and champion[1].errors.shape != scores.errors.shape:
        raise ValueError(
            f"champion v{champion[0]} was scored on {champion[1].errors.shape[0]} rows but the "
            f"challenger on {scores.errors.shape[0]}; the test rows must be the same"
        )
    return decide(
        Scored(scores.method(ALIEN), scores.errors),
        free=FreeScores(scores.free_baseline, {name: scores.method(name) for name in FREE_SCORES}),
        champion=champion,
        config=gates,
        n_bins=scores.n_bins,
        registry=registry,
    )


def run(
    gates: GatesConfig,
    registry: RegistryConfig,
    data: DataConfig,
    paths: PathsConfig,
    *,
    registry_root: Path | None = None,
) -> GateStageResult:
    """Write the gate report, decided against the live registry's champion.

    ``registry_root``: what a relative registry URI is relative to (default: the working
    directory; the command line passes DVC's repository root, which under
    ``dvc exp run --temp`` is the user's project, not the executor's folder).

    Raises:
        FileNotFoundError: the per-row scores are missing (run evaluate).
        ValueError: the champion is not comparable, or a metric is missing.
        RegistryUnavailableError: the registry cannot be reached.
    """
    from alien.tracking import resolve_tracking_uri
    from alien.tracking.champion import load_champion

    if registry_root is not None:
        uri = resolve_tracking_uri(registry.tracking_uri, root=registry_root)
        registry = dataclasses.replace(registry, tracking_uri=uri)
    scores = TestScores.load(paths.scores)
    loaded = load_champion(registry)
    champion = None if loaded is None else (loaded[0], champion_scored(*loaded, paths, data))
    looked_up = {
        "tracking_uri": resolve_tracking_uri(registry.tracking_uri),
        "model_name": registry.model_name,
        "champion": None if champion is None else champion[0],
    }
    report = build_report(gates, scores, champion, registry=looked_up)
    out = report.to_dict()
    write_json(paths.gate_report, out)
    # Earlier versions wrote a markdown twin that DVC did not track; a stale one would contradict this report.
    Path(paths.gate_report).with_suffix(".md").unlink(missing_ok=True)
    return GateStageResult(
        passed=report.passed,
        gates=out["gates"],
        champion_version=None if champion is None else champion[0],
    )


def cli_keywords() -> dict[str, Any]:
    """What DVC tells this stage's command line: the repository root (``$DVC_ROOT``)."""
    return {"registry_root": dvc_root()}


main = stage_cli(__name__)

if __name__ == "__main__":
    raise SystemExit(main())
