"""Drift of a window against the champion's test split: of ``u``, and of the features the head reads.

Tests, and why these (scipy's, so nothing hand-rolled and no new dependency;
evidently would add a large dependency tree for the same two-sample tests):

- ``u``: the two-sample Kolmogorov-Smirnov test (:func:`scipy.stats.ks_2samp`).
  ``u`` is one bounded score; KS needs no binning, is sensitive to a shift of
  location and of shape, and is exact for small samples. With ties (a step-shaped
  calibration map gives few distinct values) its p-value is conservative, so it
  errs towards not firing.
- features: a KS test per dimension with a Bonferroni correction (p = min(1, D ·
  min p_d)), optionally on the reference's top principal components. Rabanser
  et al., "Failing Loudly" (NeurIPS 2019), found this univariate-tests-plus-
  Bonferroni scheme on (reduced) representations as powerful as multivariate
  MMD for detecting dataset shift, at O(D · n log n) instead of MMD's O(n²)
  kernel matrix times hundreds of permutations for a p-value; it also names
  the dimension that moved. Bonferroni is valid under any dependence between
  dimensions, so the family-wise false-alarm rate stays at most ``alpha``.

A window with fewer than two rows gives a result that says so (no statistic,
never significant), not an exception.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy import stats

FloatArray = npt.NDArray[np.float64]
MIN_ROWS = 2


@dataclass(frozen=True)
class DriftResult:
    """One drift test of a window against the reference.

    Attributes:
        name: what was compared (``"u"`` or ``"features"``).
        method: the test (``"ks"``, ``"ks_bonferroni"``).
        statistic: the KS statistic (for features, the largest over dimensions); None if not run.
        p_value: the (corrected) p-value; None if not run.
        alpha: the level the test was read at.
        significant: ``p_value < alpha``.
        n_reference: reference rows.
        n_current: window rows.
        note: why the test did not run, or which dimension moved most.
    """

    name: str
    method: str
    statistic: float | None
    p_value: float | None
    alpha: float
    significant: bool
    n_reference: int
    n_current: int
    note: str = ""

    def to_dict(self) -> dict[str, Any]:
        """The fields as a plain dict (JSON-ready)."""
        return asdict(self)


def check_alpha(alpha: float, name: str = "alpha") -> float:
    """Refuse a level outside ``(0, 1)``.

    Raises:
        ValueError: names the value.
    """
    if isinstance(alpha, bool) or not isinstance(alpha, int | float) or not 0.0 < float(alpha) < 1.0:
        raise ValueError(f"{name} must lie in (0, 1), got {alpha!r}")
    return float(alpha)


def _finite(values: Any, name: str, ndim: int) -> FloatArray:
    arr = np.asarray(values, dtype=np.float64)
    if arr.ndim != ndim:
        raise ValueError(f"{name} must be {ndim}-D, got shape {arr.shape}")
    if not np.isfinite(arr).all():
        raise ValueError(f"{name} contains NaN or inf")
    return arr


def u_drift(reference_u: Any, current_u: Any, *, alpha: float = 0.05) -> DriftResult:
    """Two-sample KS test of the window's ``u`` against the reference's.

    Args:
        reference_u: ``(N,)`` ``u`` on the champion's test split.
        current_u: ``(M,)`` ``u`` of the window.
        alpha: significance level.

    Raises:
        ValueError: bad ``alpha``, non-finite values, wrong shapes, or fewer than
            two reference rows.

    >>> rng = np.random.default_rng(0)
    >>> u_drift(rng.beta(1, 4, 500), rng.beta(2, 2, 200)).significant
    True
    """
    alpha = check_alpha(alpha)
    ref = _finite(reference_u, "reference_u", 1)
    cur = _finite(current_u, "current_u", 1)
    if ref.size < MIN_ROWS:
        raise ValueError(f"reference_u needs at least {MIN_ROWS} rows, got {ref.size}")
    if cur.size < MIN_ROWS:
        return _not_run("u", "ks", alpha, ref.shape[0], cur.shape[0])
    result = stats.ks_2samp(ref, cur)
    p = float(result.pvalue)
    return DriftResult("u", "ks", float(result.statistic), p, alpha, p < alpha, ref.size, cur.size)


def feature_drift(
    reference: Any, current: Any, *, alpha: float = 0.05, n_components: int | None = None
) -> DriftResult:
    """Per-dimension KS tests of the window's features, Bonferroni-corrected.

    Args:
        reference: ``(N, D)`` features of the champion's test split.
        current: ``(M, D)`` features of the window.
        alpha: family-wise significance level.
        n_components: test the projections on the reference's top principal
            components instead of the ``D`` raw dimensions (fewer tests, so a
            milder correction); None tests every raw dimension.

    Raises:
        ValueError: bad ``alpha`` or ``n_components``, non-finite values, a
            dimension mismatch, or fewer than two reference rows.

    >>> rng = np.random.default_rng(0)
    >>> ref = rng.normal(size=(400, 8))
    >>> feature_drift(ref, rng.normal(size=(200, 8)) + [0, 0, 0, 1, 0, 0, 0, 0]).note
    'largest shift in dimension 3'
    """
    alpha = check_alpha(alpha)
    ref = _finite(reference, "reference", 2)
    cur = _finite(current, "current", 2) if np.size(current) else np.empty((0, ref.shape[1]))
    if cur.shape[1] != ref.shape[1]:
        raise ValueError(f"current has {cur.shape[1]} dimensions, reference has {ref.shape[1]}")
    if ref.shape[0] < MIN_ROWS:
        raise ValueError(f"reference needs at least {MIN_ROWS} rows, got {ref.shape[0]}")
    if n_components is not None and (isinstance(n_components, bool) or n_components < 1):
        raise ValueError(f"n_components must be a positive int or None, got {n_components!r}")
    if cur.shape[0] < MIN_ROWS:
        return _not_run("features", "ks_bonferroni", alpha, ref.shape[0], cur.shape[0])
    if n_components is not None:
        ref, cur = _project(ref, cur, n_components)
    result = stats.ks_2samp(ref, cur, axis=0)
    p_values = np.atleast_1d(np.asarray(result.pvalue, dtype=np.float64))
    statistics = np.atleast_1d(np.asarray(result.statistic, dtype=np.float64))
    worst = int(np.argmin(p_values))
    p = float(min(1.0, p_values.size * p_values[worst]))
    where = "principal component" if n_components is not None else "dimension"
    return DriftResult(
        "features",
        "ks_bonferroni",
        float(statistics.max()),
        p,
        alpha,
        p < alpha,
        ref.shape[0],
        cur.shape[0],
        note=f"largest shift in {where} {worst}",
    )


def _project(ref: FloatArray, cur: FloatArray, n_components: int) -> tuple[FloatArray, FloatArray]:
    """Both samples on the reference's top principal axes (centred on the reference mean)."""
    mean = ref.mean(axis=0)
    _, _, vt = np.linalg.svd(ref - mean, full_matrices=False)
    axes = vt[: min(n_components, vt.shape[0])].T
    return (ref - mean) @ axes, (cur - mean) @ axes


def _not_run(name: str, method: str, alpha: float, n_ref: int, n_cur: int) -> DriftResult:
    note = f"not tested: the window has {n_cur} row(s), the test needs at least {MIN_ROWS}"
    return DriftResult(name, method, None, None, alpha, False, n_ref, n_cur, note=note)
