"""Curve data behind the reliability diagram and the risk–coverage plot.

Both functions return plain ``dict``s of lists (JSON-able, ``None`` for empty
bins) that the evaluate stage writes for ``dvc plots`` and that
:mod:`alien.evaluation.plots` draws.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from alien.metrics.calibration import _validate_confidence, bin_indices
from alien.metrics.checks import check_n_bins
from alien.metrics.error_detection import expected_cumulative_errors, validate_error_inputs


def reliability_diagram(confidence: Any, correct: Any, *, n_bins: int = 15) -> dict[str, Any]:
    """Per-bin accuracy, mean confidence and count over equal-width confidence bins.

    Bins are those of :func:`alien.metrics.calibration.expected_calibration_error`.

    Args:
        confidence: ``(N,)`` confidences in ``[0, 1]``.
        correct: ``(N,)`` 0/1 correctness.
        n_bins: number of bins.

    Returns:
        ``{"bin_edges": [n_bins + 1], "accuracy": [n_bins], "confidence": [n_bins],
        "count": [n_bins]}``; accuracy and confidence are ``None`` for empty bins.

    >>> d = reliability_diagram([0.2, 0.9, 0.8], [0, 1, 0], n_bins=2)
    >>> d["count"], d["accuracy"]
    ([1, 2], [0.0, 0.5])
    """
    check_n_bins(n_bins)
    conf, corr = _validate_confidence(confidence, correct)
    idx = bin_indices(conf, n_bins)
    counts = np.bincount(idx, minlength=n_bins)
    conf_sum = np.bincount(idx, weights=conf, minlength=n_bins)
    acc_sum = np.bincount(idx, weights=corr.astype(np.float64), minlength=n_bins)
    accuracy = [float(a / c) if c else None for a, c in zip(acc_sum, counts, strict=True)]
    mean_conf = [float(s / c) if c else None for s, c in zip(conf_sum, counts, strict=True)]
    return {
        "bin_edges": np.linspace(0.0, 1.0, n_bins + 1).tolist(),
        "accuracy": accuracy,
        "confidence": mean_conf,
        "count": [int(c) for c in counts],
    }


def risk_coverage_curve(u: Any, errors: Any, *, max_points: int | None = None) -> dict[str, list[float]]:
    """Risk (error rate among retained rows) at each coverage, most certain rows first.

    The mean of the full curve's risk is :func:`alien.metrics.error_detection.aurc`
    (ties in ``u`` are interpolated the same way).

    Args:
        u: ``(N,)`` uncertainty scores.
        errors: ``(N,)`` 0/1 error indicators.
        max_points: keep at most this many evenly spaced points (always
            including full coverage); ``None`` keeps all ``N``.

    Returns:
        ``{"coverage": [...], "risk": [...]}`` with coverage increasing to 1.

    >>> risk_coverage_curve([0.1, 0.2, 0.3, 0.4], [0, 0, 1, 1])["risk"]
    [0.0, 0.0, 0.3333333333333333, 0.5]
    """
    u_arr, e_arr = validate_error_inputs(u, errors)
    if max_points is not None and (isinstance(max_points, bool) or max_points < 2):
        raise ValueError(f"max_points must be None or an integer >= 2, got {max_points!r}")
    k = np.arange(1, u_arr.size + 1)
    risk = expected_cumulative_errors(u_arr, e_arr) / k
    coverage = k / u_arr.size
    if max_points is not None and u_arr.size > max_points:
        keep = np.unique(np.linspace(0, u_arr.size - 1, max_points).round().astype(np.int64))
        risk, coverage = risk[keep], coverage[keep]
    return {"coverage": coverage.tolist(), "risk": risk.tolist()}
