"""The interface every calibration map implements, and the checks its inputs go through.

A calibrator is a monotone map ``g: [0, 1] -> [0, 1]`` fitted on held-out rows
(never test) so that ``g(u) ~= P(error | u)``. Monotone (non-decreasing) means
the ranking of the rows, and with it ROC-AUC, PRR and AURC, is kept up to ties;
a *strictly* increasing map keeps it exactly. Fitted parameters are plain JSON
(:meth:`Calibrator.to_dict`), so the map ships with the deployable model
without pickle.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from typing import Any, ClassVar, Self

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


def check_scores(u: Any, name: str = "u") -> FloatArray:
    """``(N,)`` float64 copy of uncertainties in ``[0, 1]``.

    Raises:
        TypeError: not numeric.
        ValueError: not 1-D, empty, NaN/inf, or outside ``[0, 1]``.
    """
    try:
        arr = np.asarray(u, dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise TypeError(f"{name} must be a numeric array, got {type(u).__name__}") from err
    if arr.ndim != 1 or arr.size == 0:
        raise ValueError(f"{name} must be a non-empty 1-D array, got shape {arr.shape}")
    if not np.isfinite(arr).all():
        raise ValueError(f"{name} contains NaN or inf")
    if arr.min() < 0.0 or arr.max() > 1.0:
        raise ValueError(f"{name} must lie in [0, 1], got range [{arr.min()}, {arr.max()}]")
    return arr.copy()


def check_errors(errors: Any, n: int) -> IntArray:
    """``(N,)`` int64 0/1 error indicators holding both values.

    Raises:
        ValueError: wrong length, values other than 0/1, or a single class
            (a map of ``P(error)`` cannot be fitted without both outcomes).
    """
    arr = np.asarray(errors)
    if arr.ndim != 1 or arr.shape[0] != n:
        raise ValueError(f"errors must be 1-D with {n} rows like u, got shape {arr.shape}")
    values = np.unique(arr)
    if not np.isin(values, (0, 1)).all():
        raise ValueError(f"errors must be 0/1, got values {values[:5].tolist()}")
    if values.size < 2:
        raise ValueError(f"errors must hold both 0 and 1 to fit a calibrator, got only {int(values[0])}")
    return arr.astype(np.int64)


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
            ValueError: see :func:`check_scores` and :func:`check_errors`.
        """
        scores = check_scores(u)
        self._fit(scores, check_errors(errors, scores.size))
        self._fitted = True
        return self

    def __call__(self, u: Any) -> FloatArray:
        """``(N,)`` float64 ``g(u)`` in ``[0, 1]``.

        Raises:
            RuntimeError: called before :meth:`fit` (or :meth:`from_dict`).
            ValueError: bad ``u`` (see :func:`check_scores`).
        """
        self._check_fitted()
        return np.clip(self._map(check_scores(u)), 0.0, 1.0)

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
