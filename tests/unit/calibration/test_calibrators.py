"""Calibration maps on synthetic scores whose true ``P(error | u)`` is known."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
from scipy.special import expit, logit
from sklearn.isotonic import IsotonicRegression

from alien.calibration import (
    CALIBRATORS,
    BetaCalibrator,
    CentredIsotonicCalibrator,
    IsotonicCalibrator,
    PlattCalibrator,
    calibrator_from_dict,
    make_calibrator,
)
from alien.metrics import roc_auc

GRID = np.linspace(0.0, 1.0, 2001)
INTERIOR = np.linspace(0.02, 0.98, 97)


def _draw(n: int, seed: int, truth=lambda u: expit(2.0 * logit(u) - 1.0)) -> tuple[np.ndarray, np.ndarray]:
    """``u ~ U(0, 1)`` and ``error ~ Bernoulli(truth(u))``."""
    rng = np.random.default_rng(seed)
    u = rng.uniform(0.0, 1.0, size=n)
    return u, (rng.uniform(size=n) < truth(u)).astype(int)


@pytest.mark.parametrize("name", sorted(CALIBRATORS))
def test_map_is_non_decreasing_and_in_unit_interval(name: str) -> None:
    g = make_calibrator(name).fit(*_draw(3000, seed=0))
    p = g(GRID)
    assert p.dtype == np.float64 and p.shape == GRID.shape
    assert (np.diff(p) >= 0).all()
    assert p.min() >= 0.0 and p.max() <= 1.0


@pytest.mark.parametrize("name", ["platt", "beta"])
def test_strict_maps_strictly_increase_and_keep_roc_auc(name: str) -> None:
    u, e = _draw(3000, seed=1)
    g = make_calibrator(name).fit(u, e)
    assert g.strictly_monotone
    assert (np.diff(g(GRID[1:-1])) > 0).all()
    u_test, e_test = _draw(2000, seed=2)
    assert roc_auc(g(u_test), e_test) == pytest.approx(roc_auc(u_test, e_test), abs=1e-12)


def test_isotonic_ties_lose_ranking_that_centred_isotonic_keeps() -> None:
    u, e = _draw(400, seed=3)
    u_test, e_test = _draw(4000, seed=4)
    raw = roc_auc(u_test, e_test)
    step = IsotonicCalibrator().fit(u, e)
    centred = CentredIsotonicCalibrator().fit(u, e)
    assert len(np.unique(step(u_test))) < len(u_test) / 4  # blocks pool many rows
    assert roc_auc(step(u_test), e_test) < raw - 1e-3
    inside = (u_test > centred.x[0]) & (u_test < centred.x[-1])
    assert (np.diff(centred(np.sort(u_test[inside]))) > 0).all()
    assert abs(roc_auc(centred(u_test), e_test) - raw) < abs(roc_auc(step(u_test), e_test) - raw)


@pytest.mark.parametrize(("name", "tolerance"), [("platt", 0.02), ("beta", 0.02), ("isotonic", 0.06)])
def test_fits_known_error_model(name: str, tolerance: float) -> None:
    truth = lambda u: expit(2.0 * logit(u) - 1.0)  # noqa: E731  (in Platt's and beta's families)
    g = make_calibrator(name).fit(*_draw(20000, seed=5, truth=truth))
    assert np.abs(g(INTERIOR) - truth(INTERIOR)).max() < tolerance


def test_centred_isotonic_fits_known_error_model() -> None:
    truth = lambda u: 0.05 + 0.6 * u**2  # noqa: E731
    g = CentredIsotonicCalibrator().fit(*_draw(20000, seed=6, truth=truth))
    assert np.abs(g(INTERIOR) - truth(INTERIOR)).mean() < 0.02


def test_beta_recovers_asymmetric_model_platt_cannot() -> None:
    # In beta's family (a = 2.5, b = 0.5, c = 1) but not Platt's (a != b).
    truth = lambda u: expit(2.5 * np.log(u) - 0.5 * np.log1p(-u) + 1.0)  # noqa: E731
    u, e = _draw(40000, seed=7, truth=truth)
    beta, platt = BetaCalibrator().fit(u, e), PlattCalibrator().fit(u, e)
    assert beta.a == pytest.approx(2.5, rel=0.1)
    assert beta.b == pytest.approx(0.5, abs=0.15)
    assert beta.c == pytest.approx(1.0, abs=0.25)
    beta_gap = np.abs(beta(INTERIOR) - truth(INTERIOR)).max()
    platt_gap = np.abs(platt(INTERIOR) - truth(INTERIOR)).max()
    assert beta_gap < 0.02 < platt_gap


def test_isotonic_matches_scikit_learn() -> None:
    u, e = _draw(500, seed=8)
    reference = IsotonicRegression(y_min=0, y_max=1, out_of_bounds="clip").fit(u, e)
    assert IsotonicCalibrator().fit(u, e)(GRID) == pytest.approx(reference.predict(GRID), abs=1e-12)


def test_platt_never_decreases_when_errors_fall_with_u() -> None:
    u, e = _draw(2000, seed=9, truth=lambda u: 0.9 - 0.8 * u)
    g = PlattCalibrator().fit(u, e)
    assert g.slope == 0.0
    assert g(GRID) == pytest.approx(np.full(GRID.size, e.mean()), abs=1e-6)


@pytest.mark.parametrize("name", sorted(CALIBRATORS))
def test_json_round_trip_is_exact(name: str) -> None:
    g = make_calibrator(name).fit(*_draw(1000, seed=10))
    text = json.dumps(g.to_dict())
    restored = calibrator_from_dict(json.loads(text))
    assert type(restored) is type(g)
    u = np.random.default_rng(11).uniform(size=5000)
    assert np.array_equal(restored(u), g(u))
    assert json.dumps(restored.to_dict()) == text


def test_unknown_names_list_the_choices() -> None:
    with pytest.raises(ValueError, match=r"unknown calibrator 'spline'.*'beta'.*'platt'"):
        make_calibrator("spline")
    with pytest.raises(ValueError, match=r"unknown calibrator 'spline'.*'isotonic'"):
        calibrator_from_dict({"name": "spline", "params": {}})


@pytest.mark.parametrize(
    ("u", "errors", "match"),
    [
        ([0.1, np.nan], [0, 1], "NaN"),
        ([0.1, 1.5], [0, 1], r"must lie in \[0, 1\]"),
        ([[0.1, 0.2]], [0, 1], "1-D"),
        ([], [], "non-empty"),
        ([0.1, 0.2], [0, 1, 1], "disagree on the number of rows"),
        ([0.1, 0.2], [0, 2], "0/1"),
        ([0.1, 0.2], [1, 1], "fitting a calibrator needs both errors and correct rows"),
    ],
)
def test_bad_fit_inputs_raise(u: list, errors: list, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        PlattCalibrator().fit(u, errors)


def test_non_numeric_and_unfitted_raise() -> None:
    with pytest.raises(TypeError, match="u must be a numeric array"):
        BetaCalibrator().fit(["a", "b"], [0, 1])
    with pytest.raises(RuntimeError, match="not fitted"):
        IsotonicCalibrator()([0.5])
    with pytest.raises(RuntimeError, match="not fitted"):
        BetaCalibrator().to_dict()


@pytest.mark.parametrize(
    ("data", "match"),
    [
        ({"name": "beta", "params": {"a": 1.0, "b": 1.0}}, "lack 'c'"),
        ({"name": "beta", "params": {"a": -1.0, "b": 1.0, "c": 0.0}}, "must be >= 0"),
        ({"name": "platt", "params": {"slope": float("nan"), "intercept": 0.0}}, "finite"),
        ({"name": "isotonic", "params": {"x": [0.2, 0.1], "y": [0.0, 1.0]}}, "strictly increase"),
        ({"name": "centred_isotonic", "params": {"x": [0.1, 0.2], "y": [0.5, 0.1]}}, "must not decrease"),
        ({"params": {}}, "'name' key"),
    ],
)
def test_bad_saved_maps_raise(data: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        calibrator_from_dict(data)


def test_from_dict_of_another_calibrator_raises() -> None:
    saved = PlattCalibrator().fit(*_draw(200, seed=12)).to_dict()
    with pytest.raises(ValueError, match=re.escape("expected {'name': 'beta'")):
        BetaCalibrator.from_dict(saved)
