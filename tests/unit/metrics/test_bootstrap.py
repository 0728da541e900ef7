"""Paired bootstrap of the ROC-AUC difference."""

from __future__ import annotations

import time

import numpy as np
import pytest
from scipy.stats import norm
from sklearn.metrics import roc_auc_score

from alien.metrics import paired_bootstrap_auroc_difference
from alien.metrics.error_detection import batched_roc_auc as _batched_auc


def _gaussian_scores(n: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """Scores with known population AUCs: u = shift * e + N(0, 1) has AUC Phi(shift / sqrt 2)."""
    rng = np.random.default_rng(seed)
    e = (rng.random(n) < 0.3).astype(int)
    u_a = 1.0 * e + rng.normal(size=n)
    u_b = 0.5 * e + rng.normal(size=n)
    true_delta = norm.cdf(1.0 / np.sqrt(2)) - norm.cdf(0.5 / np.sqrt(2))
    return u_a, u_b, e, float(true_delta)


def test_batched_auc_matches_sklearn_with_ties() -> None:
    rng = np.random.default_rng(0)
    scores = np.round(rng.random((5, 40)), 1)
    errors = rng.integers(0, 2, size=(5, 40))
    expected = [roc_auc_score(errors[i], scores[i]) for i in range(5)]
    assert _batched_auc(scores, errors) == pytest.approx(expected)


def test_interval_contains_true_delta_and_is_deterministic() -> None:
    u_a, u_b, e, true_delta = _gaussian_scores(2000, seed=1)
    result = paired_bootstrap_auroc_difference(u_a, u_b, e, n_samples=500, seed=7)
    assert result.low < true_delta < result.high
    assert result.low < result.delta < result.high
    assert result.delta == pytest.approx(roc_auc_score(e, u_a) - roc_auc_score(e, u_b))
    assert result == paired_bootstrap_auroc_difference(u_a, u_b, e, n_samples=500, seed=7)
    assert result != paired_bootstrap_auroc_difference(u_a, u_b, e, n_samples=500, seed=8)


def test_clearly_better_score_has_positive_lower_bound_and_reverse_negative_upper() -> None:
    u_a, u_b, e, _ = _gaussian_scores(1000, seed=2)
    assert paired_bootstrap_auroc_difference(u_a, u_b, e, seed=0).low > 0
    assert paired_bootstrap_auroc_difference(u_b, u_a, e, seed=0).high < 0


def test_wider_confidence_gives_wider_interval() -> None:
    u_a, u_b, e, _ = _gaussian_scores(500, seed=3)
    narrow = paired_bootstrap_auroc_difference(u_a, u_b, e, confidence=0.5, seed=0)
    wide = paired_bootstrap_auroc_difference(u_a, u_b, e, confidence=0.99, seed=0)
    assert wide.low < narrow.low and wide.high > narrow.high


def test_single_class_resamples_are_skipped() -> None:
    result = paired_bootstrap_auroc_difference(
        [0.1, 0.2, 0.9], [0.3, 0.2, 0.1], [0, 0, 1], n_samples=200, seed=0
    )
    # P(no error among 3 draws) = (2/3)^3 ≈ 0.3, so roughly 60 of 200 resamples are skipped.
    assert 100 < result.n_valid < 190


def test_thousand_resamples_of_two_thousand_rows_is_fast() -> None:
    u_a, u_b, e, _ = _gaussian_scores(2000, seed=4)
    start = time.perf_counter()
    result = paired_bootstrap_auroc_difference(u_a, u_b, e, n_samples=1000, seed=0)
    assert time.perf_counter() - start < 3.0
    assert result.n_valid == 1000


def test_bad_bootstrap_inputs_raise() -> None:
    with pytest.raises(ValueError, match="no errors"):
        paired_bootstrap_auroc_difference([0.1, 0.2], [0.1, 0.2], [0, 0])
    with pytest.raises(ValueError, match="disagree on the number of rows"):
        paired_bootstrap_auroc_difference([0.1, 0.2], [0.1], [0, 1])
    with pytest.raises(ValueError, match="confidence"):
        paired_bootstrap_auroc_difference([0.1, 0.2], [0.1, 0.3], [0, 1], confidence=1.5)
    with pytest.raises(ValueError, match="n_samples"):
        paired_bootstrap_auroc_difference([0.1, 0.2], [0.1, 0.3], [0, 1], n_samples=0)
