"""One window's estimate: hand-computed numbers, coverage on calibrated u, and tiny windows."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.stats import binomtest

from alien.monitoring.estimate import error_interval, estimate_window


def _frame(u: list[float], abstain: list[bool], label: list[str], true: list[str | None]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "u": u,
            "abstain": abstain,
            "label": label,
            "true_label": pd.Series(true, dtype=object),
            "model_version": "4",
        }
    )


def test_empty_window_says_so() -> None:
    report = estimate_window(_frame([], [], [], []), target_risk=0.1, window="rows 0-199")
    assert (report.status, report.n, report.estimated_error) == ("empty", 0, None)
    assert report.note == "no rows in this window"
    assert report.key == "/rows 0-199"


def test_one_row_window_says_so_and_gives_no_interval_or_test() -> None:
    report = estimate_window(_frame([0.3], [False], ["a"], ["b"]), target_risk=0.1)
    assert report.status == "one_row" and report.note.startswith("one row")
    assert report.estimated_error == pytest.approx(0.3)
    assert report.estimated_error_low is None and report.estimated_error_high is None
    assert report.u_sd is None and report.guarantee_p_value is None
    assert report.realised_error == 1.0


def test_unlabelled_numbers_by_hand() -> None:
    u = [0.1, 0.2, 0.3, 0.4]
    report = estimate_window(_frame(u, [False, False, False, True], ["a"] * 4, [None] * 4), target_risk=0.2)
    half = 1.959964 * np.sqrt(0.09 + 0.16 + 0.21 + 0.24) / 4
    assert report.estimated_error == pytest.approx(0.25)
    assert report.estimated_error_high == pytest.approx(0.25 + half, abs=1e-6)
    assert report.estimated_error_low == 0.0  # clipped
    assert report.abstention_rate == pytest.approx(0.25) and report.n_accepted == 3
    assert report.estimated_risk_accepted == pytest.approx(0.2)
    assert report.n_labelled == 0 and report.realised_error is None and report.ece is None
    assert report.status == "ok" and "rough" in report.note
    assert report.model_version == "4"


def test_labelled_numbers_by_hand() -> None:
    u = [0.1, 0.9, 0.2, 0.6, 0.5]
    frame = _frame(
        u, [False, True, False, False, False], ["a", "a", "b", "b", "a"], ["a", "b", "a", "b", None]
    )
    report = estimate_window(frame, target_risk=0.1, n_bins=2)
    # labelled rows 0-3: errors [0, 1, 1, 0]; accepted labelled rows 0, 2, 3 with errors [0, 1, 0]
    assert (report.n_labelled, report.realised_error) == (4, 0.5)
    assert report.brier == pytest.approx(np.mean((np.array([0.1, 0.9, 0.2, 0.6]) - [0, 1, 1, 0]) ** 2))
    # confidences 0.9, 0.1, 0.8, 0.4 -> bins (0, .5]: {0.1, 0.4} acc 0.5, (.5, 1]: {0.9, 0.8} acc 0.5
    assert report.ece == pytest.approx(0.5 * abs(0.5 - 0.25) + 0.5 * abs(0.5 - 0.85))
    assert report.n_labelled_accepted == 3 and report.realised_risk_accepted == pytest.approx(1 / 3)
    assert report.guarantee_p_value == pytest.approx(binomtest(1, 3, 0.1, alternative="greater").pvalue)


def test_no_labelled_accepted_rows_is_noted() -> None:
    report = estimate_window(_frame([0.1, 0.9], [True, True], ["a", "a"], ["a", "b"]), target_risk=0.1)
    assert report.guarantee_p_value is None and "guarantee is not tested" in report.note
    assert report.estimated_risk_accepted is None and report.abstention_rate == 1.0


def test_interval_covers_the_realised_error_of_calibrated_windows() -> None:
    rng = np.random.default_rng(19)
    covered, gaps = [], []
    for _ in range(400):
        u = rng.beta(1.0, 6.0, size=200)
        wrong = rng.uniform(size=200) < u  # calibrated: P(wrong) = u
        est, low, high = error_interval(u)
        covered.append(low <= wrong.mean() <= high)
        gaps.append(abs(est - wrong.mean()))
    assert 0.92 <= np.mean(covered) <= 0.98  # nominal 0.95
    assert np.mean(gaps) < 0.025


def test_interval_misses_when_u_is_not_calibrated() -> None:
    rng = np.random.default_rng(3)
    u = rng.beta(1.0, 6.0, size=2000)
    wrong = rng.uniform(size=2000) < np.minimum(1.0, 2 * u)  # twice as many errors as u says
    _, low, high = error_interval(u)
    assert not low <= wrong.mean() <= high


def test_a_window_holds_one_model_version() -> None:
    frame = pd.concat(
        [
            _frame([0.1], [False], ["a"], [None]),
            _frame([0.2], [False], ["a"], [None]).assign(model_version="5"),
        ]
    )
    with pytest.raises(ValueError, match=r"\['4', '5'\]"):
        estimate_window(frame, target_risk=0.1)


@pytest.mark.parametrize(
    ("kwargs", "named"),
    [({"target_risk": 1.0}, "target_risk"), ({"target_risk": 0.1, "confidence": 0}, "confidence")],
)
def test_bad_levels_are_refused(kwargs: dict[str, float], named: str) -> None:
    with pytest.raises(ValueError, match=named):
        estimate_window(_frame([0.1], [False], ["a"], [None]), **kwargs)  # type: ignore[arg-type]


def test_missing_columns_are_named() -> None:
    with pytest.raises(ValueError, match=r"lacks columns \['abstain'\]"):
        estimate_window(pd.DataFrame({"u": [0.1], "label": ["a"]}), target_risk=0.1)


def test_metrics_are_the_defined_numbers() -> None:
    report = estimate_window(_frame([0.1, 0.3], [False, False], ["a", "a"], [None, None]), target_risk=0.1)
    metrics = report.metrics()
    assert metrics["estimated_error"] == pytest.approx(0.2) and metrics["n"] == 2.0
    assert "realised_error" not in metrics and "target_risk" not in metrics
