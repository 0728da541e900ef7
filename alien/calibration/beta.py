"""Beta calibration (Kull, Silva Filho & Flach, 2017) of ``u`` as a probability of error.

``g(u) = sigmoid(a * ln u - b * ln(1 - u) + c)`` with ``a, b >= 0``. It contains
Platt on ``logit(u)`` (``a = b``) and the identity (``a = b = 1, c = 0``), can
bend differently near 0 and near 1, and is strictly increasing whenever
``a + b > 0``, so the ranking (ROC-AUC) is kept exactly. Fitted as an
unregularised logistic regression on ``[ln u, -ln(1 - u)]``, as in the
authors' ``betacal`` package (not a dependency: three parameters and
scikit-learn are all it needs).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.special import expit

from alien.calibration._logistic import clipped, fit_nonnegative_logistic
from alien.calibration.base import Calibrator, check_finite_params
from alien.metrics.checks import FloatArray, IntArray


def _features(u: FloatArray) -> FloatArray:
    c = clipped(u)
    return np.stack([np.log(c), -np.log1p(-c)], axis=1)


class BetaCalibrator(Calibrator):
    """Three-parameter beta calibration map.

    Attributes:
        a: weight of ``ln u`` (>= 0).
        b: weight of ``-ln(1 - u)`` (>= 0).
        c: intercept.

    >>> g = BetaCalibrator().fit([0.1, 0.2, 0.3, 0.7, 0.8, 0.9], [0, 0, 1, 0, 1, 1])
    >>> bool(g([0.2])[0] < g([0.8])[0])
    True
    """

    name = "beta"
    strictly_monotone = True

    def __init__(self) -> None:
        super().__init__()
        self.a = self.b = self.c = 0.0

    def _fit(self, u: FloatArray, errors: IntArray) -> None:
        slopes, self.c = fit_nonnegative_logistic(_features(u), errors)
        self.a, self.b = float(slopes[0]), float(slopes[1])

    def _map(self, u: FloatArray) -> FloatArray:
        return np.asarray(expit(_features(u) @ np.array([self.a, self.b]) + self.c), dtype=np.float64)

    def _params(self) -> dict[str, Any]:
        return {"a": self.a, "b": self.b, "c": self.c}

    def _load(self, params: dict[str, Any]) -> None:
        check_finite_params(params, ("a", "b", "c"), self.name)
        if params["a"] < 0 or params["b"] < 0:
            raise ValueError(
                f"beta: a and b must be >= 0 for a monotone map, got a={params['a']}, b={params['b']}"
            )
        self.a, self.b, self.c = float(params["a"]), float(params["b"]), float(params["c"])
