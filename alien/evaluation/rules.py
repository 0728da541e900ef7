"""The promotion rules as pure functions over per-row test scores (see docs/gates.md).

"Uncertainty improves" is decided on the same test rows, with paired bootstraps:

* :func:`vs_backbone`: ALIEN against the backbone's own uncertainty — ranking
  (error-detection ROC-AUC of ALIEN vs the predictive entropy) and calibration
  (Brier of ALIEN's calibrated P(error) vs the backbone's own probability of
  error ``1 - max p``). Pass = a significant improvement on one and no
  significant loss on the other.
* :func:`calibration_ceiling`: ALIEN's calibrated ECE is at most a ceiling.
* :func:`vs_champion`: non-inferiority against the current champion scored on the
  same rows: the lower bound of ΔROC-AUC above ``-margin``, the upper bound of
  ΔBrier below ``+margin``, the lower bound of Δaccuracy above ``-margin``.

Each rule returns a :class:`~alien.evaluation.gates.GateResult` holding the
numbers it decided on.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from alien.config.sections import GatesConfig
from alien.evaluation.gates import ChampionMetrics, GateReport, GateResult
from alien.metrics.bootstrap import BootstrapResult
from alien.metrics.calibration import expected_calibration_error
from alien.metrics.paired import paired_bootstrap


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

    def run(self, metric: str, a: Scored, b: Scored) -> BootstrapResult:
        return paired_bootstrap(
            metric,  # type: ignore[arg-type]
            a.uncertainty, a.errors, b.uncertainty, b.errors,
            n_samples=self.samples, confidence=self.confidence, seed=self.seed,
        )  # fmt: skip


def _ci(r: BootstrapResult) -> str:
    return f"Δ={r.delta:+.4f} [{r.low:+.4f}, {r.high:+.4f}]"


def vs_backbone(
    alien: Scored, entropy: np.ndarray, backbone_p_error: np.ndarray, boot: Bootstrap
) -> GateResult:
    """ALIEN vs the backbone's own uncertainty, on ranking and on calibration.

    Args:
        alien: ALIEN's calibrated P(error) and the model's errors.
        entropy: ``(N,)`` the backbone's normalised predictive entropy on the same rows.
        backbone_p_error: ``(N,)`` the backbone's own probability of error, ``1 - max p``.
        boot: bootstrap settings.
    """
    auc = boot.run("roc_auc", alien, Scored(entropy, alien.errors))
    brier = boot.run("brier", alien, Scored(backbone_p_error, alien.errors))
    ranking_better, ranking_worse = auc.low > 0, auc.high < 0
    calib_better, calib_worse = brier.high < 0, brier.low > 0
    passed = (ranking_better or calib_better) and not (ranking_worse or calib_worse)
    level = round(100 * boot.confidence)
    detail = (
        f"ROC-AUC vs entropy {_ci(auc)}; Brier vs backbone 1−max p {_ci(brier)} ({level}% paired CIs); "
        "need one significantly better and neither significantly worse"
    )
    values: dict[str, float | None] = {
        "auroc_delta": auc.delta, "auroc_ci_low": auc.low, "auroc_ci_high": auc.high,
        "brier_delta": brier.delta, "brier_ci_low": brier.low, "brier_ci_high": brier.high,
    }  # fmt: skip
    return GateResult("vs_backbone", "pass" if passed else "fail", detail, values)


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
        "auroc_delta": auc.delta, "auroc_ci_low": auc.low, "brier_delta": brier.delta,
        "brier_ci_high": brier.high, "accuracy_delta": acc.delta, "accuracy_ci_low": acc.low,
    }  # fmt: skip
    return GateResult("champion", "pass" if ok else "fail", detail, values)


def summarise(version: str, scored: Scored, *, n_bins: int) -> ChampionMetrics:
    """The champion's headline numbers on the rows it was compared on (for the report)."""
    from alien.metrics.error_detection import roc_auc

    u, e = scored.uncertainty, scored.errors
    return ChampionMetrics(
        version=version,
        roc_auc=roc_auc(u, e),
        ece=expected_calibration_error(1.0 - u, 1 - e, n_bins=n_bins),
        brier=float(np.mean((u - e) ** 2)),
        accuracy=float(1.0 - e.mean()),
    )


def decide(
    alien: Scored,
    *,
    entropy: np.ndarray,
    backbone_p_error: np.ndarray,
    champion: tuple[str, Scored] | None,
    config: GatesConfig,
    n_bins: int,
    registry: dict[str, object] | None = None,
) -> GateReport:
    """Every rule, on the same test rows; the report passes only if none failed.

    Args:
        alien: the challenger's served (calibrated) uncertainty and errors.
        entropy: the backbone's normalised entropy on those rows.
        backbone_p_error: the backbone's own probability of error ``1 - max p``.
        champion: ``(version, scored)`` of the current champion on the same rows, or ``None``.
        config: the ``gates`` section.
        n_bins: the ECE bins the evaluation used.
        registry: where the champion was looked up.
    """
    boot = Bootstrap(config.bootstrap_samples, config.confidence_level, config.seed)
    backbone = vs_backbone(alien, entropy, backbone_p_error, boot)
    if not config.require_backbone_improvement and backbone.status == "fail":
        backbone = GateResult(
            backbone.name, "pass", backbone.detail + " — not required (gates.require_backbone_improvement: false)",
            backbone.values,
        )  # fmt: skip
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
