"""Centred isotonic regression (Oron & Flournoy, 2017): isotonic blocks joined by straight lines.

Plain isotonic regression gives every row of a pooled block the same value.
Here each block is one knot, at the block's mean ``u`` with the block's error
rate, and ``g`` interpolates linearly between knots. Block values of the
pool-adjacent-violators fit strictly increase, so ``g`` is strictly
increasing between the first and the last knot (ranking kept there); below the
first and above the last knot it is flat (clipped), so rows in the two outer
half-blocks still tie.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.isotonic import IsotonicRegression

from alien.calibration.base import Calibrator, check_finite_params
from alien.calibration.isotonic import check_knots
from alien.metrics.checks import FloatArray, IntArray


class CentredIsotonicCalibrator(Calibrator):
    """Isotonic fit, one knot per pooled block at its centre, linear in between.

    Attributes:
        x: knot positions (block mean ``u``, strictly increasing).
        y: block error rates (strictly increasing, in ``[0, 1]``).

    >>> g = CentredIsotonicCalibrator().fit([0.1, 0.2, 0.3, 0.7], [0, 1, 0, 1])
    >>> [round(v, 6) for v in g([0.1, 0.25, 0.475, 0.7]).tolist()]
    [0.0, 0.5, 0.75, 1.0]
    """

    name = "centred_isotonic"
    strictly_monotone = False

    def __init__(self) -> None:
        super().__init__()
        self.x: list[float] = []
        self.y: list[float] = []

    def _fit(self, u: FloatArray, errors: IntArray) -> None:
        fitted = IsotonicRegression(y_min=0.0, y_max=1.0, increasing=True).fit_transform(u, errors)
        # Each distinct fitted value is one pooled block (values strictly increase block to block).
        values, block = np.unique(fitted, return_inverse=True)
        centres = np.bincount(block, weights=u) / np.bincount(block)
        self.x = [float(v) for v in centres]
        self.y = [float(v) for v in values]

    def _map(self, u: FloatArray) -> FloatArray:
        return np.interp(u, self.x, self.y)

    def _params(self) -> dict[str, Any]:
        return {"x": list(self.x), "y": list(self.y)}

    def _load(self, params: dict[str, Any]) -> None:
        check_finite_params(params, ("x", "y"), self.name)
        check_knots(params["x"], params["y"], self.name)
        self.x, self.y = [float(v) for v in params["x"]], [float(v) for v in params["y"]]
