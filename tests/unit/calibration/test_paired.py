"""The generic paired bootstrap and the non-inferiority test behind docs/gates.md."""

from __future__ import annotations

import numpy as np
import pytest

from alien.calibration.paired import non_inferiority, paired_bootstrap
from alien.metrics import brier_score, expected_calibration_error, paired_bootstrap_auroc_difference, roc_auc


def _rows(n: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """True error probability p, a noisy copy of it, and errors drawn from p."""
    rng = np.random.default_rng(seed)
    p = rng.beta(1.0, 4.0, size=n)
    noisy = np.clip(p + rng.normal(scale=0.15, size=n), 0.0, 1.0)
    return p, noisy, (rng.uniform(size=n) < p).astype(int)


def _brier_of_error_probability(u: np.ndarray, errors: np.ndarray) -> float:
    return brier_score(1.0 - u, 1 - errors)


def test_roc_auc_case_equals_the_dedicated_auroc_bootstrap() -> None:
    p, noisy, e = _rows(400, 0)
    generic = paired_bootstrap(roc_auc, p, noisy, e, n_samples=300, seed=7)
    dedicated = paired_bootstrap_auroc_difference(p, noisy, e, n_samples=300, seed=7)
    assert generic.delta == pytest.approx(dedicated.delta, abs=1e-12)
    assert (generic.low, generic.high) == pytest.approx((dedicated.low, dedicated.high), abs=1e-12)
    assert generic.n_valid == dedicated.n_valid


def test_brier_improvement_is_significant_and_reversal_flips_the_sign() -> None:
    p, noisy, e = _rows(2000, 1)
    better = paired_bootstrap(_brier_of_error_probability, p, noisy, e, n_samples=500)
    assert better.high < 0.0  # lower Brier: the interval lies below zero
    worse = paired_bootstrap(_brier_of_error_probability, noisy, p, e, n_samples=500)
    assert worse.delta == pytest.approx(-better.delta) and worse.low > 0.0


def test_identical_scores_give_a_zero_interval() -> None:
    p, _, e = _rows(300, 2)
    r = paired_bootstrap(expected_calibration_error, 1 - p, 1 - p, 1 - e, n_samples=100)
    assert r.delta == r.low == r.high == 0.0


def test_non_inferiority_pass_and_fail() -> None:
    p, noisy, e = _rows(2000, 3)
    same = non_inferiority(roc_auc, p, p, e, margin=0.005, higher_is_better=True, n_samples=200)
    assert same.passed and same.delta == 0.0
    worse = non_inferiority(roc_auc, noisy, p, e, margin=0.005, higher_is_better=True, n_samples=300)
    assert not worse.passed and worse.bound < -0.005
    # Lower-is-better metrics are signed so that positive still means "challenger better".
    calib = non_inferiority(_brier_of_error_probability, p, noisy, e, margin=0.0, higher_is_better=False)
    assert calib.passed and calib.delta > 0 and calib.bound > 0
    calib_worse = non_inferiority(
        _brier_of_error_probability, noisy, p, e, margin=0.001, higher_is_better=False
    )
    assert not calib_worse.passed


def test_small_sample_cannot_show_non_inferiority_at_zero_margin() -> None:
    p, noisy, e = _rows(60, 4)
    # The challenger is the truth itself, but 60 rows are too few to exclude any loss at all.
    r = non_inferiority(roc_auc, p, p + 0.0 * noisy, e, margin=0.0, higher_is_better=True)
    assert not r.passed and r.bound == 0.0


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"n_samples": 0}, "n_samples must be a positive integer"),
        ({"confidence": 1.0}, r"confidence must lie in \(0, 1\)"),
    ],
)
def test_bad_bootstrap_options_raise(kwargs: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        paired_bootstrap(roc_auc, [0.1, 0.9], [0.2, 0.8], [0, 1], **kwargs)


def test_bad_inputs_raise() -> None:
    with pytest.raises(ValueError, match="same number of rows"):
        paired_bootstrap(roc_auc, [0.1, 0.9], [0.2], [0, 1])
    calls = []

    def only_on_full_data(scores: np.ndarray, target: np.ndarray) -> float:
        calls.append(1)
        if len(calls) > 2:  # the two full-data calls succeed, every resample fails
            raise ValueError("resample")
        return 0.0

    with pytest.raises(ValueError, match="failed on every one of 5 resamples"):
        paired_bootstrap(only_on_full_data, [0.1, 0.9], [0.2, 0.8], [0, 1], n_samples=5)
    with pytest.raises(ValueError, match="margin must be >= 0"):
        non_inferiority(roc_auc, [0.1, 0.9], [0.2, 0.8], [0, 1], margin=-0.1, higher_is_better=True)
    with pytest.raises(ValueError, match=r"alpha must lie in \(0, 0.5\)"):
        non_inferiority(roc_auc, [0.1, 0.9], [0.2, 0.8], [0, 1], margin=0.0, higher_is_better=True, alpha=0.5)
