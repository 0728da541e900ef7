"""Stage ``evaluate``: ALIEN against every baseline on the test split.

All methods score the same cached test features. ``alien`` is the served
uncertainty (the calibration map applied to the head's output, a probability
of error); ``alien_raw`` is the head's own output, reported beside it.
Temperature scaling is fitted on ``calibration.split``, the rows ALIEN's map was
fitted on, and the free score Rule 1's ranking arm compares with (the best of
entropy, ``1 - max p`` and temperature scaling) is chosen there too, never on
test (:func:`free_baseline`; docs/gates.md). The
``selective`` table gives each method's test coverage and realised risk at
target error rates, with thresholds chosen on validation by Learn-then-Test. Writes ``paths.metrics``
(``{"methods": {name: metrics}, "task": {...}, "rows": {...}}``, a DVC metrics
file), the per-row test scores of every method (``paths.scores``, a
:class:`~alien.stages.artifacts.TestScores`, which the gate decides on) and ``paths.plots`` (reliability diagram and risk–coverage curve as JSON
for ``dvc plots`` plus PNGs for reviewers).

Token classification: every row is a word, so the uncertainty metrics and the
task's ``accuracy``/``macro_f1`` are per word. With a BIO tag set the task
metrics add entity-level ``entity_precision``/``entity_recall``/``entity_f1``
(seqeval) over the words that survived truncation at ``backbone.max_length``:
the cached features hold no row for the words cut off, and their gold tags are
left out too (the score is that of the text the model saw; entities the cut
removed are neither found nor missed).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from alien.baselines import TemperatureScaling, make_baseline
from alien.config.calibration import CalibrationConfig
from alien.config.evaluate import EvaluateConfig
from alien.config.paths import PathsConfig
from alien.core.entities import is_bio_scheme
from alien.core.feature_set import FeatureSet
from alien.core.layers import head_inputs
from alien.core.model import AlienClassifier
from alien.data.io import atomic_directory, write_json
from alien.evaluation.free_baseline import (
    FREE_SCORES,
    TEMPERATURE_SCALING,
    FreeBaseline,
    choose_free_baseline,
)
from alien.evaluation.plots import plot_reliability_diagrams, plot_risk_coverage
from alien.evaluation.selective_table import coverage_at_risk
from alien.metrics.collection import task_metrics, uncertainty_metrics
from alien.metrics.curves import reliability_diagram, risk_coverage_curve
from alien.metrics.entity import entity_scores, tag_sequences
from alien.pipeline.cli import StageResult, stage_cli
from alien.stages.artifacts import TestScores, deployable_label_names, load_split_features

ALIEN, ALIEN_RAW = "alien", "alien_raw"
TARGET_RISKS = (0.05, 0.1)  # always tabulated, beside calibration.target_risk


@dataclass(frozen=True)
class EvaluateResult(StageResult):
    """Every method's test metrics and the task's quality."""

    methods: dict[str, dict[str, float]]
    task: dict[str, float]
    selective: dict[str, dict[str, dict[str, Any]]]
    test_rows: int
    test_errors: int
    seconds: float


def alien_scores(deployable: str | Path, fs: FeatureSet) -> np.ndarray:
    """The ALIEN head's raw uncertainty of cached features (before the calibration map)."""
    return served_and_raw(deployable, fs)[0][1]


def served_and_raw(deployable: str | Path, *splits: FeatureSet) -> list[tuple[np.ndarray, np.ndarray]]:
    """``(served, raw)`` ALIEN uncertainty of each feature set, from the saved deployable model.

    ``served`` is the calibration map applied to ``raw`` (the head's output); they are
    equal when the model has no map.
    """
    clf = AlienClassifier.load(deployable)
    head = clf.head.eval()
    out = []
    for fs in splits:
        with torch.inference_mode():
            raw = head(head_inputs(head, fs)).double().numpy()
        served = raw if clf.calibrator is None else np.asarray(clf.calibrator(raw), dtype=np.float64)
        out.append((served, raw))
    return out


def entity_metrics(test: FeatureSet, label_names: list[str]) -> dict[str, float]:
    """Entity-level scores of a token test split (empty for sequence tasks or non-BIO tags)."""
    if test.example_ids is None or not is_bio_scheme(label_names):
        return {}
    gold = tag_sequences(test.labels, test.example_ids, label_names)
    predicted = tag_sequences(test.predictions, test.example_ids, label_names)
    return entity_scores(gold, predicted)


Scored = tuple[dict[str, np.ndarray], dict[str, np.ndarray], dict[str, bool]]


