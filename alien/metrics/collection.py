"""Named collections of metrics, the ``dict[str, float]`` the evaluate stage logs."""

from __future__ import annotations

from typing import Any

import numpy as np

from alien.metrics.calibration import (
    brier_score,
    expected_calibration_error,
    multiclass_brier,
    negative_log_likelihood,
    to_probabilities,
)
from alien.metrics.checks import to_numpy
from alien.metrics.error_detection import aurc, pr_auc, prediction_rejection_ratio, roc_auc
from alien.metrics.task import accuracy, macro_f1

UNCERTAINTY_METRIC_KEYS: tuple[str, ...] = ("roc_auc", "pr_auc", "prr", "aurc", "ece", "brier")
TASK_METRIC_KEYS: tuple[str, ...] = ("accuracy", "macro_f1", "nll", "brier_multiclass")


def uncertainty_metrics(
    u: Any, errors: Any, *, n_bins: int = 15, is_probability: bool = True
) -> dict[str, float]:
    """Error-detection (and, for probabilities, calibration) metrics of one uncertainty.

    Args:
        u: ``(N,)`` uncertainty scores, higher = more likely wrong.
        errors: ``(N,)`` 0/1 error indicators.
        n_bins: ECE bins.
        is_probability: whether ``1 - u`` is a confidence in ``[0, 1]``; only
            then are ``ece`` and ``brier`` computed (on ``1 - u`` vs ``1 - errors``).

    Returns:
        ``roc_auc``, ``pr_auc``, ``prr``, ``aurc`` and, if ``is_probability``, ``ece``, ``brier``.

    Raises:
        ValueError: as the individual metrics (e.g. no errors at all).

    >>> sorted(uncertainty_metrics([0.1, 0.9], [0, 1]))
    ['aurc', 'brier', 'ece', 'pr_auc', 'prr', 'roc_auc']
    """
    out = {
        "roc_auc": roc_auc(u, errors),
        "pr_auc": pr_auc(u, errors),
        "prr": prediction_rejection_ratio(u, errors),
        "aurc": aurc(u, errors),
    }
    if is_probability:
        confidence = 1.0 - to_numpy(u, "u").astype(np.float64)
        correct = 1 - to_numpy(errors, "errors").astype(np.int64)
        out["ece"] = expected_calibration_error(confidence, correct, n_bins=n_bins)
        out["brier"] = brier_score(confidence, correct)
    return out


def task_metrics(logits_or_probs: Any, labels: Any, *, from_logits: bool | None = None) -> dict[str, float]:
    """Task quality of the classifier.

    Args:
        logits_or_probs: ``(N, C)`` logits or probabilities.
        labels: ``(N,)`` gold labels in ``[0, C)``.
        from_logits: ``None`` treats rows that are probability distributions as
            probabilities and anything else as logits; ``True``/``False`` forces it.

    Returns:
        ``accuracy``, ``macro_f1``, ``nll`` and ``brier_multiclass``.

    >>> task_metrics([[2.0, 0.0], [0.0, 2.0]], [0, 1])["accuracy"]
    1.0
    """
    probs = to_probabilities(logits_or_probs, from_logits=from_logits, name="logits_or_probs")
    return {
        "accuracy": accuracy(probs, labels),
        "macro_f1": macro_f1(probs, labels),
        # From the raw input: log_softmax of logits keeps precision that softmax-then-log loses.
        "nll": negative_log_likelihood(logits_or_probs, labels, from_logits=from_logits),
        "brier_multiclass": multiclass_brier(probs, labels),
    }
