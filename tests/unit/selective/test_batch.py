"""Risk control for a known batch: the realised risk of small test sets, where the population bound is not enough."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import hypergeom

from alien.selective import (
    ABSTAIN_ALL,
    batch_p_values,
    choose_batch_threshold,
    choose_threshold,
    selective_risk,
)

TARGET, DELTA = 0.1, 0.1


def _draw(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Calibrated scores ``s ~ Beta(1, 4)``; a row is wrong with probability ``s``."""
    s = rng.beta(1.0, 4.0, size=n)
    return s, (rng.uniform(size=n) < s).astype(int)


@pytest.fixture(scope="module")
def small_batches() -> dict[str, np.ndarray]:
    """300 draws of 500 calibration and 500 batch rows: (realised batch risk, batch coverage) per method."""
    rng = np.random.default_rng(5)
    out: dict[str, list[tuple[float, float]]] = {"population": [], "batch": []}
    for _ in range(300):
        s_cal, e_cal = _draw(500, rng)
        s_batch, e_batch = _draw(500, rng)
        thresholds = {
            "population": choose_threshold(s_cal, e_cal, target_risk=TARGET, delta=DELTA).threshold,
            "batch": choose_batch_threshold(s_cal, e_cal, s_batch, target_risk=TARGET, delta=DELTA).threshold,
        }
        for name, t in thresholds.items():
            coverage, risk = selective_risk(s_batch, e_batch, t)
            out[name].append((risk, coverage))
    return {k: np.array(v) for k, v in out.items()}


def test_batch_bound_holds_on_the_realised_risk_of_small_batches(small_batches: dict) -> None:
    risk, coverage = small_batches["batch"].T
    assert (risk <= TARGET).mean() >= 1 - DELTA
    assert coverage.mean() > 0.25  # oracle coverage is 0.647; abstaining on everything would be 0
    population_risk, population_coverage = small_batches["population"].T
    # The population bound accepts more rows but its realised batch risk exceeds the target more often.
    assert (population_risk <= TARGET).mean() < (risk <= TARGET).mean()
    assert population_coverage.mean() > coverage.mean()


def test_p_value_is_the_least_favourable_hypergeometric_tail() -> None:
    # 200 calibration accepted with 10 errors, 150 batch accepted: H0 needs >= 16 batch errors (> 15 = 0.1 * 150).
    expected = hypergeom.cdf(10, 350, 10 + 16, 200)
    assert batch_p_values([200], [10], [150], TARGET)[0] == pytest.approx(expected, rel=1e-12)
    # Nothing accepted in the batch: its risk is 0, the null is false; nothing on the calibration side: no evidence.
    assert batch_p_values([0, 50], [0, 0], [0, 0], TARGET).tolist() == [0.0, 0.0]
    assert batch_p_values([0], [0], [30], TARGET).tolist() == [1.0]


def test_p_value_is_valid_under_the_least_favourable_null() -> None:
    # 300 accepted rows, 32 of them errors, split at random 150 / 150: the batch holds > 10% errors
    # (the null) in a fraction of splits; the p-value must be <= delta in at most delta of all splits.
    rng = np.random.default_rng(0)
    errors = np.r_[np.ones(32, dtype=int), np.zeros(268, dtype=int)]
    rejections = 0
    for _ in range(4000):
        perm = rng.permutation(errors)
        k_cal, k_batch = int(perm[:150].sum()), int(perm[150:].sum())
        p = batch_p_values([150], [k_cal], [150], TARGET)[0]
        rejections += int(k_batch > 15 and p <= DELTA)
    assert rejections / 4000 <= DELTA


def test_batch_with_no_certifiable_threshold_abstains_everywhere() -> None:
    s = np.full(40, 0.05)
    result = choose_batch_threshold(s, np.ones(40, dtype=int), s, target_risk=TARGET, delta=DELTA)
    assert not result.controlled and result.threshold == ABSTAIN_ALL


def test_batch_inputs_are_validated() -> None:
    with pytest.raises(ValueError, match="batch_scores must lie in"):
        choose_batch_threshold([0.1], [0], [1.2], target_risk=TARGET, delta=DELTA)
    with pytest.raises(ValueError, match="delta must lie in"):
        choose_batch_threshold([0.1], [0], [0.1], target_risk=TARGET, delta=0.0)
