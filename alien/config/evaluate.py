"""The ``evaluate`` section: the baselines ALIEN is compared with, and the calibration bins."""

from __future__ import annotations

from typing import Annotated, Self

from annotated_types import Ge
from pydantic import model_validator
from pydantic.dataclasses import dataclass

from alien.options.base import OPTIONS, Int, OneOf, Str
from alien.options.names import BASELINE_NAMES

# Rule 1 compares with what the backbone gives for free after post-hoc calibration (docs/gates.md)
REQUIRED_BASELINES = ("entropy", "softmax_response", "temperature_scaling")


@dataclass(frozen=True, config=OPTIONS)
class EvaluateConfig:
    """What evaluate scores.

    Attributes:
        n_bins: bins of the reliability diagram and the ECE, >= 2.
        baselines: names of :data:`alien.baselines.BASELINES`; must include
            ``entropy``, ``softmax_response`` and ``temperature_scaling``.
    """

    n_bins: Annotated[Int, Ge(2)] = 15
    baselines: tuple[Annotated[Str, OneOf(BASELINE_NAMES)], ...] = BASELINE_NAMES

    @model_validator(mode="after")
    def _keeps_the_backbones_own_uncertainty(self) -> Self:
        for needed in REQUIRED_BASELINES:
            if needed not in self.baselines:
                raise ValueError(
                    f"baselines must include {needed!r} (the gates compare with the backbone's own uncertainty)"
                )
        return self
