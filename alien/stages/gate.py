"""Stage ``gate``: decide whether the challenger may replace the champion.

Decides on the numbers ``evaluate`` measured: the metrics file and the per-row
test scores (:class:`~alien.stages.artifacts.TestScores`) — ALIEN's scores are
not recomputed. Bootstraps ALIEN − entropy ROC-AUC on the test rows (paired),
scores the current registry champion (if any) on the **same current test
split** with the **same** ``n_bins`` the challenger was scored with, and writes
``paths.gate_report`` (JSON) plus a markdown twin next to it. The registry is
only read here; :mod:`alien.stages.register` acts on the verdict.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from alien.config import DataConfig, GatesConfig, PathsConfig, RegistryConfig
from alien.core.model import AlienClassifier
from alien.data.io import read_json, read_labels, read_split, write_json, write_text
from alien.evaluation.gates import ChampionMetrics, GateReport, evaluate_gates
from alien.metrics.bootstrap import paired_bootstrap_auroc_difference
from alien.metrics.calibration import expected_calibration_error
from alien.metrics.error_detection import roc_auc
from alien.stages._cli import StageResult, stage_cli
from alien.stages.artifacts import TestScores
from alien.task import get_task

ALIEN, ENTROPY = "alien", "entropy"


@dataclass(frozen=True)
class GateStageResult(StageResult):
    """The verdict, every gate, and the champion it compared with."""

    passed: bool
    gates: list[dict[str, Any]]
    champion_version: str | None


def champion_metrics(
    version: str, champion: AlienClassifier, paths: PathsConfig, data: DataConfig, *, n_bins: int
) -> ChampionMetrics:
    """Score the champion on the challenger's current test split.

    Args:
        version: the champion's registry version.
        champion: the champion's classifier.
        paths: reads ``paths.prepared`` (test split and labels).
        data: the ``data`` section (``data.task``).
        n_bins: the ECE bins the challenger was scored with.

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
    # the head's own output, as evaluate scored the challenger (not the calibration map's)
    u = np.asarray(prediction.raw_uncertainty, dtype=np.float64).reshape(-1)
    predicted = np.asarray(prediction.labels).reshape(-1)
    gold_rows = task.gold_rows(gold, prediction.example_ids, prediction.word_ids)
    keep = gold_rows >= 0  # ignored words (-100) are not scored
    errors = (predicted[keep] != gold_rows[keep]).astype(np.int64)
    return ChampionMetrics(
        version=version,
        roc_auc=roc_auc(u[keep], errors),
        ece=expected_calibration_error(1.0 - u[keep], 1 - errors, n_bins=n_bins),
        accuracy=float(1.0 - errors.mean()),
    )


def build_report(
    gates: GatesConfig, metrics: dict[str, Any], scores: TestScores, champion: ChampionMetrics | None
) -> GateReport:
    """Evaluate every gate from the evaluation's metrics and per-row test scores.

    Raises:
        ValueError: the entropy baseline was not evaluated.
    """
    methods = metrics["methods"]
    if ENTROPY not in methods or ENTROPY not in scores.uncertainty:
        raise ValueError("the entropy baseline is missing from the evaluation; add it to evaluate.baselines")
    ci = paired_bootstrap_auroc_difference(
        scores.method(ALIEN),
        scores.method(ENTROPY),
        scores.errors,
        n_samples=gates.bootstrap_samples,
        confidence=gates.confidence_level,
        seed=gates.seed,
    )
    return evaluate_gates(
        alien=methods[ALIEN],
        entropy=methods[ENTROPY],
        auroc_ci={"delta": ci.delta, "low": ci.low, "high": ci.high},
        accuracy=float(metrics["task"]["accuracy"]),
        champion=champion,
        config=gates,
    )


def run(
    gates: GatesConfig, registry: RegistryConfig, data: DataConfig, paths: PathsConfig
) -> GateStageResult:
    """Write the gate report (JSON + markdown).

    Raises:
        FileNotFoundError: the metrics or the per-row scores are missing (run evaluate).
        ValueError: the champion is not comparable, or a metric is missing.
    """
    from alien.tracking.champion import load_champion

    metrics = read_json(paths.metrics, what="evaluation metrics")
    scores = TestScores.load(paths.scores)
    loaded = load_champion(registry)
    champion = None if loaded is None else champion_metrics(*loaded, paths, data, n_bins=scores.n_bins)
    report = build_report(gates, metrics, scores, champion)
    out = report.to_dict()
    write_json(paths.gate_report, out)
    write_text(Path(paths.gate_report).with_suffix(".md"), report.to_markdown())
    return GateStageResult(
        passed=report.passed,
        gates=out["gates"],
        champion_version=None if champion is None else champion.version,
    )


main = stage_cli(__name__)

if __name__ == "__main__":
    raise SystemExit(main())
