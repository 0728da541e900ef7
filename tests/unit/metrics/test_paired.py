"""The paired bootstrap: matches a plain loop, and the interval means something."""

from __future__ import annotations

import time

import numpy as np
import pytest
from scipy.stats import norm
from sklearn.metrics import brier_score_loss, roc_auc_score

from alien.metrics import paired_bootstrap
from alien.metrics.error_detection import batched_roc_auc


def _data(n=300, seed=0):
    rng = np.random.default_rng(seed)
    e = (rng.random(n) < 0.3).astype(int)
    good = np.clip(0.3 + 0.4 * e + rng.normal(0, 0.15, n), 0, 1)  # informative
    bad = rng.random(n)  # noise
    return good, bad, e


def _gaussian_scores(n: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """Scores with known population AUCs: u = shift * e + N(0, 1) has AUC Phi(shift / sqrt 2)."""
    rng = np.random.default_rng(seed)
    e = (rng.random(n) < 0.3).astype(int)
    u_a = 1.0 * e + rng.normal(size=n)
    u_b = 0.5 * e + rng.normal(size=n)
    true_delta = norm.cdf(1.0 / np.sqrt(2)) - norm.cdf(0.5 / np.sqrt(2))
    return u_a, u_b, e, float(true_delta)


def _auroc_difference(u_a, u_b, e, **kwargs):
    """ROC-AUC(u_a) - ROC-AUC(u_b) on the same errors: the gate's "vs entropy" comparison."""
    return paired_bootstrap("roc_auc", u_a, e, u_b, e, **kwargs)


@pytest.mark.parametrize("metric", ["roc_auc", "brier", "accuracy"])
def test_matches_a_plain_reference_loop(metric):
    good, bad, e = _data(120)
    e2 = np.roll(e, 3)
    res = paired_bootstrap(metric, good, e, bad, e2, n_samples=200, seed=7)
    rng = np.random.default_rng(7)
    fns = {
        "roc_auc": lambda u, y: roc_auc_score(y, u),
        "brier": lambda u, y: brier_score_loss(y, u, pos_label=1),
        "accuracy": lambda u, y: 1 - y.mean(),
    }
    ref = []
    for _ in range(200):
        i = rng.integers(0, e.size, e.size)
        ref.append(fns[metric](good[i], e[i]) - fns[metric](bad[i], e2[i]))
    lo, hi = np.percentile(ref, [2.5, 97.5])
    assert res.low == pytest.approx(lo, abs=1e-9) and res.high == pytest.approx(hi, abs=1e-9)
    assert res.delta == pytest.approx(fns[metric](good, e) - fns[metric](bad, e2), abs=1e-12)


def test_an_informative_score_beats_noise_and_a_tie_straddles_zero():
    good, bad, e = _data()
    win = paired_bootstrap("roc_auc", good, e, bad, e, n_samples=500)
    assert win.low > 0
    tie = paired_bootstrap("roc_auc", good, e, good + 1e-9, e, n_samples=500)
    assert tie.low <= 0 <= tie.high
    brier = paired_bootstrap("brier", good, e, bad, e, n_samples=500)
    assert brier.high < 0  # lower Brier is better: the informative score wins


def test_bad_input_is_named():
    with pytest.raises(ValueError, match="unknown paired metric 'ece'"):
        paired_bootstrap("ece", [0.1], [0], [0.1], [0])  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="both errors and correct rows in errors_b, got no errors"):
        paired_bootstrap("roc_auc", [0.1, 0.2], [0, 1], [0.1, 0.2], [0, 0])
    with pytest.raises(ValueError, match="in errors_a, got every prediction is an error"):
        paired_bootstrap("roc_auc", [0.1, 0.2], [1, 1], [0.1, 0.2], [0, 1])
    with pytest.raises(ValueError, match="disagree on the number of rows"):
        _auroc_difference([0.1, 0.2], [0.1], [0, 1])
    with pytest.raises(ValueError, match="confidence"):
        _auroc_difference([0.1, 0.2], [0.1, 0.3], [0, 1], confidence=1.5)
    with pytest.raises(ValueError, match="n_samples"):
        _auroc_difference([0.1, 0.2], [0.1, 0.3], [0, 1], n_samples=0)


def test_batched_auc_matches_sklearn_with_ties() -> None:
    rng = np.random.default_rng(0)
    scores = np.round(rng.random((5, 40)), 1)
    errors = rng.integers(0, 2, size=(5, 40))
    expected = [roc_auc_score(errors[i], scores[i]) for i in range(5)]
    assert batched_roc_auc(scores, errors) == pytest.approx(expected)


def test_interval_contains_true_delta_and_is_deterministic() -> None:
    u_a, u_b, e, true_delta = _gaussian_scores(2000, seed=1)
    result = _auroc_difference(u_a, u_b, e, n_samples=500, seed=7)
    assert result.low < true_delta < result.high
    assert result.low < result.delta < result.high
    assert result.delta == pytest.approx(roc_auc_score(e, u_a) - roc_auc_score(e, u_b))
    assert result == _auroc_difference(u_a, u_b, e, n_samples=500, seed=7)
    assert result != _auroc_difference(u_a, u_b, e, n_samples=500, seed=8)


def test_clearly_better_score_has_positive_lower_bound_and_reverse_negative_upper() -> None:
    u_a, u_b, e, _ = _gaussian_scores(1000, seed=2)
    assert _auroc_difference(u_a, u_b, e, seed=0).low > 0
    assert _auroc_difference(u_b, u_a, e, seed=0).high < 0


def test_wider_confidence_gives_wider_interval() -> None:
    u_a, u_b, e, _ = _gaussian_scores(500, seed=3)
    narrow = _auroc_difference(u_a, u_b, e, confidence=0.5, seed=0)
    wide = _auroc_difference(u_a, u_b, e, confidence=0.99, seed=0)
    assert wide.low < narrow.low and wide.high > narrow.high


def test_single_class_resamples_are_skipped() -> None:
    result = _auroc_difference([0.1, 0.2, 0.9], [0.3, 0.2, 0.1], [0, 0, 1], n_samples=200, seed=0)
    # P(no error among 3 draws) = (2/3)^3 ≈ 0.3, so roughly 60 of 200 resamples are skipped.
    assert 100 < result.n_valid < 190
    assert (
        paired_bootstrap("brier", [0.1, 0.2, 0.9], [0, 0, 1], [0.3] * 3, [0, 0, 1], n_samples=200).n_valid
        == 200
    )


def test_thousand_resamples_of_two_thousand_rows_is_fast() -> None:
    u_a, u_b, e, _ = _gaussian_scores(2000, seed=4)
    start = time.perf_counter()
    result = _auroc_difference(u_a, u_b, e, n_samples=1000, seed=0)
    assert time.perf_counter() - start < 3.0
    assert result.n_valid == 1000
