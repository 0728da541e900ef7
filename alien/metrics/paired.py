"""The paired bootstrap: a percentile interval of a difference in one metric between two scorers on the same rows.

Both sides are scored on the same resampled row indices, so the interval keeps
the correlation between them (both see the same hard examples). Each side has
its own error indicators: the same ones when comparing two uncertainty scores
of one model (ALIEN vs its backbone's entropy), different ones when comparing
two models on the same test rows (challenger vs champion). Every metric is
"higher is better" or "lower is better" as its name says; the interval is of
``metric(a) - metric(b)``. Each resample's metric is computed for a whole
chunk of resamples at once (ROC-AUC as the Mann-Whitney statistic of average
ranks), so a thousand resamples of a few thousand rows take well under a second.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any, Literal

import numpy as np

from alien.metrics.checks import (
    FloatArray,
    IntArray,
    as_binary,
    as_float_1d,
    check_both_classes,
    check_same_length,
)
from alien.metrics.error_detection import batched_roc_auc

PairedMetric = Literal["roc_auc", "brier", "accuracy"]
# Resamples are processed in chunks so memory stays ~ this many float64 values per array.
_CHUNK_ELEMENTS = 4_000_000


@dataclass(frozen=True)
class BootstrapResult:
    """Point estimate and percentile interval of ``metric(a) - metric(b)``.

    Attributes:
        delta: the difference on the full data.
        low: lower percentile bound.
        high: upper percentile bound.
        n_valid: resamples used (for ROC-AUC, those holding both errors and correct rows).
    """

    delta: float
    low: float
    high: float
    n_valid: int

    def to_dict(self) -> dict[str, float | int]:
        """JSON-able view."""
        return asdict(self)


def _brier(u: FloatArray, e: FloatArray) -> FloatArray:
    """Brier score of ``u`` as a probability of error, per row of a ``(B, N)`` batch.

    The batched form of :func:`sklearn.metrics.brier_score_loss` (which scores one
    row per call, ten times slower over a bootstrap); the tests check it against sklearn.
    """
    return np.mean((u - e) ** 2, axis=-1)


def _accuracy(_u: FloatArray, e: FloatArray) -> FloatArray:
    return 1.0 - np.mean(e, axis=-1)


def _roc_auc(u: FloatArray, e: FloatArray) -> FloatArray:
    return batched_roc_auc(np.atleast_2d(u), np.atleast_2d(e).astype(np.int64))


_METRICS: dict[str, tuple[Callable[[FloatArray, FloatArray], FloatArray], bool]] = {
    # name -> (batched metric, needs both classes in every resample)
    "roc_auc": (_roc_auc, True),
    "brier": (_brier, False),
    "accuracy": (_accuracy, False),
}


def paired_bootstrap(
    metric: PairedMetric,
    u_a: Any,
    errors_a: Any,
    u_b: Any,
    errors_b: Any,
    *,
    n_samples: int = 1000,
    confidence: float = 0.95,
    seed: int = 0,
) -> BootstrapResult:
    """Percentile CI of ``metric(u_a, errors_a) - metric(u_b, errors_b)`` over paired resamples.

    Args:
        metric: ``"roc_auc"`` (error detection; higher is better), ``"brier"`` (of u as
            P(error); lower is better) or ``"accuracy"`` (``1 - mean(errors)``; u unused).
        u_a, errors_a: ``(N,)`` scores and 0/1 errors of side A.
        u_b, errors_b: ``(N,)`` the same rows scored by side B.
        n_samples: bootstrap resamples.
        confidence: coverage of the interval, in ``(0, 1)``.
        seed: seed of the resampling generator.

    Returns:
        :class:`BootstrapResult`; for ROC-AUC, resamples where either side has a
        single class are skipped.

    Raises:
        ValueError: unknown metric (the message lists them), mismatched lengths,
            bad ``n_samples``/``confidence``, a single class on either side for
            ROC-AUC, or no valid resample.

    >>> r = paired_bootstrap("brier", [0.0, 1.0], [0, 1], [0.5, 0.5], [0, 1], n_samples=50)
    >>> r.delta
    -0.25
    >>> paired_bootstrap("roc_auc", [0.1, 0.9, 0.2, 0.8], [0, 1, 0, 1], [0.5] * 4, [0, 1, 0, 1]).delta
    0.5
    """
    if metric not in _METRICS:
        raise ValueError(f"unknown paired metric {metric!r}; choose one of {sorted(_METRICS)}")
    a, b = as_float_1d(u_a, "u_a"), as_float_1d(u_b, "u_b")
    ea, eb = as_binary(errors_a, "errors_a"), as_binary(errors_b, "errors_b")
    check_same_length(u_a=a, errors_a=ea, u_b=b, errors_b=eb)
    if isinstance(n_samples, bool) or not isinstance(n_samples, int | np.integer) or n_samples < 1:
        raise ValueError(f"n_samples must be a positive integer, got {n_samples!r}")
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must lie in (0, 1), got {confidence}")
    fn, both_classes = _METRICS[metric]
    fa, fb = ea.astype(np.float64), eb.astype(np.float64)
    if both_classes:
        check_both_classes(ea, needed_by=metric, name="errors_a")
        check_both_classes(eb, needed_by=metric, name="errors_b")
    delta = float(fn(a[None], fa[None])[0] - fn(b[None], fb[None])[0])
    deltas = _resampled_deltas(fn, both_classes, a, ea, b, eb, n_samples=n_samples, seed=seed)
    tail = (1.0 - confidence) / 2.0 * 100.0
    low, high = np.percentile(deltas, [tail, 100.0 - tail])
    return BootstrapResult(delta=delta, low=float(low), high=float(high), n_valid=int(deltas.size))


def _resampled_deltas(
    fn: Callable[[FloatArray, FloatArray], FloatArray],
    both_classes: bool,
    a: FloatArray,
    ea: IntArray,
    b: FloatArray,
    eb: IntArray,
    *,
    n_samples: int,
    seed: int,
) -> FloatArray:
    rng = np.random.default_rng(seed)
    n = a.size
    chunk = max(1, _CHUNK_ELEMENTS // n)
    out: list[FloatArray] = []
    for start in range(0, n_samples, chunk):
        idx = rng.integers(0, n, size=(min(chunk, n_samples - start), n))
        if both_classes:
            pa, pb = ea[idx].sum(axis=1), eb[idx].sum(axis=1)
            idx = idx[(pa > 0) & (pa < n) & (pb > 0) & (pb < n)]
            if idx.shape[0] == 0:
                continue
        fa, fb = ea[idx].astype(np.float64), eb[idx].astype(np.float64)
        out.append(fn(a[idx], fa) - fn(b[idx], fb))
    if not out:
        raise ValueError(f"no bootstrap resample out of {n_samples} held both errors and correct rows")
    return np.concatenate(out)
