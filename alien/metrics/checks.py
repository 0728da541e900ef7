"""Input checks of score and indicator arrays: the one copy metrics, calibrators and the selective rules share.

Public functions call these first and then trust their arrays; every failure is a
``ValueError`` (or ``TypeError``) that names the argument and the problem.
"""

from __future__ import annotations

import sys
from typing import Any

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


def to_numpy(x: Any, name: str) -> np.ndarray:
    """Convert a numpy array, torch tensor or sequence to a numpy array.

    torch is not imported for this: a tensor exists only once its caller has imported torch,
    and the gate and the monitor score numpy arrays without loading it (seconds).
    """
    torch = sys.modules.get("torch")
    if torch is not None and isinstance(x, torch.Tensor):
        return x.detach().cpu().numpy()
    if isinstance(x, str | bytes):
        raise TypeError(f"{name} must be an array or tensor, got {type(x).__name__}")
    try:
        return np.asarray(x)
    except (TypeError, ValueError) as err:
        raise TypeError(f"{name} must be an array or tensor, got {type(x).__name__}") from err


def as_float_1d(x: Any, name: str) -> FloatArray:
    """``(N,)`` finite float64 array with ``N >= 1``."""
    arr = to_numpy(x, name)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be 1-D (N,), got shape {arr.shape}")
    if arr.size == 0:
        raise ValueError(f"{name} must be non-empty, got an empty array")
    if not (np.issubdtype(arr.dtype, np.number) or arr.dtype == np.bool_):
        raise TypeError(f"{name} must be a numeric array, got dtype {arr.dtype}")
    out = arr.astype(np.float64)
    if np.isnan(out).any():
        raise ValueError(f"{name} contains NaN")
    if np.isinf(out).any():
        raise ValueError(f"{name} contains inf")
    return out


def as_float_2d(x: Any, name: str) -> FloatArray:
    """``(N, C)`` finite float64 array with ``N >= 1`` and ``C >= 2``."""
    arr = to_numpy(x, name)
    if arr.ndim != 2:
        raise ValueError(f"{name} must be 2-D (N, C), got shape {arr.shape}")
    if arr.shape[0] == 0:
        raise ValueError(f"{name} must be non-empty, got an empty array")
    if arr.shape[1] < 2:
        raise ValueError(f"{name} needs at least 2 classes (columns), got shape {arr.shape}")
    if not np.issubdtype(arr.dtype, np.number):
        raise TypeError(f"{name} must be a numeric array, got dtype {arr.dtype}")
    out = arr.astype(np.float64)
    if not np.isfinite(out).all():
        raise ValueError(f"{name} contains NaN or inf")
    return out


def as_binary(x: Any, name: str) -> IntArray:
    """``(N,)`` int64 array of 0/1 values (bools and 0.0/1.0 floats accepted)."""
    arr = as_float_1d(x, name)
    if not np.isin(arr, (0.0, 1.0)).all():
        bad = np.unique(arr[~np.isin(arr, (0.0, 1.0))])[:5]
        raise ValueError(f"{name} must be 0/1 (only 0 and 1), found {bad.tolist()}")
    return arr.astype(np.int64)


def as_labels(x: Any, name: str) -> IntArray:
    """``(N,)`` int64 class labels (non-negative integers)."""
    arr = as_float_1d(x, name)
    if (arr != np.round(arr)).any() or (arr < 0).any():
        raise ValueError(f"{name} must contain non-negative integer class ids")
    return arr.astype(np.int64)


def check_same_length(**arrays: np.ndarray) -> None:
    """Raise if the arrays disagree on their first dimension."""
    lengths = {name: int(a.shape[0]) for name, a in arrays.items()}
    if len(set(lengths.values())) > 1:
        raise ValueError(f"inputs disagree on the number of rows: {lengths}")


def check_both_classes(errors: IntArray, *, needed_by: str, name: str = "errors") -> None:
    """Raise when the 0/1 indicators hold a single class (``needed_by`` is then undefined)."""
    n_err = int(errors.sum())
    if 0 < n_err < errors.size:
        return
    case = (
        f"no errors (all {errors.size} rows correct)"
        if n_err == 0
        else f"every prediction is an error ({n_err} rows)"
    )
    raise ValueError(f"{needed_by} needs both errors and correct rows in {name}, got {case}")


def check_unit_interval(x: FloatArray, name: str) -> None:
    """Raise when values fall outside ``[0, 1]``."""
    if (x < 0.0).any() or (x > 1.0).any():
        raise ValueError(f"{name} must lie in [0, 1], got range [{x.min():.6g}, {x.max():.6g}]")


def as_unit_scores(x: Any, name: str) -> FloatArray:
    """``(N,)`` finite float64 copy of scores in ``[0, 1]`` (uncertainties, probabilities, thresholds)."""
    out = as_float_1d(x, name)
    check_unit_interval(out, name)
    return out


def as_indicators(x: Any, name: str, *, like: np.ndarray, like_name: str) -> IntArray:
    """``(N,)`` 0/1 indicators with as many rows as ``like`` (a single class allowed)."""
    out = as_binary(x, name)
    check_same_length(**{like_name: like, name: out})
    return out


def check_n_bins(n_bins: int) -> None:
    """Raise unless ``n_bins`` is a positive integer."""
    if isinstance(n_bins, bool) or not isinstance(n_bins, int | np.integer) or n_bins < 1:
        raise ValueError(f"n_bins must be a positive integer, got {n_bins!r}")
