"""Rule 1's baselines: the uncertainty the backbone gives for free after post-hoc calibration.

docs/gates.md, Rule 1. The free scores are the backbone's normalised predictive entropy, its
softmax response ``1 − max p`` and temperature scaling's ``1 − max p``, with ``T`` fitted on
the calibration split (``calibration.split``: the rows ALIEN's calibration map is fitted on).

* The ranking arm compares ALIEN with the free score whose error-detection ROC-AUC is best
  **on the calibration split**: chosen there, never on test (ties go to the first of
  :data:`FREE_SCORES`; in binary tasks all three rank alike).
* The calibration arm compares with temperature scaling.

The evaluate stage makes the choice (:func:`choose_free_baseline`) and stores it beside the
per-row test scores; the gate reads both.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from alien.metrics.error_detection import roc_auc

ENTROPY, SOFTMAX_RESPONSE, TEMPERATURE_SCALING = "entropy", "softmax_response", "temperature_scaling"
FREE_SCORES = (ENTROPY, SOFTMAX_RESPONSE, TEMPERATURE_SCALING)
CALIBRATED_FREE_SCORE = TEMPERATURE_SCALING  # the calibration arm's baseline


@dataclass(frozen=True)
class FreeBaseline:
    """Which free score each arm of Rule 1 compares with, and where that was decided.

    Attributes:
        split: the calibration split ``T`` was fitted on and the ranking baseline chosen on.
        temperature: the fitted ``T`` (> 0).
        split_auroc: each of :data:`FREE_SCORES` → its error-detection ROC-AUC on ``split``.
    """

    split: str
    temperature: float
    split_auroc: dict[str, float]

    def __post_init__(self) -> None:
        if self.split == "test":
            raise ValueError("Rule 1's baselines are chosen on the calibration split, never on test")
        if not (math.isfinite(self.temperature) and self.temperature > 0):
            raise ValueError(f"temperature must be finite and > 0, got {self.temperature!r}")
        if set(self.split_auroc) != set(FREE_SCORES):
            raise ValueError(f"split_auroc must name {list(FREE_SCORES)}, got {sorted(self.split_auroc)}")
        if not all(math.isfinite(v) for v in self.split_auroc.values()):
            raise ValueError(f"split_auroc must be finite, got {self.split_auroc}")

    @property
    def ranking(self) -> str:
        """The ranking arm's baseline: the best ``split_auroc`` (the first of :data:`FREE_SCORES` on ties)."""
        return max(FREE_SCORES, key=lambda name: self.split_auroc[name])

    @property
    def calibration(self) -> str:
        """The calibration arm's baseline: temperature scaling."""
        return CALIBRATED_FREE_SCORE

    def to_dict(self) -> dict[str, Any]:
        return {
            "split": self.split,
            "temperature": self.temperature,
            "split_auroc": dict(self.split_auroc),
            "ranking": self.ranking,
            "calibration": self.calibration,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> FreeBaseline:
        """Read back what :meth:`to_dict` wrote (``ranking`` and ``calibration`` are derived).

        Raises:
            ValueError: a field is missing or malformed, or the stored choice contradicts the numbers.
        """
        try:
            auroc = {str(k): float(v) for k, v in data["split_auroc"].items()}
            found = cls(str(data["split"]), float(data["temperature"]), auroc)
        except (KeyError, TypeError, AttributeError) as exc:
            raise ValueError(
                f"free baseline must have split, temperature and split_auroc, got {data!r:.160}"
            ) from exc
        if data.get("ranking", found.ranking) != found.ranking:
            raise ValueError(
                f"free baseline says ranking={data['ranking']!r} but its split_auroc gives {found.ranking!r}"
            )
        return found


def choose_free_baseline(
    split: str, temperature: float, on_split: Mapping[str, np.ndarray], errors: np.ndarray
) -> FreeBaseline:
    """Score every free score on the calibration split and keep the best ranking one.

    Args:
        split: the calibration split's name (never ``"test"``).
        temperature: ``T`` of temperature scaling, fitted on that split.
        on_split: each of :data:`FREE_SCORES` → its ``(N,)`` scores of the split's rows.
        errors: ``(N,)`` 0/1, the classifier's errors on those rows.

    Raises:
        ValueError: a free score is missing, or the split's errors are all 0 or all 1.
    """
    missing = [name for name in FREE_SCORES if name not in on_split]
    if missing:
        raise ValueError(f"free scores {missing} were not scored on the calibration split {split!r}")
    try:
        auroc = {name: roc_auc(on_split[name], errors) for name in FREE_SCORES}
    except ValueError as exc:
        raise ValueError(f"cannot choose Rule 1's ranking baseline on {split!r}: {exc}") from exc
    return FreeBaseline(split, float(temperature), auroc)
