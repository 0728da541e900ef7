"""Paired bootstrap of a difference in one metric between two scorers on the same rows.

Both sides are scored on the same resampled row indices, so the interval keeps
the correlation between them. Each side has its own error indicators: the
same ones when comparing two uncertainty scores of one model (ALIEN vs its
backbone's entropy), different ones when comparing two models on the same test
rows (challenger vs champion). Every metric is "higher is better" or
"lower is better" as its name says; the interval is of ``metric(a) - metric(b)``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

import numpy as np

from alien.metrics._validation import FloatArray, IntArray, as_binary, as_float_1d, check_same_length
from alien.metrics.bootstrap import BootstrapResult
from alien.metrics.error_detection import batched_roc_auc

PairedMetric = Literal["roc_auc", "brier", "accuracy"]
_CHUNK_ELEMENTS = 4_000_000


def _brier(u: FloatArray, e: FloatArray) -> FloatArray:
    """Brier score of ``u`` as a probability of error, per row of a ``(B, N)`` batch."""
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
        :class:`~alien.metrics.bootstrap.BootstrapResult`; for ROC-AUC, resamples where
        either side has a single class are skipped.

    Raises:
        ValueError: unknown metric (the message lists them), mismatched lengths,
            bad ``n_samples``/``confidence``, or no valid resample.

    >>> r = paired_bootstrap("brier", [0.0, 1.0], [0, 1], [0.5, 0.5], [0, 1], n_samples=50)
    >>> r.delta
    -0.25
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
        for name, e in (("errors_a", ea), ("errors_b", eb)):
            if e.min() == e.max():
                raise ValueError(f"{metric} needs both errors and correct rows in {name}")
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
