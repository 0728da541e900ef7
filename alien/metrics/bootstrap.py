"""Paired bootstrap confidence interval for a difference of ROC-AUCs.

Both scores are evaluated on the same resampled rows, so the interval reflects
the correlation between them (both see the same hard examples). Each resample's
AUC is the Mann–Whitney statistic computed from average ranks, vectorised over
resamples.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from alien.metrics._validation import FloatArray, as_float_1d, check_same_length
from alien.metrics.error_detection import batched_roc_auc, roc_auc, validate_error_inputs

# Resamples are processed in chunks so memory stays ~ this many float64 values per array.
_CHUNK_ELEMENTS = 4_000_000


@dataclass(frozen=True)
class BootstrapResult:
    """Point estimate and percentile interval of ``AUC(u_a) - AUC(u_b)``.

    Attributes:
        delta: the difference on the full data.
        low: lower percentile bound.
        high: upper percentile bound.
        n_valid: resamples used (those holding both errors and correct rows).
    """

    delta: float
    low: float
    high: float
    n_valid: int

    def to_dict(self) -> dict[str, float | int]:
        """JSON-able view."""
        return asdict(self)


def paired_bootstrap_auroc_difference(
    u_a: Any,
    u_b: Any,
    errors: Any,
    *,
    n_samples: int = 1000,
    confidence: float = 0.95,
    seed: int = 0,
) -> BootstrapResult:
    """Paired bootstrap CI of ``ROC-AUC(u_a) - ROC-AUC(u_b)`` for detecting ``errors``.

    Args:
        u_a: ``(N,)`` uncertainty of method A.
        u_b: ``(N,)`` uncertainty of method B.
        errors: ``(N,)`` 0/1 error indicators shared by both.
        n_samples: number of bootstrap resamples (rows drawn with replacement).
        confidence: coverage of the percentile interval, in ``(0, 1)``.
        seed: seed of the resampling generator (same seed, same interval).

    Returns:
        :class:`BootstrapResult`; resamples with a single class are skipped.

    Raises:
        ValueError: bad inputs, a single class in ``errors``, ``n_samples < 1``,
            ``confidence`` outside ``(0, 1)``, or no valid resample.

    >>> r = paired_bootstrap_auroc_difference([0.1, 0.9, 0.2, 0.8], [0.5, 0.5, 0.5, 0.5], [0, 1, 0, 1])
    >>> r.delta
    0.5
    """
    a, e = validate_error_inputs(u_a, errors)
    b = as_float_1d(u_b, "u_b")
    check_same_length(u_a=a, u_b=b, errors=e)
    if isinstance(n_samples, bool) or not isinstance(n_samples, int | np.integer) or n_samples < 1:
        raise ValueError(f"n_samples must be a positive integer, got {n_samples!r}")
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must lie in (0, 1), got {confidence}")
    delta = roc_auc(a, e) - roc_auc(b, e)  # raises on a single class

    rng = np.random.default_rng(seed)
    n = e.size
    chunk = max(1, _CHUNK_ELEMENTS // n)
    deltas: list[FloatArray] = []
    for start in range(0, n_samples, chunk):
        idx = rng.integers(0, n, size=(min(chunk, n_samples - start), n))
        e_b = e[idx]
        n_pos = e_b.sum(axis=1)
        valid = (n_pos > 0) & (n_pos < n)
        if not valid.any():
            continue
        idx, e_b = idx[valid], e_b[valid]
        deltas.append(batched_roc_auc(a[idx], e_b) - batched_roc_auc(b[idx], e_b))
    if not deltas:
        raise ValueError(f"no bootstrap resample out of {n_samples} held both errors and correct rows")
    all_deltas = np.concatenate(deltas)
    tail = (1.0 - confidence) / 2.0 * 100.0
    low, high = np.percentile(all_deltas, [tail, 100.0 - tail])
    return BootstrapResult(delta=float(delta), low=float(low), high=float(high), n_valid=int(all_deltas.size))
