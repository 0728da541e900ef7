"""The promotion rules as pure functions over per-row test scores (see docs/gates.md).

"Uncertainty improves" is decided on the same test rows, with paired bootstraps:

* :func:`vs_backbone`: ALIEN against what the backbone gives for free after post-hoc
  calibration (:mod:`alien.evaluation.free_baseline`) — ranking (error-detection ROC-AUC
  of ALIEN vs the best of entropy, ``1 - max p`` and temperature scaling's ``1 - max p``,
  chosen on the calibration split) and calibration (Brier of ALIEN's calibrated P(error)
  vs temperature scaling's, ``T`` fitted on the calibration split). Pass = a significant
  improvement on one and no significant loss on the other.
* :func:`calibration_ceiling`: ALIEN's calibrated ECE is at most a ceiling.
* :func:`vs_champion`: non-inferiority against the current champion scored on the
  same rows: the lower bound of ΔROC-AUC above ``-margin``, the upper bound of
  ΔBrier below ``+margin``, the lower bound of Δaccuracy above ``-margin``.

Each rule returns a :class:`~alien.evaluation.gates.GateResult` holding the
numbers it decided on.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace

import numpy as np

from alien.config.gates import GatesConfig
from alien.evaluation.free_baseline import ENTROPY, SOFTMAX_RESPONSE, FreeBaseline
from alien.evaluation.gates import ChampionMetrics, GateReport, GateResult
from alien.metrics.calibration import brier_score, expected_calibration_error
from alien.metrics.error_detection import roc_auc
from alien.metrics.paired import BootstrapResult, PairedMetric, paired_bootstrap


@dataclass(frozen=True)
class Scored:
    """One model's uncertainty on the test rows and whether each prediction was wrong.

    Attributes:
        uncertainty: ``(N,)`` calibrated probability of error in ``[0, 1]``.
        errors: ``(N,)`` 0/1, 1 where the prediction was wrong.
    """

    uncertainty: np.ndarray
    errors: np.ndarray


@dataclass(frozen=True)
class Bootstrap:
    """How the paired intervals are drawn."""

    samples: int
    confidence: float
    seed: int

    def run(self, metric: PairedMetric, a: Scored, b: Scored) -> BootstrapResult:
        """Interval of ``metric(a) - metric(b)`` on the same rows."""
        return paired_bootstrap(
            metric,
            a.uncertainty,
            a.errors,
            b.uncertainty,
            b.errors,
            n_samples=self.samples,
            confidence=self.confidence,
            seed=self.seed,
        )


def _ci(r: BootstrapResult) -> str:
    return f"Δ={r.delta:+.4f} [{r.low:+.4f}, {r.high:+.4f}]"


@dataclass(frozen=True)
class FreeScores:
    """What the backbone gives for free on the test rows: Rule 1's baselines (docs/gates.md).

    Attributes:
        baseline: which free score each arm compares with, chosen on the calibration split.
        test: each of :data:`~alien.evaluation.free_baseline.FREE_SCORES` → its ``(N,)`` scores
            of the test rows (temperature scaling with ``baseline.temperature``).
    """

    baseline: FreeBaseline
    test: Mapping[str, np.ndarray]

    def scored(self, name: str, errors: np.ndarray) -> Scored:
        return Scored(self.test[name], errors)


def _arms(alien: Scored, free: FreeScores, boot: Bootstrap) -> dict[str, BootstrapResult]:
    """Both deciding intervals and, for information, the ones the rule decided on before issue 18."""
    chosen, e = free.baseline, alien.errors
    return {
        "auroc": boot.run("roc_auc", alien, free.scored(chosen.ranking, e)),
        "brier": boot.run("brier", alien, free.scored(chosen.calibration, e)),
        "entropy_auroc": boot.run("roc_auc", alien, free.scored(ENTROPY, e)),
        "uncalibrated_brier": boot.run("brier", alien, free.scored(SOFTMAX_RESPONSE, e)),
    }


def vs_backbone(alien: Scored, free: FreeScores, boot: Bootstrap) -> GateResult:
    """ALIEN vs what the backbone gives for free after post-hoc calibration, on ranking and calibration.

    Ranking: ΔROC-AUC against the free score chosen on the calibration split; calibration: ΔBrier
    against temperature scaling (``T`` fitted on that split). The intervals against the entropy
    and the uncalibrated ``1 - max p`` are reported (``entropy_auroc_*``, ``uncalibrated_brier_*``)
    but decide nothing.

    Args:
        alien: ALIEN's calibrated P(error) and the model's errors.
        free: the free scores on the same rows and the baseline of each arm.
        boot: bootstrap settings.
    """
    chosen, runs = free.baseline, _arms(alien, free, boot)
    auc, brier = runs["auroc"], runs["brier"]
    ranking_better, ranking_worse = auc.low > 0, auc.high < 0
    calib_better, calib_worse = brier.high < 0, brier.low > 0
    passed = (ranking_better or calib_better) and not (ranking_worse or calib_worse)
    level = round(100 * boot.confidence)
    detail = (
        f"ROC-AUC vs {chosen.ranking} (best free score on {chosen.split}) {_ci(auc)}; "
        f"Brier vs {chosen.calibration} (T={chosen.temperature:.3f}, fitted on {chosen.split}) "
        f"{_ci(brier)} ({level}% paired CIs); need one significantly better and neither significantly "
        f"worse. Not deciding: ROC-AUC vs entropy {_ci(runs['entropy_auroc'])}, Brier vs uncalibrated "
        f"1−max p {_ci(runs['uncalibrated_brier'])}"
    )
    values: dict[str, float | None] = {}
    for key, r in runs.items():
        values.update({f"{key}_delta": r.delta, f"{key}_ci_low": r.low, f"{key}_ci_high": r.high})
    values["temperature"] = chosen.temperature
    values.update({f"split_auroc_{name}": v for name, v in chosen.split_auroc.items()})
    baselines = {"ranking": chosen.ranking, "calibration": chosen.calibration, "fitted_on": chosen.split}
    return GateResult("vs_backbone", "pass" if passed else "fail", detail, values, baselines)


def calibration_ceiling(alien: Scored, *, max_ece: float, n_bins: int) -> GateResult:
    """ALIEN's calibrated ECE (confidence ``1 - u`` against correctness) is at most ``max_ece``."""
    ece = expected_calibration_error(1.0 - alien.uncertainty, 1 - alien.errors, n_bins=n_bins)
    detail = f"calibrated ECE {ece:.4f} ({n_bins} bins), ceiling {max_ece:.4f}"
    values: dict[str, float | None] = {"ece": ece, "ceiling": max_ece}
    return GateResult("calibration", "pass" if ece <= max_ece else "fail", detail, values)


