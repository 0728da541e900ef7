"""The gate report: every rule's verdict, the champion compared with, the registry looked up.

The rules themselves are :mod:`alien.evaluation.rules`; this module is the
report they produce and its one JSON parser (:meth:`GateReport.from_dict`),
which register, the summary and the model card read.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any, Literal, get_args

GateStatus = Literal["pass", "fail", "no champion"]
GATE_STATUSES: tuple[GateStatus, ...] = get_args(GateStatus)


@dataclass(frozen=True)
class GateResult:
    """One gate's verdict and the numbers it used.

    ``baselines`` names what the gate compared with, where that is a choice (Rule 1: the
    ``ranking`` and ``calibration`` arms' baselines and the split they were ``fitted_on``).
    """

    name: str
    status: GateStatus
    detail: str
    values: dict[str, float | None] = field(default_factory=dict)
    baselines: dict[str, str] = field(default_factory=dict)

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
        values, baselines = data.get("values") or {}, data.get("baselines") or {}
        if not isinstance(baselines, Mapping) or not all(isinstance(v, str) for v in baselines.values()):
            raise ValueError(f"gate {data['name']!r} has baselines {baselines!r:.120}; expected names")
        return cls(data["name"], status, str(data.get("detail", "")), dict(values), dict(baselines))


@dataclass(frozen=True)
class ChampionMetrics:
    """The current champion's scores on the challenger's test split."""

    version: str
    roc_auc: float
    ece: float
    brier: float
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
                brier=float(data["brier"]),
                accuracy=float(data["accuracy"]),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(
                f"champion must have version, roc_auc, ece, brier and accuracy, got {data!r:.160}"
            ) from exc


@dataclass(frozen=True)
class GateReport:
    """All gates; ``passed`` only if none failed.

    ``registry`` says where the champion was looked up (``tracking_uri``,
    ``model_name``, ``champion``): the verdict holds for that registry in that
    state only, and the register stage refuses to act on it in another.
    """

    gates: tuple[GateResult, ...]
    champion: ChampionMetrics | None
    registry: dict[str, Any] | None = None

    @property
    def passed(self) -> bool:
        return all(g.passed for g in self.gates)

    def to_dict(self) -> dict[str, Any]:
        return {
            "passed": self.passed,
            "gates": [{**asdict(g), "passed": g.passed} for g in self.gates],
            "champion": None if self.champion is None else asdict(self.champion),
            "registry": self.registry,
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
            registry = data.get("registry")
            for key, value in (("champion", champion), ("registry", registry)):
                if value is not None and not isinstance(value, Mapping):
                    raise ValueError(f"{key!r} must be null or an object, got {value!r:.120}")
            report = cls(
                results,
                None if champion is None else ChampionMetrics.from_dict(champion),
                None if registry is None else dict(registry),
            )
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
            verdict = "PASSED — eligible for promotion"
        elif self.champion is None:
            verdict = "FAILED — do not promote (there is no champion yet)"
        else:
            verdict = f"FAILED — keep the current champion (v{self.champion.version})"
        lines = [f"**Gate verdict: {verdict}**", "", "| gate | status | detail |", "|---|---|---|"]
        lines += [f"| {g.name} | {g.status} | {g.detail} |" for g in self.gates]
        lines += [
            f"\n{g.name} baselines — " + ", ".join(f"{arm}: `{name}`" for arm, name in g.baselines.items())
            for g in self.gates
            if g.baselines
        ]
        if self.registry is not None:
            champion = self.registry.get("champion")
            lines += [
                "",
                f"Champion looked up in `{self.registry.get('tracking_uri')}`, model "
                f"`{self.registry.get('model_name')}`: {f'version {champion}' if champion else 'none'}"
                + (f"; its row scores {how}." if (how := self.registry.get("champion_scores")) else "."),
            ]
        return "\n".join(lines) + "\n"
