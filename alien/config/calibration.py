"""The ``calibration`` section: the monotone map g(u) ~ P(error) and the risk-controlled abstention."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic.dataclasses import dataclass

from alien.options.base import OPTIONS, OneOf, Probability, Str
from alien.options.names import AUTO_CALIBRATION, CALIBRATOR_NAMES, NO_CALIBRATION

CALIBRATION_METHODS = (*CALIBRATOR_NAMES, NO_CALIBRATION, AUTO_CALIBRATION)


@dataclass(frozen=True, config=OPTIONS)
class CalibrationConfig:
    """How ``u`` is calibrated; both the map and the threshold are fitted on ``split``.

    Attributes:
        method: a calibrator of :data:`alien.calibration.CALIBRATORS`, ``"none"``, or ``"auto"``
            (chosen per model by 5-fold cross-validated Brier on ``split``, among the
            calibrators and none: :func:`alien.core.calibrate.choose_calibration_method`).
        split: held-out rows the head was not trained on (never test).
        target_risk: abstain so that the error rate among accepted inputs is at most this, in (0, 1)…
        delta: …with probability at least ``1 - delta``, in (0, 1) (a finite-sample bound).
    """

    method: Annotated[Str, OneOf(CALIBRATION_METHODS)] = "centred_isotonic"
    split: Literal["validation", "alignment"] = "validation"
    target_risk: Probability = 0.05
    delta: Probability = 0.1
