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
from typing import Any, Literal, get_args

from alien.config.sections import GatesConfig

GateStatus = Literal["pass", "fail", "no champion"]
GATE_STATUSES: tuple[GateStatus, ...] = get_args(GateStatus)


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

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> GateResult:
        """One gate as :meth:`GateReport.to_dict` wrote it.

        Raises:
            ValueError: no string ``name``, or a ``status`` outside :data:`GATE_STATUSES`.
        """
        if not isinstance(data, Mapping) or not isinstance(data.get("name"), str):
            raise ValueError(f"a gate must be an object with a string 'name', got {data!r:.120}")
        status = data.get("status")
        if status not in GATE_STATUSES:
            raise ValueError(f"gate {data['name']!r} has status {status!r}; allowed: {list(GATE_STATUSES)}")
        values = data.get("values") or {}
        return cls(data["name"], status, str(data.get("detail", "")), dict(values))


@dataclass(frozen=True)
class ChampionMetrics:
    """The current champion's scores on the challenger's test split."""

    version: str
    roc_auc: float
    ece: float
    accuracy: float

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ChampionMetrics:
        """The champion as :meth:`GateReport.to_dict` wrote it.

        Raises:
            ValueError: a field is missing or not a number.
        """
        try:
            return cls(
                version=str(data["version"]),
                roc_auc=float(data["roc_auc"]),
                ece=float(data["ece"]),
                accuracy=float(data["accuracy"]),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(
                f"champion must have version, roc_auc, ece and accuracy, got {data!r:.160}"
            ) from exc


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

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, where: str = "gate report") -> GateReport:
        """Read back what :meth:`to_dict` wrote (the one parser of ``gate_report.json``).

        Args:
            data: the parsed JSON.
            where: names the source in error messages (e.g. the file).

        Raises:
            ValueError: a malformed gate or champion, or a ``passed`` that contradicts the gates
                (a report edited or written by something else is never trusted).
        """
        if not isinstance(data, Mapping):
            raise ValueError(f"{where} must be an object, got {type(data).__name__}")
        gates = data.get("gates")
        if not isinstance(gates, list):
            raise ValueError(f"{where} must have a list 'gates', got {type(gates).__name__}")
        try:
            results = tuple(GateResult.from_dict(g) for g in gates)
            champion = data.get("champion")
            if champion is not None and not isinstance(champion, Mapping):
                raise ValueError(f"'champion' must be null or an object, got {champion!r:.120}")
            report = cls(results, None if champion is None else ChampionMetrics.from_dict(champion))
        except ValueError as exc:
            raise ValueError(f"{where}: {exc}") from None
        if data.get("passed") is not report.passed:
            raise ValueError(
                f"{where} says passed={data.get('passed')!r} but its gates give {report.passed}; "
                "refusing an inconsistent report"
            )
        return report

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


def _status(ok: bool) -> GateStatus:
    return "pass" if ok else "fail"


def _auroc_gate(a_auc: float, e_auc: float, ci: Mapping[str, Any], config: GatesConfig) -> GateResult:
    delta, low, high = (_require(ci, k, "auroc_ci") for k in ("delta", "low", "high"))
    level = round(100 * config.confidence_level)
    return GateResult(
        "auroc_vs_entropy",
        _status(delta > config.min_auroc_gain and low > config.ci_lower_bound),
        f"ROC-AUC {a_auc:.4f} vs entropy {e_auc:.4f}: Δ={delta:+.4f} "
        f"({level}% CI [{low:+.4f}, {high:+.4f}]); need Δ > {config.min_auroc_gain:+.4f} "
        f"and CI low > {config.ci_lower_bound:+.4f}",
        {"alien": a_auc, "entropy": e_auc, "delta": delta, "ci_low": low, "ci_high": high},
    )


def _calibration_gate(a_ece: float, e_ece: float, config: GatesConfig) -> GateResult:
    return GateResult(
        "calibration",
        _status(a_ece <= config.max_ece and a_ece <= e_ece + config.ece_vs_entropy_tolerance),
        f"ECE {a_ece:.4f} (ceiling {config.max_ece:.4f}) vs entropy {e_ece:.4f}",
        {"alien": a_ece, "entropy": e_ece, "ceiling": config.max_ece},
    )


def _champion_gates(
    a_auc: float, a_ece: float, accuracy: float, champion: ChampionMetrics | None, config: GatesConfig
) -> list[GateResult]:
    if champion is None:
        return [
            GateResult("champion", "no champion", "first model: nothing to compare with"),
            GateResult("accuracy", "no champion", f"accuracy {accuracy:.4f}; no champion"),
        ]
    auc_ok = a_auc >= champion.roc_auc - config.champion_auroc_tolerance
    ece_ok = a_ece <= champion.ece + config.champion_ece_tolerance
    return [
        GateResult(
            "champion",
            _status(auc_ok and ece_ok),
            f"vs champion v{champion.version}: ROC-AUC {a_auc:.4f} vs {champion.roc_auc:.4f} "
            f"(tol {config.champion_auroc_tolerance}), ECE {a_ece:.4f} vs {champion.ece:.4f} "
            f"(tol {config.champion_ece_tolerance})",
            {
                "alien_roc_auc": a_auc,
                "champion_roc_auc": champion.roc_auc,
                "alien_ece": a_ece,
                "champion_ece": champion.ece,
            },
        ),
        GateResult(
            "accuracy",
            _status(accuracy >= champion.accuracy - config.max_accuracy_drop),
            f"accuracy {accuracy:.4f} vs champion {champion.accuracy:.4f} (max drop {config.max_accuracy_drop})",
            {"challenger": accuracy, "champion": champion.accuracy},
        ),
    ]


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
    gates = [_auroc_gate(a_auc, e_auc, auroc_ci, config), _calibration_gate(a_ece, e_ece, config)]
    gates += _champion_gates(a_auc, a_ece, accuracy, champion, config)
    return GateReport(tuple(gates), champion)
