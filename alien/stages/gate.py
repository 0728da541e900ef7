"""Stage ``gate``: decide whether the challenger may replace the champion.

Reads the evaluation metrics, bootstraps ALIEN − entropy ROC-AUC on the test
rows (paired), evaluates the current registry champion (if any) on the **same
current test split**, and writes ``paths.gate_report`` (JSON) plus a markdown
twin next to it. The registry is only read here; :mod:`alien.stages.register`
acts on the verdict.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from alien.config import DataConfig, GatesConfig, PathsConfig, RegistryConfig
from alien.core.model import AlienClassifier
from alien.core.uncertainty import normalized_entropy
from alien.data.io import read_json, read_labels, read_split, write_json, write_text
from alien.evaluation.gates import ChampionMetrics, GateReport, evaluate_gates
from alien.metrics.bootstrap import paired_bootstrap_auroc_difference
from alien.metrics.calibration import expected_calibration_error
from alien.metrics.error_detection import roc_auc
from alien.stages.evaluate import ALIEN, alien_scores
from alien.stages.features import load_split_features, split_inputs


@dataclass(frozen=True)
class GateStageResult:
    passed: bool
    gates: list[dict[str, Any]]
    champion_version: str | None

    def to_dict(self) -> dict[str, Any]:
        return {"passed": self.passed, "gates": self.gates, "champion_version": self.champion_version}


def champion_metrics(
    version: str, champion: AlienClassifier, paths: PathsConfig, data: DataConfig, *, n_bins: int = 15
) -> ChampionMetrics:
    """Score the champion on the challenger's current test split.

    Raises:
        ValueError: the champion predicts a different label set than the current data has.
    """
    labels = read_labels(paths.prepared)
    if list(champion.label_names) != list(labels):
        raise ValueError(
            f"champion v{version} predicts labels {list(champion.label_names)} but the current "
            f"data has {labels}; the models are not comparable"
        )
    inputs, gold = split_inputs(read_split(paths.prepared, "test"), data.task)
    prediction = champion.predict(inputs)
    u = np.asarray(prediction.uncertainty, dtype=np.float64).reshape(-1)
    predicted = np.asarray(prediction.labels).reshape(-1)
    if data.task == "token-classification":
        gold_rows = _gold_of_rows(gold, prediction.example_ids, prediction.word_ids)
    else:
        gold_rows = np.asarray(gold, dtype=np.int64)
    keep = gold_rows >= 0  # ignored words (-100) are not scored
    errors = (predicted[keep] != gold_rows[keep]).astype(np.int64)
    return ChampionMetrics(
        version=version,
        roc_auc=roc_auc(u[keep], errors),
        ece=expected_calibration_error(1.0 - u[keep], 1 - errors, n_bins=n_bins),
        accuracy=float(1.0 - errors.mean()),
    )


def _gold_of_rows(gold: list[list[int]], example_ids: Any, word_ids: Any) -> np.ndarray:
    """The gold tag of each prediction row, found by (example, word).

    A token prediction has rows only for the words that survived truncation, so
    rows and the flattened gold tags do not line up position by position.
    """
    if example_ids is None or word_ids is None:
        raise ValueError("a token-classification prediction must carry example_ids and word_ids")
    return np.asarray(
        [gold[int(e)][int(w)] for e, w in zip(example_ids, word_ids, strict=True)], dtype=np.int64
    )


def build_report(gates: GatesConfig, paths: PathsConfig, champion: ChampionMetrics | None) -> GateReport:
    """Evaluate every gate from the written metrics and the cached test features."""
    metrics = read_json(paths.metrics, what="evaluation metrics")
    methods = metrics["methods"]
    if "entropy" not in methods:
        raise ValueError("the entropy baseline is missing from the metrics; add it to evaluate.baselines")
    test = load_split_features(paths, "test")
    u_alien = alien_scores(paths.deployable, test)
    u_entropy = normalized_entropy(test.logits).numpy()
    ci = paired_bootstrap_auroc_difference(
        u_alien,
        u_entropy,
        test.errors.numpy(),
        n_samples=gates.bootstrap_samples,
        confidence=gates.confidence_level,
        seed=gates.seed,
    )
    return evaluate_gates(
        alien=methods[ALIEN],
        entropy=methods["entropy"],
        auroc_ci={"delta": ci.delta, "low": ci.low, "high": ci.high},
        accuracy=float(metrics["task"]["accuracy"]),
        champion=champion,
        config=gates,
    )


def run(
    gates: GatesConfig, registry: RegistryConfig, data: DataConfig, paths: PathsConfig
) -> GateStageResult:
    """Write the gate report (JSON + markdown)."""
    from alien.tracking.champion import load_champion

    loaded = load_champion(registry)
    champion = None if loaded is None else champion_metrics(*loaded, paths, data)
    report = build_report(gates, paths, champion)
    out = report.to_dict()
    write_json(paths.gate_report, out)
    write_text(Path(paths.gate_report).with_suffix(".md"), report.to_markdown())
    return GateStageResult(
        passed=report.passed,
        gates=out["gates"],
        champion_version=None if champion is None else champion.version,
    )


def main() -> None:
    from alien.stages._cli import run_stage

    run_stage(lambda p: run(p.gates, p.registry, p.data, p.paths))


if __name__ == "__main__":
    main()
