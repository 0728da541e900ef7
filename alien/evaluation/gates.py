"""Evaluation gates: should this challenger become the champion?

Pure functions over metric dictionaries. Each gate reports pass/fail with the
numbers it decided on; the report passes only if every gate passes (a champion
gate with no champion to compare with counts as passed and says so).

Gates (thresholds from :class:`~alien.config.GatesConfig`):

* ``auroc_vs_entropy``: ALIEN's error-detection ROC-AUC beats the backbone's
  own normalised entropy by more than ``min_auroc_gain`` and the paired
  bootstrap confidence interval of the difference lies above ``ci_lower_bound`` (0).
* ``calibration``: ALIEN's ECE is at most ``max_ece`` and not worse than the
  entropy baseline's (plus ``ece_vs_entropy_tolerance``, 0 by default).
* ``champion``: on the same current test split, ALIEN's ROC-AUC is at most
  ``champion_auroc_tolerance`` below the champion's, and its ECE at most
  ``champion_ece_tolerance`` above.
* ``accuracy``: task accuracy drops by at most ``max_accuracy_drop`` vs the champion.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from alien.config.sections import GatesConfig

GateStatus = Literal["pass", "fail", "no champion"]


@dataclass(frozen=True)
class GateResult:
    """One gate's verdict and the numbers it used."""

    name: str
    status: GateStatus
    detail: str
    values: dict[str, float | None] = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        return self.status != "fail"


@dataclass(frozen=True)
class ChampionMetrics:
    """The current champion's scores on the challenger's test split."""

    version: str
    roc_auc: float
    ece: float
    accuracy: float


@dataclass(frozen=True)
class GateReport:
    """All gates; ``passed`` only if none failed."""

    gates: tuple[GateResult, ...]
    champion: ChampionMetrics | None

    @property
    def passed(self) -> bool:
        return all(g.passed for g in self.gates)

    def to_dict(self) -> dict[str, Any]:
        return {
            "passed": self.passed,
            "gates": [{**asdict(g), "passed": g.passed} for g in self.gates],
            "champion": None if self.champion is None else asdict(self.champion),
        }

    def to_markdown(self) -> str:
        if self.passed:
            verdict = "PASSED — promote"
        elif self.champion is None:
            verdict = "FAILED — do not promote (there is no champion yet)"
        else:
            verdict = f"FAILED — keep the current champion (v{self.champion.version})"
        lines = [f"**Gate verdict: {verdict}**", "", "| gate | status | detail |", "|---|---|---|"]
        lines += [f"| {g.name} | {g.status} | {g.detail} |" for g in self.gates]
        return "\n".join(lines) + "\n"


def _require(metrics: Mapping[str, Any], key: str, where: str) -> float:
    if key not in metrics or metrics[key] is None:
        raise ValueError(f"{where} is missing metric {key!r}; present: {sorted(metrics)}")
    return float(metrics[key])


def evaluate_gates(
    *,
    alien: Mapping[str, Any],
    entropy: Mapping[str, Any],
    auroc_ci: Mapping[str, Any],
    accuracy: float,
    champion: ChampionMetrics | None,
    config: GatesConfig,
) -> GateReport:
    """Decide every gate.

    Args:
        alien: ALIEN's test metrics (needs ``roc_auc`` and ``ece``).
        entropy: the entropy baseline's test metrics (same keys).
        auroc_ci: paired bootstrap of ALIEN − entropy ROC-AUC (``delta``, ``low``, ``high``).
        accuracy: the challenger's test accuracy.
        champion: the champion's metrics on the same test split, or ``None``.
        config: thresholds.

    Returns:
        The report.

    Raises:
        ValueError: a required metric is missing.
    """
    a_auc, a_ece = _require(alien, "roc_auc", "alien"), _require(alien, "ece", "alien")
    e_auc, e_ece = _require(entropy, "roc_auc", "entropy"), _require(entropy, "ece", "entropy")
    delta, low, high = (_require(auroc_ci, k, "auroc_ci") for k in ("delta", "low", "high"))
    level = round(100 * config.confidence_level)

    gain_ok = delta > config.min_auroc_gain and low > config.ci_lower_bound
    gates = [
        GateResult(
            "auroc_vs_entropy",
            "pass" if gain_ok else "fail",
            f"ROC-AUC {a_auc:.4f} vs entropy {e_auc:.4f}: Δ={delta:+.4f} "
            f"({level}% CI [{low:+.4f}, {high:+.4f}]); need Δ > {config.min_auroc_gain:+.4f} "
            f"and CI low > {config.ci_lower_bound:+.4f}",
            {"alien": a_auc, "entropy": e_auc, "delta": delta, "ci_low": low, "ci_high": high},
        )
    ]
    ece_ok = a_ece <= config.max_ece and a_ece <= e_ece + config.ece_vs_entropy_tolerance
    gates.append(
        GateResult(
            "calibration",
            "pass" if ece_ok else "fail",
            f"ECE {a_ece:.4f} (ceiling {config.max_ece:.4f}) vs entropy {e_ece:.4f}",
            {"alien": a_ece, "entropy": e_ece, "ceiling": config.max_ece},
        )
    )
    if champion is None:
        gates.append(GateResult("champion", "no champion", "first model: nothing to compare with"))
        gates.append(GateResult("accuracy", "no champion", f"accuracy {accuracy:.4f}; no champion"))
    else:
        auc_ok = a_auc >= champion.roc_auc - config.champion_auroc_tolerance
        ece_vs_ok = a_ece <= champion.ece + config.champion_ece_tolerance
        gates.append(
            GateResult(
                "champion",
                "pass" if auc_ok and ece_vs_ok else "fail",
                f"vs champion v{champion.version}: ROC-AUC {a_auc:.4f} vs {champion.roc_auc:.4f} "
                f"(tol {config.champion_auroc_tolerance}), ECE {a_ece:.4f} vs {champion.ece:.4f} "
                f"(tol {config.champion_ece_tolerance})",
                {
                    "alien_roc_auc": a_auc,
                    "champion_roc_auc": champion.roc_auc,
                    "alien_ece": a_ece,
                    "champion_ece": champion.ece,
                },
            )
        )
        acc_ok = accuracy >= champion.accuracy - config.max_accuracy_drop
        gates.append(
            GateResult(
                "accuracy",
                "pass" if acc_ok else "fail",
                f"accuracy {accuracy:.4f} vs champion {champion.accuracy:.4f} "
                f"(max drop {config.max_accuracy_drop})",
                {"challenger": accuracy, "champion": champion.accuracy},
            )
        )
    return GateReport(tuple(gates), champion)
