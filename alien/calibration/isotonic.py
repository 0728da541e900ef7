"""Isotonic regression (scikit-learn) of the error on ``u``: the best non-decreasing step map.

No shape assumption, but the fit is piecewise constant: every row inside a
pooled block gets the same ``g(u)``, so rows the raw ``u`` told apart become
ties and ROC-AUC drops. Saved as the thresholds scikit-learn interpolates
between (``X_thresholds_``, ``y_thresholds_``) and applied with the same
linear interpolation, clipped outside the fitted range.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.isotonic import IsotonicRegression

from alien.calibration.base import Calibrator, check_finite_params
from alien.metrics.checks import FloatArray, IntArray


def check_knots(x: list[float], y: list[float], calibrator: str) -> None:
    """Raise unless ``x`` strictly and ``y`` weakly increase, with equal, non-zero lengths."""
    if len(x) != len(y) or not x:
        raise ValueError(
            f"{calibrator}: x and y must be non-empty and of equal length, got {len(x)}, {len(y)}"
        )
    if np.any(np.diff(x) <= 0) or np.any(np.diff(y) < 0):
        raise ValueError(f"{calibrator}: x must strictly increase and y must not decrease")


class IsotonicCalibrator(Calibrator):
    """Pool-adjacent-violators fit of ``P(error | u)``.

    Attributes:
        x: knot positions (increasing ``u``).
        y: ``g`` at the knots (non-decreasing, in ``[0, 1]``).

    >>> g = IsotonicCalibrator().fit([0.1, 0.2, 0.3, 0.7], [0, 1, 0, 1])
    >>> g([0.1, 0.25, 0.7]).tolist()
    [0.0, 0.5, 1.0]
    """

    name = "isotonic"
    strictly_monotone = False

    def __init__(self) -> None:
        super().__init__()
        self.x: list[float] = []
        self.y: list[float] = []

    def _fit(self, u: FloatArray, errors: IntArray) -> None:
        iso = IsotonicRegression(y_min=0.0, y_max=1.0, increasing=True, out_of_bounds="clip").fit(u, errors)
        self.x = [float(v) for v in iso.X_thresholds_]
        self.y = [float(v) for v in iso.y_thresholds_]

    def _map(self, u: FloatArray) -> FloatArray:
        return np.interp(u, self.x, self.y)

    def _params(self) -> dict[str, Any]:
        return {"x": list(self.x), "y": list(self.y)}

    def _load(self, params: dict[str, Any]) -> None:
        check_finite_params(params, ("x", "y"), self.name)
        check_knots(params["x"], params["y"], self.name)
        self.x, self.y = [float(v) for v in params["x"]], [float(v) for v in params["y"]]
