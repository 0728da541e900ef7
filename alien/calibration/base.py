"""The interface every calibration map implements.

A calibrator is a monotone map ``g: [0, 1] -> [0, 1]`` fitted on held-out rows
(never test) so that ``g(u) ~= P(error | u)``. Monotone (non-decreasing) means
the ranking of the rows, and with it ROC-AUC, PRR and AURC, is kept up to ties;
a *strictly* increasing map keeps it exactly. Fitted parameters are plain JSON
(:meth:`Calibrator.to_dict`), so the map ships with the deployable model
without pickle. Inputs go through the checks the metrics use
(:mod:`alien.metrics.checks`).
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from typing import Any, ClassVar, Self

import numpy as np

from alien.metrics.checks import FloatArray, IntArray, as_indicators, as_unit_scores, check_both_classes


def check_finite_params(params: dict[str, Any], keys: tuple[str, ...], calibrator: str) -> None:
    """Raise when a saved parameter is missing or is not a finite number (or list of them)."""
    for key in keys:
        if key not in params:
            raise ValueError(f"{calibrator}: saved params lack {key!r}; expected keys {list(keys)}")
        values = params[key] if isinstance(params[key], list) else [params[key]]
        if not all(isinstance(v, int | float) and math.isfinite(v) for v in values):
            raise ValueError(f"{calibrator}: saved param {key!r} must be finite numbers, got {params[key]!r}")


class Calibrator(ABC):
    """Fit ``g`` on ``(u, errors)`` of held-out rows, then map ``u -> g(u) ~= P(error)``.

    Attributes:
        name: key in :data:`alien.calibration.CALIBRATORS`.
        strictly_monotone: whether ``g`` is strictly increasing (keeps every
            ranking, hence ROC-AUC exactly) rather than only non-decreasing.
    """

    name: ClassVar[str]
    strictly_monotone: ClassVar[bool]

    def __init__(self) -> None:
        self._fitted = False

    def fit(self, u: Any, errors: Any) -> Self:
        """Fit on held-out rows.

        Args:
            u: ``(N,)`` uncertainties in ``[0, 1]`` (higher = more likely wrong).
            errors: ``(N,)`` 0/1, 1 where the prediction was wrong; both values needed.

        Returns:
            ``self``, fitted.

        Raises:
            TypeError: non-numeric ``u``.
            ValueError: ``u`` not 1-D, empty, NaN/inf or outside ``[0, 1]``; ``errors``
                of another length, not 0/1, or of a single class (a map of
                ``P(error)`` cannot be fitted without both outcomes).
        """
        scores = as_unit_scores(u, "u")
        errors = as_indicators(errors, "errors", like=scores, like_name="u")
        check_both_classes(errors, needed_by="fitting a calibrator")
        self._fit(scores, errors)
        self._fitted = True
        return self

    def __call__(self, u: Any) -> FloatArray:
        """``(N,)`` float64 ``g(u)`` in ``[0, 1]``.

        Raises:
            RuntimeError: called before :meth:`fit` (or :meth:`from_dict`).
            TypeError, ValueError: bad ``u``, as in :meth:`fit`.
        """
        self._check_fitted()
        return np.clip(self._map(as_unit_scores(u, "u")), 0.0, 1.0)

    def to_dict(self) -> dict[str, Any]:
        """Plain-JSON view: ``{"name": ..., "params": {...}}`` of Python floats and lists."""
        self._check_fitted()
        return {"name": self.name, "params": self._params()}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Self:
        """Rebuild a fitted calibrator from :meth:`to_dict` output.

        Raises:
            ValueError: another calibrator's name, or missing / non-finite params.
        """
        if (
            not isinstance(data, dict)
            or data.get("name") != cls.name
            or not isinstance(data.get("params"), dict)
        ):
            raise ValueError(f"expected {{'name': {cls.name!r}, 'params': {{...}}}}, got {data!r}")
        calibrator = cls()
        calibrator._load(data["params"])
        calibrator._fitted = True
        return calibrator

    def _check_fitted(self) -> None:
        if not self._fitted:
            raise RuntimeError(f"calibrator {self.name!r} is not fitted; call fit(u, errors) first")

    @abstractmethod
    def _fit(self, u: FloatArray, errors: IntArray) -> None:
        """Learn parameters from validated inputs."""

    @abstractmethod
    def _map(self, u: FloatArray) -> FloatArray:
        """Apply the fitted map to validated scores."""

    @abstractmethod
    def _params(self) -> dict[str, Any]:
        """Fitted parameters as JSON-able Python values."""

    @abstractmethod
    def _load(self, params: dict[str, Any]) -> None:
        """Set fitted parameters from :meth:`_params` output (validate them)."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}(fitted={self._fitted})"
