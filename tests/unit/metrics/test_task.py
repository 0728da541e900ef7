"""Task metrics and the named metric collections."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.metrics import accuracy_score, f1_score

from alien.metrics import (
    TASK_METRIC_KEYS,
    accuracy,
    aurc,
    brier_score,
    expected_calibration_error,
    macro_f1,
    pr_auc,
    prediction_rejection_ratio,
    roc_auc,
    task_metrics,
    uncertainty_metrics,
)


@pytest.fixture
def logits_labels() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(3)
    return rng.normal(size=(80, 3)), rng.integers(0, 3, size=80)


def test_accuracy_and_macro_f1_match_sklearn(logits_labels: tuple[np.ndarray, np.ndarray]) -> None:
    logits, labels = logits_labels
    pred = logits.argmax(axis=1)
    assert accuracy(pred, labels) == pytest.approx(accuracy_score(labels, pred))
    assert macro_f1(logits, labels) == pytest.approx(f1_score(labels, pred, average="macro"))
    assert accuracy(torch.tensor(logits), torch.tensor(labels)) == accuracy(pred, labels)


def test_task_metrics_same_for_logits_and_probs(logits_labels: tuple[np.ndarray, np.ndarray]) -> None:
    logits, labels = logits_labels
    probs = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    from_logits = task_metrics(logits, labels)
    assert tuple(from_logits) == TASK_METRIC_KEYS
    assert from_logits == pytest.approx(task_metrics(probs, labels))
    assert from_logits["accuracy"] == pytest.approx(np.mean(logits.argmax(1) == labels))


def test_uncertainty_metrics_collects_the_pure_functions() -> None:
    rng = np.random.default_rng(4)
    errors = rng.integers(0, 2, size=200)
    u = np.clip(errors * 0.4 + rng.random(200) * 0.6, 0, 1)
    got = uncertainty_metrics(u, errors, n_bins=10)
    assert got == {
        "roc_auc": roc_auc(u, errors),
        "pr_auc": pr_auc(u, errors),
        "prr": prediction_rejection_ratio(u, errors),
        "aurc": aurc(u, errors),
        "ece": expected_calibration_error(1 - u, 1 - errors, n_bins=10),
        "brier": brier_score(1 - u, 1 - errors),
    }
    assert set(uncertainty_metrics(u * 50, errors, is_probability=False)) == {
        "roc_auc",
        "pr_auc",
        "prr",
        "aurc",
    }


def test_uncertainty_metrics_accepts_tensors_and_rejects_no_errors() -> None:
    u, e = torch.tensor([0.1, 0.8, 0.3]), torch.tensor([0.0, 1.0, 0.0])
    assert uncertainty_metrics(u, e)["roc_auc"] == 1.0
    with pytest.raises(ValueError, match="no errors"):
        uncertainty_metrics([0.1, 0.2], [0, 0])


def test_bad_task_inputs_raise() -> None:
    with pytest.raises(ValueError, match="integer class ids"):
        accuracy([0.5, 1.0], [0, 1])
    with pytest.raises(ValueError, match="disagree on the number of rows"):
        macro_f1([0, 1, 1], [0, 1])
    with pytest.raises(ValueError, match="empty"):
        accuracy([], [])