def score_all(
    config: EvaluateConfig, paths: PathsConfig, test: FeatureSet, validation: FeatureSet, held_out: FeatureSet
) -> Scored:
    """Every method's uncertainty on test and on validation, and whether each is a probability of error.

    Temperature scaling is fitted on ``held_out`` (the calibration split, where ALIEN's map was
    fitted); the other baselines on ``validation``.
    """
    train = load_split_features(paths, "train")
    (t_served, t_raw), (v_served, v_raw) = served_and_raw(paths.deployable, test, validation)
    on_test = {ALIEN: t_served, ALIEN_RAW: t_raw}
    on_val = {ALIEN: v_served, ALIEN_RAW: v_raw}
    is_probability = {ALIEN: True, ALIEN_RAW: True}
    for name in config.baselines:
        baseline = make_baseline(name).fit(train, held_out if name == TEMPERATURE_SCALING else validation)
        on_test[name] = np.asarray(baseline.score(test), dtype=np.float64)
        on_val[name] = np.asarray(baseline.score(validation), dtype=np.float64)
        is_probability[name] = baseline.is_probability
    return on_test, on_val, is_probability


def free_baseline(held_out: FeatureSet, split: str) -> FreeBaseline:
    """Rule 1's baselines, fitted and chosen on the calibration split's rows alone (no test row)."""
    # entropy and 1 - max p fit nothing; temperature scaling fits T on its second argument
    scaling = TemperatureScaling().fit(held_out, held_out)
    fitted = {n: make_baseline(n).fit(held_out, held_out) for n in FREE_SCORES if n != TEMPERATURE_SCALING}
    fitted[TEMPERATURE_SCALING] = scaling
    on_split = {name: baseline.score(held_out) for name, baseline in fitted.items()}
    return choose_free_baseline(split, scaling.temperature, on_split, held_out.errors.numpy())


def run(evaluate: EvaluateConfig, calibration: CalibrationConfig, paths: PathsConfig) -> EvaluateResult:
    """Score ALIEN and the baselines on test; write metrics, per-row scores and plots.

    Raises:
        ValueError: the test or calibration split has no errors or only errors (ROC-AUC undefined).
    """
    start = time.perf_counter()
    test = load_split_features(paths, "test")
    validation = load_split_features(paths, "validation")
    split = calibration.split
    held_out = validation if split == "validation" else load_split_features(paths, split)
    errors = test.errors.numpy()
    scores, on_validation, is_probability = score_all(evaluate, paths, test, validation, held_out)
    methods = {
        name: uncertainty_metrics(u, errors, n_bins=evaluate.n_bins, is_probability=is_probability[name])
        for name, u in scores.items()
    }
    task = task_metrics(test.logits.numpy(), test.labels.numpy(), from_logits=True)
    task.update(entity_metrics(test, deployable_label_names(paths.deployable)))
    TestScores(
        uncertainty=scores,
        is_probability=is_probability,
        errors=errors.astype(np.int64),
        predictions=test.predictions.numpy(),
        labels=test.labels.numpy(),
        n_bins=evaluate.n_bins,
        free_baseline=free_baseline(held_out, split),
    ).save(paths.scores)

    _write_plots(scores, is_probability, errors, n_bins=evaluate.n_bins, plots=paths.plots)
    selective = coverage_at_risk(
        on_validation, validation.errors.numpy(), scores, errors, is_probability=is_probability,
        target_risks=sorted({*TARGET_RISKS, calibration.target_risk}), delta=calibration.delta,
    )  # fmt: skip
    rows = {"test": len(test), "test_errors": int(errors.sum()), "validation": len(validation)}
    write_json(paths.metrics, {"methods": methods, "task": task, "selective": selective, "rows": rows})
    return EvaluateResult(
        methods=methods,
        task=task,
        selective=selective,
        test_rows=len(test),
        test_errors=int(errors.sum()),
        seconds=round(time.perf_counter() - start, 2),
    )


def _write_plots(
    scores: dict[str, np.ndarray],
    is_probability: dict[str, bool],
    errors: np.ndarray,
    *,
    n_bins: int,
    plots: str,
) -> None:
    """Reliability diagrams (methods whose score is a probability) and risk–coverage curves: JSON + PNG."""
    reliability = {
        name: reliability_diagram(1.0 - u, 1 - errors, n_bins=n_bins)
        for name, u in scores.items()
        if is_probability[name]
    }
    risk_coverage = {name: risk_coverage_curve(u, errors, max_points=200) for name, u in scores.items()}
    with atomic_directory(plots) as tmp:
        write_json(tmp / "reliability.json", _rows(reliability, ("confidence", "accuracy", "count")))
        write_json(tmp / "risk_coverage.json", _rows(risk_coverage, ("coverage", "risk")))
        plot_reliability_diagrams(reliability, tmp / "reliability.png")
        plot_risk_coverage(risk_coverage, tmp / "risk_coverage.png")


def _rows(curves: dict[str, dict[str, Any]], keys: tuple[str, ...]) -> list[dict[str, Any]]:
    """Long format (one row per point, with its method) that ``dvc plots`` reads."""
    rows = []
    for method, curve in curves.items():
        for values in zip(*(curve[k] for k in keys), strict=True):
            rows.append({"method": method, **dict(zip(keys, values, strict=True))})
    return rows


main = stage_cli(__name__)

if __name__ == "__main__":
    raise SystemExit(main())
