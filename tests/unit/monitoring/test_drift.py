"""Drift tests: they fire on shifted samples, and rarely on samples from the reference's distribution."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import ks_2samp

from alien.monitoring.drift import feature_drift, u_drift


def test_u_drift_fires_on_a_shift_and_not_on_the_same_distribution() -> None:
    rng = np.random.default_rng(7)
    reference = rng.beta(1.0, 6.0, size=1000)
    shifted = u_drift(reference, rng.beta(1.5, 4.0, size=200), alpha=0.01)
    same = u_drift(reference, rng.beta(1.0, 6.0, size=200), alpha=0.01)
    assert shifted.significant and shifted.p_value is not None and shifted.p_value < 0.01
    assert not same.significant and same.p_value is not None and same.p_value >= 0.01
    assert (shifted.name, shifted.method, shifted.n_reference, shifted.n_current) == ("u", "ks", 1000, 200)


def test_u_drift_is_scipys_ks_test() -> None:
    rng = np.random.default_rng(1)
    a, b = rng.uniform(size=300), rng.uniform(size=100) ** 1.2
    result = u_drift(a, b)
    expected = ks_2samp(a, b)
    assert result.statistic == pytest.approx(expected.statistic)
    assert result.p_value == pytest.approx(expected.pvalue)


def test_false_alarm_rate_is_about_alpha() -> None:
    rng = np.random.default_rng(11)
    reference = rng.beta(1.0, 6.0, size=1000)
    alarms = [u_drift(reference, rng.beta(1.0, 6.0, size=200), alpha=0.05).significant for _ in range(300)]
    assert np.mean(alarms) <= 0.09


def test_feature_drift_fires_on_one_moved_dimension_and_names_it() -> None:
    rng = np.random.default_rng(5)
    reference = rng.normal(size=(1000, 32))
    current = rng.normal(size=(200, 32))
    current[:, 17] += 0.6
    result = feature_drift(reference, current, alpha=0.01)
    assert result.significant and result.note == "largest shift in dimension 17"
    same = feature_drift(reference, rng.normal(size=(200, 32)), alpha=0.01)
    assert not same.significant and same.p_value is not None and same.p_value >= 0.01


def test_feature_drift_p_value_is_bonferroni_of_the_per_dimension_tests() -> None:
    rng = np.random.default_rng(2)
    reference, current = rng.normal(size=(300, 4)), rng.normal(size=(100, 4)) + 0.1
    per_dim = [ks_2samp(reference[:, d], current[:, d]).pvalue for d in range(4)]
    assert feature_drift(reference, current).p_value == pytest.approx(min(1.0, 4 * min(per_dim)))


def test_feature_drift_on_principal_components() -> None:
    rng = np.random.default_rng(9)
    mixing = rng.normal(size=(3, 64))
    reference = rng.normal(size=(1000, 3)) @ mixing + 0.1 * rng.normal(size=(1000, 64))
    moved = rng.normal(size=(200, 3)) + np.array([1.0, 0.0, 0.0])
    current = moved @ mixing + 0.1 * rng.normal(size=(200, 64))
    result = feature_drift(reference, current, alpha=0.01, n_components=3)
    assert result.significant and result.note.startswith("largest shift in principal component")
    same = (rng.normal(size=(200, 3))) @ mixing + 0.1 * rng.normal(size=(200, 64))
    assert not feature_drift(reference, same, alpha=0.01, n_components=3).significant


def test_too_small_windows_are_not_tested_and_say_so() -> None:
    reference = np.linspace(0, 1, 50)
    for current in ([], [0.3]):
        result = u_drift(reference, current)
        assert result.p_value is None and not result.significant and "needs at least 2" in result.note
    empty = feature_drift(np.ones((10, 3)), np.empty((0, 3)))
    assert empty.p_value is None and not empty.significant and empty.n_current == 0


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: u_drift([0.1, 0.2], [0.1, 0.2], alpha=1.5), "alpha"),
        (lambda: u_drift([0.1], [0.1, 0.2]), "reference_u needs at least 2"),
        (lambda: u_drift([0.1, float("nan")], [0.1, 0.2]), "NaN"),
        (lambda: feature_drift(np.ones((5, 3)), np.ones((5, 4))), "4 dimensions, reference has 3"),
        (lambda: feature_drift(np.ones((5, 3)), np.ones((5, 3)), n_components=0), "n_components"),
    ],
)
def test_bad_inputs_are_refused(call: object, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        call()  # type: ignore[operator]
