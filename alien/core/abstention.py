"""The served abstention rule: refuse to answer when the calibrated uncertainty is too high.

The threshold is chosen on held-out rows with a finite-sample guarantee (see
:mod:`alien.selective`): among the inputs it accepts, the error rate is at most
``target_risk`` with probability at least ``1 - delta`` over the calibration draw.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np


@dataclass(frozen=True)
class AbstentionRule:
    """``abstain = uncertainty > threshold``, with the guarantee it was chosen for.

    Attributes:
        threshold: accept rows whose (calibrated) uncertainty is ``<= threshold``;
            ``-inf`` abstains on everything (no threshold met the guarantee).
        target_risk: the error rate among accepted rows that is controlled.
        delta: the probability that the guarantee fails, over the calibration draw.
        calibration_rows: rows the threshold was chosen on.
        calibration_coverage: share of those rows accepted.
        split: the split it was chosen on (never test).
    """

    threshold: float
    target_risk: float
    delta: float
    calibration_rows: int
    calibration_coverage: float
    split: str

    def __post_init__(self) -> None:
        if not 0 < self.target_risk < 1 or not 0 < self.delta < 1:
            raise ValueError(
                f"target_risk and delta must lie in (0, 1), got {self.target_risk} and {self.delta}"
            )
        if math.isnan(self.threshold):
            raise ValueError("threshold must not be NaN")

    def abstain(self, uncertainty: np.ndarray) -> np.ndarray:
        """``(N,)`` bool: where to refuse to answer."""
        return np.asarray(uncertainty, dtype=np.float64) > self.threshold

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON (``-inf`` as the string ``"-inf"``: strict JSON has no infinities)."""
        out = asdict(self)
        if math.isinf(self.threshold):
            out["threshold"] = "-inf" if self.threshold < 0 else "inf"
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> AbstentionRule:
        """Inverse of :meth:`to_dict`.

        Raises:
            ValueError: a key is missing or a value is out of range.
        """
        fields = ("threshold", "target_risk", "delta", "calibration_rows", "calibration_coverage", "split")
        missing = [k for k in fields if k not in data]
        if missing:
            raise ValueError(f"abstention rule is missing {missing}; got keys {sorted(data)}")
        return cls(
            threshold=float(data["threshold"]),
            target_risk=float(data["target_risk"]),
            delta=float(data["delta"]),
            calibration_rows=int(data["calibration_rows"]),
            calibration_coverage=float(data["calibration_coverage"]),
            split=str(data["split"]),
        )
