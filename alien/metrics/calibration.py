"""Calibration metrics: ECE, Brier scores and negative log-likelihood.

For an uncertainty ``u`` in ``[0, 1]`` the confidence is ``1 - u`` and
``correct = 1 - errors``. Both Brier scores are scikit-learn's
:func:`~sklearn.metrics.brier_score_loss` behind this package's input checks.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
from scipy.special import log_softmax, softmax
from sklearn.metrics import brier_score_loss

from alien.metrics.checks import (
    FloatArray,
    IntArray,
    as_binary,
    as_float_1d,
    as_float_2d,
    as_labels,
    check_n_bins,
    check_same_length,
    check_unit_interval,
)

# Rows count as probabilities when they sum to one within this tolerance.
PROBABILITY_ATOL = 1e-4
# Probabilities are floored here so a zero on the gold class gives a large, finite NLL.
MIN_PROBABILITY = 1e-12


def _validate_confidence(confidence: Any, correct: Any) -> tuple[FloatArray, IntArray]:
    conf = as_float_1d(confidence, "confidence")
    check_unit_interval(conf, "confidence")
    corr = as_binary(correct, "correct")
    check_same_length(confidence=conf, correct=corr)
    return conf, corr


def bin_indices(confidence: FloatArray, n_bins: int) -> IntArray:
    """``(N,)`` bin of each confidence: bin ``i`` is ``(i/n, (i+1)/n]``, 0.0 goes to bin 0."""
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    # searchsorted(side="left") returns the first edge >= c, i.e. the right-closed bin's upper edge.
    idx = np.searchsorted(edges, confidence, side="left") - 1
    return np.clip(idx, 0, n_bins - 1).astype(np.int64)


def expected_calibration_error(confidence: Any, correct: Any, *, n_bins: int = 15) -> float:
    """Expected calibration error with equal-width bins (Guo et al., 2017).

    ``ECE = sum_i (|B_i| / N) * |acc(B_i) - conf(B_i)|`` with bin ``i`` the
    interval ``(i/n, (i+1)/n]`` (a confidence of exactly 0 joins the first bin);
    empty bins contribute nothing.

    Args:
        confidence: ``(N,)`` confidences in ``[0, 1]`` (e.g. ``1 - u``).
        correct: ``(N,)`` 0/1, 1 where the prediction is right.
        n_bins: number of equal-width bins.

    Raises:
        ValueError: empty input, mismatched lengths, NaN, confidence outside
            ``[0, 1]``, non-binary ``correct`` or ``n_bins < 1``.

    >>> round(expected_calibration_error([0.9, 0.9, 0.3, 0.3], [1, 0, 1, 1], n_bins=2), 6)
    0.55
    """
    check_n_bins(n_bins)
    conf, corr = _validate_confidence(confidence, correct)
    idx = bin_indices(conf, n_bins)
    conf_sum = np.bincount(idx, weights=conf, minlength=n_bins)
    acc_sum = np.bincount(idx, weights=corr.astype(np.float64), minlength=n_bins)
    # |sum(acc) - sum(conf)| / N equals the bin's weight times |mean acc - mean conf|.
    return float(np.abs(acc_sum - conf_sum).sum() / conf.size)


def brier_score(confidence: Any, correct: Any) -> float:
    """Binary Brier score ``mean((confidence - correct)^2)`` (lower is better).

    Args:
        confidence: ``(N,)`` confidences in ``[0, 1]``.
        correct: ``(N,)`` 0/1 correctness.

    Raises:
        ValueError: empty input, mismatched lengths, NaN or confidence outside ``[0, 1]``.

    >>> brier_score([1.0, 0.5], [1, 0])
    0.125
    """
    conf, corr = _validate_confidence(confidence, correct)
    return float(brier_score_loss(corr, conf, pos_label=1))


def looks_like_probabilities(scores: FloatArray) -> bool:
    """Whether ``(N, C)`` scores are non-negative rows summing to one."""
    return bool((scores >= 0.0).all() and np.allclose(scores.sum(axis=1), 1.0, atol=PROBABILITY_ATOL))


def to_probabilities(scores: Any, *, from_logits: bool | None = None, name: str = "scores") -> FloatArray:
    """``(N, C)`` probabilities from probabilities or logits.

    Args:
        scores: ``(N, C)`` probabilities or logits.
        from_logits: ``True`` to apply softmax, ``False`` to require
            probabilities, ``None`` to decide by :func:`looks_like_probabilities`.
        name: argument name used in error messages.

    Raises:
        ValueError: bad shape, NaN/inf, or ``from_logits=False`` with rows that
            are not probability distributions.
    """
    arr = as_float_2d(scores, name)
    is_prob = looks_like_probabilities(arr)
    if from_logits is None:
        from_logits = not is_prob
    if from_logits:
        return np.asarray(softmax(arr, axis=1), dtype=np.float64)
    if not is_prob:
        raise ValueError(f"{name} rows must be non-negative and sum to 1 (tolerance {PROBABILITY_ATOL})")
    return arr


def multiclass_brier(probs: Any, labels: Any) -> float:
    """Multiclass Brier score ``mean_n sum_c (p_nc - 1[y_n = c])^2`` (in ``[0, 2]``).

    Args:
        probs: ``(N, C)`` rows of class probabilities.
        labels: ``(N,)`` gold labels in ``[0, C)``.

    Raises:
        ValueError: rows not summing to one, labels out of range, mismatched lengths.

    >>> multiclass_brier([[1.0, 0.0], [0.5, 0.5]], [0, 1])
    0.25
    """
    p = to_probabilities(probs, from_logits=False, name="probs")
    y = _validate_labels(labels, p)
    with warnings.catch_warnings():
        # Rows summing to one within PROBABILITY_ATOL are accepted; sklearn's own test is stricter.
        warnings.filterwarnings("ignore", "The y_prob values do not sum to one", UserWarning)
        loss = brier_score_loss(y, p, labels=np.arange(p.shape[1]), scale_by_half=False)
    return float(loss)


def negative_log_likelihood(probs_or_logits: Any, labels: Any, *, from_logits: bool | None = None) -> float:
    """Mean negative log-likelihood of the gold labels (natural log).

    Args:
        probs_or_logits: ``(N, C)`` probabilities or logits.
        labels: ``(N,)`` gold labels in ``[0, C)``.
        from_logits: see :func:`to_probabilities`; ``None`` detects rows that
            are already probability distributions.

    Raises:
        ValueError: bad shapes, NaN, labels out of range.

    >>> round(negative_log_likelihood([[0.0, 0.0]], [1]), 6)
    0.693147
    """
    arr = as_float_2d(probs_or_logits, "probs_or_logits")
    y = _validate_labels(labels, arr)
    if from_logits is None:
        from_logits = not looks_like_probabilities(arr)
    if from_logits:
        log_p = log_softmax(arr, axis=1)
    else:
        log_p = np.log(np.clip(to_probabilities(arr, from_logits=False), MIN_PROBABILITY, None))
    return float(-log_p[np.arange(y.size), y].mean())


def _validate_labels(labels: Any, scores: FloatArray) -> IntArray:
    y = as_labels(labels, "labels")
    check_same_length(scores=scores, labels=y)
    if y.max() >= scores.shape[1]:
        raise ValueError(f"labels must lie in [0, {scores.shape[1]}), got max {int(y.max())}")
    return y
