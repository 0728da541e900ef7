"""``calibration.method: auto`` chooses the map per model by cross-validated Brier on held-out rows."""

from __future__ import annotations

import numpy as np
import pytest

from alien.core.calibrate import AUTO_CANDIDATES, choose_calibration_method, fit_calibration


def _rows(n: int, miscalibrated: bool, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    p_error = rng.uniform(0.0, 0.6, size=n)
    errors = (rng.uniform(size=n) < p_error).astype(np.int64)
    u = np.sqrt(p_error) if miscalibrated else p_error  # sqrt inflates every u: a map must pull it down
    return u, errors


def test_an_already_calibrated_u_keeps_none_or_a_map_scoring_alike():
    u, errors = _rows(4000, miscalibrated=False)
    chosen, scores = choose_calibration_method(u, errors)
    assert set(scores) == set(AUTO_CANDIDATES)
    assert scores[chosen] == min(scores.values())
    assert scores["none"] - scores[chosen] < 0.002


def test_a_miscalibrated_u_gets_a_map_and_none_scores_worse():
    u, errors = _rows(4000, miscalibrated=True)
    chosen, scores = choose_calibration_method(u, errors)
    assert chosen != "none"
    assert scores["none"] > scores[chosen] + 0.01


def test_plain_isotonic_is_not_a_candidate():
    assert "isotonic" not in AUTO_CANDIDATES and "none" in AUTO_CANDIDATES


def test_the_choice_depends_on_the_rows_alone_and_is_repeatable():
    u, errors = _rows(600, miscalibrated=True, seed=3)
    assert choose_calibration_method(u, errors) == choose_calibration_method(u.copy(), errors.copy())


def test_too_few_errors_are_refused_with_the_count():
    u = np.linspace(0.01, 0.99, 50)
    errors = np.zeros(50, dtype=np.int64)
    errors[10] = 1
    with pytest.raises(ValueError, match=r"at least 2 errors.*got 1 errors in 50 rows"):
        choose_calibration_method(u, errors)


def test_fit_calibration_auto_serves_the_chosen_map():
    u, errors = _rows(1000, miscalibrated=True, seed=1)
    chosen, _ = choose_calibration_method(u, errors)
    calibrator, rule = fit_calibration(
        u, errors, method="auto", target_risk=0.2, delta=0.1, split="validation"
    )
    assert (calibrator.name if calibrator is not None else "none") == chosen
    assert rule.split == "validation"
