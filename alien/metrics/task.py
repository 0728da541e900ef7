"""Task-quality metrics of the classifier itself: accuracy and macro-F1."""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.metrics import f1_score

from alien.metrics.checks import IntArray, as_float_2d, as_labels, check_same_length, to_numpy


def _predictions(predictions: Any) -> IntArray:
    arr = to_numpy(predictions, "predictions")
    if arr.ndim == 2:
        return np.asarray(as_float_2d(arr, "predictions").argmax(axis=1), dtype=np.int64)
    return as_labels(arr, "predictions")


def _validate(predictions: Any, labels: Any) -> tuple[IntArray, IntArray]:
    pred = _predictions(predictions)
    y = as_labels(labels, "labels")
    check_same_length(predictions=pred, labels=y)
    return pred, y


def accuracy(predictions: Any, labels: Any) -> float:
    """Fraction of rows whose prediction equals the label.

    Args:
        predictions: ``(N,)`` predicted class ids, or ``(N, C)`` scores (argmax is taken).
        labels: ``(N,)`` gold class ids.

    Raises:
        ValueError: empty input, mismatched lengths, NaN or non-integer ids.

    >>> accuracy([0, 1, 1, 0], [0, 1, 0, 0])
    0.75
    """
    pred, y = _validate(predictions, labels)
    return float(np.mean(pred == y))


def macro_f1(predictions: Any, labels: Any) -> float:
    """Unweighted mean of per-class F1 over the classes present in labels or predictions.

    Args:
        predictions: ``(N,)`` predicted class ids, or ``(N, C)`` scores (argmax is taken).
        labels: ``(N,)`` gold class ids.

    Raises:
        ValueError: empty input, mismatched lengths, NaN or non-integer ids.

    >>> round(macro_f1([0, 1, 1, 0], [0, 1, 0, 0]), 6)
    0.733333
    """
    pred, y = _validate(predictions, labels)
    return float(f1_score(y, pred, average="macro", zero_division=0.0))