@dataclass(frozen=True)
class Margins:
    """Non-inferiority margins against the champion."""

    auroc: float
    brier: float
    accuracy: float


def vs_champion(
    challenger: Scored, champion: Scored | None, version: str | None, margins: Margins, boot: Bootstrap
) -> GateResult:
    """Paired non-inferiority of the challenger against the champion on the same test rows."""
    if champion is None:
        return GateResult("champion", "no champion", "first model: nothing to compare with")
    auc = boot.run("roc_auc", challenger, champion)
    brier = boot.run("brier", challenger, champion)
    acc = boot.run("accuracy", challenger, champion)
    ok = auc.low > -margins.auroc and brier.high < margins.brier and acc.low > -margins.accuracy
    detail = (
        f"vs champion v{version}: ROC-AUC {_ci(auc)} (need low > −{margins.auroc}); "
        f"Brier {_ci(brier)} (need high < +{margins.brier}); "
        f"accuracy {_ci(acc)} (need low > −{margins.accuracy})"
    )
    values: dict[str, float | None] = {
        "auroc_delta": auc.delta,
        "auroc_ci_low": auc.low,
        "brier_delta": brier.delta,
        "brier_ci_high": brier.high,
        "accuracy_delta": acc.delta,
        "accuracy_ci_low": acc.low,
    }
    return GateResult("champion", "pass" if ok else "fail", detail, values)


def summarise(version: str, scored: Scored, *, n_bins: int) -> ChampionMetrics:
    """The champion's headline numbers on the rows it was compared on (for the report)."""
    u, e = scored.uncertainty, scored.errors
    return ChampionMetrics(
        version=version,
        roc_auc=roc_auc(u, e),
        ece=expected_calibration_error(1.0 - u, 1 - e, n_bins=n_bins),
        brier=brier_score(1.0 - u, 1 - e),  # of u as P(error): the same squares
        accuracy=float(1.0 - e.mean()),
    )


def decide(
    alien: Scored,
    *,
    free: FreeScores,
    champion: tuple[str, Scored] | None,
    config: GatesConfig,
    n_bins: int,
    registry: dict[str, object] | None = None,
) -> GateReport:
    """Every rule, on the same test rows; the report passes only if none failed.

    Args:
        alien: the challenger's served (calibrated) uncertainty and errors.
        free: the backbone's free scores on those rows and the baseline of each arm of Rule 1.
        champion: ``(version, scored)`` of the current champion on the same rows, or ``None``.
        config: the ``gates`` section.
        n_bins: the ECE bins the evaluation used.
        registry: where the champion was looked up.
    """
    boot = Bootstrap(config.bootstrap_samples, config.confidence_level, config.seed)
    backbone = vs_backbone(alien, free, boot)
    if not config.require_backbone_improvement and backbone.status == "fail":
        waived = backbone.detail + " — not required (gates.require_backbone_improvement: false)"
        backbone = replace(backbone, status="pass", detail=waived)
    margins = Margins(
        config.champion_auroc_margin, config.champion_brier_margin, config.champion_accuracy_margin
    )
    versus = vs_champion(
        alien,
        None if champion is None else champion[1],
        None if champion is None else champion[0],
        margins,
        boot,
    )
    gates = (backbone, calibration_ceiling(alien, max_ece=config.max_ece, n_bins=n_bins), versus)
    summary = None if champion is None else summarise(champion[0], champion[1], n_bins=n_bins)
    return GateReport(gates, summary, None if registry is None else dict(registry))
