"""Calibration metrics against hand-computed values and reference implementations."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch
from sklearn.metrics import log_loss

from alien.metrics import (
    brier_score,
    expected_calibration_error,
    multiclass_brier,
    negative_log_likelihood,
    to_probabilities,
)


def _guo_ece(conf: np.ndarray, correct: np.ndarray, n_bins: int) -> float:
    """Reference loop of Guo et al.'s temperature_scaling code: bins (lo, hi]."""
    edges = np.linspace(0, 1, n_bins + 1)
    ece = 0.0
    for lo, hi in itertools.pairwise(edges):
        in_bin = (conf > lo) & (conf <= hi)
        if in_bin.any():
            ece += in_bin.mean() * abs(correct[in_bin].mean() - conf[in_bin].mean())
    return float(ece)


def test_ece_by_hand_with_three_bins() -> None:
    conf = [0.2, 0.3, 0.5, 0.6, 0.9, 1.0]
    correct = [0, 1, 1, 0, 1, 1]
    # Bins (0, 1/3], (1/3, 2/3], (2/3, 1]: |0.5-0.25|, |0.5-0.55|, |1-0.95|, each weighted 2/6.
    expected = (2 / 6) * (0.25 + 0.05 + 0.05)
    assert expected_calibration_error(conf, correct, n_bins=3) == pytest.approx(expected)


def test_ece_matches_reference_on_random_data() -> None:
    rng = np.random.default_rng(1)
    conf = rng.uniform(0.3, 1.0, size=1000)
    correct = (rng.random(1000) < conf**2).astype(int)
    assert expected_calibration_error(conf, correct, n_bins=15) == pytest.approx(_guo_ece(conf, correct, 15))


def test_ece_bins_are_right_closed() -> None:
    # 0.5 belongs to (0, 0.5] with the correct row, not to (0.5, 1] with the wrong one.
    assert expected_calibration_error([0.5, 0.75], [1, 0], n_bins=2) == pytest.approx(0.5 * 0.5 + 0.5 * 0.75)


def test_ece_is_zero_for_perfect_calibration() -> None:
    assert expected_calibration_error([0.75] * 4, [1, 1, 1, 0]) == pytest.approx(0.0)


def test_brier_score_by_hand() -> None:
    assert brier_score([0.9, 0.2, 0.6], [1, 0, 0]) == pytest.approx((0.01 + 0.04 + 0.36) / 3)


def test_multiclass_brier_by_hand() -> None:
    probs = [[0.7, 0.2, 0.1], [0.1, 0.1, 0.8]]
    # Row 0 (label 0): 0.09+0.04+0.01; row 1 (label 1): 0.01+0.81+0.64.
    assert multiclass_brier(probs, [0, 1]) == pytest.approx((0.14 + 1.46) / 2)


def test_nll_matches_sklearn_for_probs_and_logits() -> None:
    rng = np.random.default_rng(2)
    logits = rng.normal(size=(50, 4))
    labels = rng.integers(0, 4, size=50)
    probs = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    expected = log_loss(labels, probs, labels=[0, 1, 2, 3])
    assert negative_log_likelihood(logits, labels) == pytest.approx(expected)
    assert negative_log_likelihood(probs, labels) == pytest.approx(expected)
    assert negative_log_likelihood(torch.tensor(logits), torch.tensor(labels)) == pytest.approx(expected)


def test_to_probabilities_detects_logits() -> None:
    assert to_probabilities([[0.2, 0.8]]).tolist() == [[0.2, 0.8]]
    assert to_probabilities([[0.0, 0.0]]).tolist() == [[0.5, 0.5]]
    with pytest.raises(ValueError, match="sum to 1"):
        to_probabilities([[0.3, 0.3]], from_logits=False)


@pytest.mark.parametrize(
    ("conf", "correct", "match"),
    [
        ([], [], "empty"),
        ([0.5, 1.2], [1, 0], r"confidence must lie in \[0, 1\]"),
        ([0.5, float("nan")], [1, 0], "NaN"),
        ([0.5, 0.6], [1], "disagree on the number of rows"),
        ([0.5, 0.6], [1, 3], "only 0 and 1"),
    ],
)
def test_bad_calibration_inputs_raise(conf: list[float], correct: list[int], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        expected_calibration_error(conf, correct)
    with pytest.raises(ValueError, match=match):
        brier_score(conf, correct)


def test_bad_n_bins_and_labels_raise() -> None:
    with pytest.raises(ValueError, match="n_bins"):
        expected_calibration_error([0.5], [1], n_bins=0)
    with pytest.raises(ValueError, match=r"labels must lie in \[0, 2\)"):
        multiclass_brier([[0.5, 0.5]], [2])
    with pytest.raises(ValueError, match="at least 2 classes"):
        negative_log_likelihood([[1.0]], [0])
