"""Platt scaling on ``logit(u)``: ``g(u) = sigmoid(a * logit(u) + b)`` with ``a >= 0``.

Two parameters, so it is steady on a few hundred held-out rows, and strictly
increasing whenever ``a > 0`` (ROC-AUC unchanged). Its shape is fixed: it
cannot bend where ``u``'s miscalibration is not logit-linear.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.special import expit, logit

from alien.calibration._logistic import clipped, fit_nonnegative_logistic
from alien.calibration.base import Calibrator, check_finite_params
from alien.metrics.checks import FloatArray, IntArray


class PlattCalibrator(Calibrator):
    """Logistic regression of the error on ``logit(u)``.

    Attributes:
        slope: ``a`` (>= 0; 0 only if the errors do not increase with ``u``).
        intercept: ``b``.

    >>> g = PlattCalibrator().fit([0.1, 0.2, 0.3, 0.7, 0.8, 0.9], [0, 0, 1, 0, 1, 1])
    >>> bool(g([0.2])[0] < g([0.8])[0])
    True
    """

    name = "platt"
    strictly_monotone = True

    def __init__(self) -> None:
        super().__init__()
        self.slope = 0.0
        self.intercept = 0.0

    def _fit(self, u: FloatArray, errors: IntArray) -> None:
        slopes, self.intercept = fit_nonnegative_logistic(logit(clipped(u))[:, None], errors)
        self.slope = float(slopes[0])

    def _map(self, u: FloatArray) -> FloatArray:
        return np.asarray(expit(self.slope * logit(clipped(u)) + self.intercept), dtype=np.float64)

    def _params(self) -> dict[str, Any]:
        return {"slope": self.slope, "intercept": self.intercept}

    def _load(self, params: dict[str, Any]) -> None:
        check_finite_params(params, ("slope", "intercept"), self.name)
        if params["slope"] < 0:
            raise ValueError(f"platt: slope must be >= 0 for a monotone map, got {params['slope']}")
        self.slope, self.intercept = float(params["slope"]), float(params["intercept"])
