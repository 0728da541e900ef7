"""Paired bootstrap of any metric difference, and a paired non-inferiority test, for the promotion gates.

Generalises :func:`alien.metrics.paired_bootstrap_auroc_difference` to any
``metric_fn(scores, target) -> float`` (ROC-AUC, Brier, ECE, ...): both methods
are scored on the same resampled rows, so the interval reflects their
correlation. ``docs/gates.md`` states the rules built on these two functions.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from alien.metrics.bootstrap import BootstrapResult

MetricFn = Callable[[np.ndarray, np.ndarray], float]


def _check(a: Any, b: Any, y: Any, n_samples: int, level: float, what: str) -> tuple[np.ndarray, ...]:
    arrays = [np.asarray(v) for v in (a, b, y)]
    if any(v.ndim == 0 or v.shape[0] == 0 for v in arrays):
        raise ValueError("a, b and y must be non-empty arrays with rows first")
    if not arrays[0].shape[0] == arrays[1].shape[0] == arrays[2].shape[0]:
        raise ValueError(f"a, b and y must have the same number of rows, got {[v.shape[0] for v in arrays]}")
    if isinstance(n_samples, bool) or not isinstance(n_samples, int) or n_samples < 1:
        raise ValueError(f"n_samples must be a positive integer, got {n_samples!r}")
    if not 0.0 < level < 1.0:
        raise ValueError(f"{what} must lie in (0, 1), got {level}")
    return tuple(arrays)


def paired_bootstrap(
    metric_fn: MetricFn,
    a: Any,
    b: Any,
    y: Any,
    *,
    n_samples: int = 1000,
    confidence: float = 0.95,
    seed: int = 0,
) -> BootstrapResult:
    """Percentile interval of ``metric_fn(a, y) - metric_fn(b, y)`` over paired row resamples.

    Args:
        metric_fn: ``(scores, target) -> float``; a resample on which it raises
            ``ValueError`` (e.g. ROC-AUC with one class) is skipped.
        a: ``(N, ...)`` scores of method A.
        b: ``(N, ...)`` scores of method B, same rows.
        y: ``(N,)`` target shared by both (errors, correctness, labels).
        n_samples: bootstrap resamples.
        confidence: two-sided coverage of the interval, in ``(0, 1)``.
        seed: resampling seed.

    Raises:
        ValueError: mismatched rows, bad options, ``metric_fn`` failing on the
            full data, or no valid resample.

    >>> from alien.metrics import brier_score
    >>> r = paired_bootstrap(brier_score, [0.9, 0.8, 0.2], [0.5, 0.5, 0.5], [1, 1, 0], n_samples=50)
    >>> round(r.delta, 4)
    -0.22
    """
    a_, b_, y_ = _check(a, b, y, n_samples, confidence, "confidence")
    delta = float(metric_fn(a_, y_)) - float(metric_fn(b_, y_))
    rng = np.random.default_rng(seed)
    deltas = []
    for _ in range(n_samples):
        idx = rng.integers(0, y_.shape[0], size=y_.shape[0])
        try:
            deltas.append(float(metric_fn(a_[idx], y_[idx])) - float(metric_fn(b_[idx], y_[idx])))
        except ValueError:
            continue
    if not deltas:
        raise ValueError(f"metric_fn failed on every one of {n_samples} resamples")
    tail = (1.0 - confidence) / 2.0 * 100.0
    low, high = np.percentile(deltas, [tail, 100.0 - tail])
    return BootstrapResult(delta=delta, low=float(low), high=float(high), n_valid=len(deltas))


@dataclass(frozen=True)
class NonInferiority:
    """Paired non-inferiority of a challenger against a reference on the same rows.

    Attributes:
        delta: ``metric(challenger) - metric(reference)``, signed so that positive is better.
        bound: one-sided lower ``1 - alpha`` bootstrap bound of that signed difference.
        margin: the loss tolerated (>= 0).
        passed: ``bound > -margin``: the challenger is shown to be no worse than ``margin``.
    """

    delta: float
    bound: float
    margin: float
    passed: bool

    def to_dict(self) -> dict[str, float | bool]:
        """JSON-able view."""
        return asdict(self)


def non_inferiority(
    metric_fn: MetricFn,
    challenger: Any,
    reference: Any,
    y: Any,
    *,
    margin: float,
    higher_is_better: bool,
    alpha: float = 0.05,
    n_samples: int = 1000,
    seed: int = 0,
) -> NonInferiority:
    """One-sided paired bootstrap test of H0 "the challenger is worse than the reference by more than ``margin``".

    Args:
        metric_fn: ``(scores, target) -> float``.
        challenger: ``(N, ...)`` challenger scores.
        reference: ``(N, ...)`` reference (champion) scores on the same rows.
        y: ``(N,)`` shared target.
        margin: tolerated loss, ``>= 0``, in the metric's units.
        higher_is_better: ``True`` for ROC-AUC, ``False`` for ECE / Brier.
        alpha: one-sided level, in ``(0, 0.5)``.
        n_samples: bootstrap resamples.
        seed: resampling seed.

    Raises:
        ValueError: ``margin < 0``, ``alpha`` outside ``(0, 0.5)``, or as :func:`paired_bootstrap`.

    >>> from alien.metrics import roc_auc
    >>> r = non_inferiority(roc_auc, [0.1, 0.9, 0.2, 0.8], [0.2, 0.8, 0.1, 0.9], [0, 1, 0, 1],
    ...                     margin=0.01, higher_is_better=True, n_samples=50)
    >>> r.passed
    True
    """
    if not margin >= 0.0:
        raise ValueError(f"margin must be >= 0, got {margin}")
    if not 0.0 < alpha < 0.5:
        raise ValueError(f"alpha must lie in (0, 0.5), got {alpha}")
    r = paired_bootstrap(
        metric_fn, challenger, reference, y, n_samples=n_samples, confidence=1.0 - 2.0 * alpha, seed=seed
    )
    delta, bound = (r.delta, r.low) if higher_is_better else (-r.delta, -r.high)
    return NonInferiority(delta=delta, bound=bound, margin=float(margin), passed=bool(bound > -margin))
