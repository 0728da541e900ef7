"""Windows by rows and by time, per model version, and the reports over them."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from alien.monitoring.windows import monitor_windows, split_windows


def _log(
    n: int, *, version: str = "1", start: str = "2024-05-01T00:00:00Z", every: str = "1min"
) -> pd.DataFrame:
    rng = np.random.default_rng(n)
    return pd.DataFrame(
        {
            "time": pd.date_range(start, periods=n, freq=every, tz="UTC"),
            "model_version": version,
            "u": rng.beta(1, 6, size=n),
            "abstain": False,
            "label": "a",
            "true_label": pd.Series([None] * n, dtype=object),
        }
    )


def test_row_windows_are_stable_blocks_per_version() -> None:
    frame = pd.concat([_log(450), _log(120, version="2")], ignore_index=True)
    windows = split_windows(frame, by="rows", size=200)
    assert [(w.model_version, w.window, w.index, len(w.rows)) for w in windows] == [
        ("1", "rows 0-199", 0, 200),
        ("1", "rows 200-399", 1, 200),
    ]
    grown = pd.concat([frame, _log(200, version="2", start="2024-06-01T00:00:00Z")], ignore_index=True)
    again = split_windows(grown, by="rows", size=200)
    assert [w.window for w in again] == ["rows 0-199", "rows 200-399", "rows 0-199"]
    assert again[0].rows["u"].tolist() == windows[0].rows["u"].tolist()


def test_partial_row_window_on_request() -> None:
    windows = split_windows(_log(450), by="rows", size=200, complete_only=False)
    assert [(w.window, len(w.rows)) for w in windows][-1] == ("rows 400-599", 50)


def test_time_windows_include_empty_gaps() -> None:
    frame = pd.concat(
        [_log(3, start="2024-05-01T10:05:00Z"), _log(2, start="2024-05-01T13:10:00Z")], ignore_index=True
    )
    windows = split_windows(frame, by="time", every="1h")
    assert [(w.window, len(w.rows)) for w in windows] == [
        ("2024-05-01T10:00:00Z", 3),
        ("2024-05-01T11:00:00Z", 0),
        ("2024-05-01T12:00:00Z", 0),
        ("2024-05-01T13:00:00Z", 2),
    ]
    indices = [w.index for w in windows]
    assert indices == list(range(indices[0], indices[0] + 4))


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"by": "rows", "size": 0}, "size"),
        ({"by": "rows"}, "size"),
        ({"by": "time", "every": "soon"}, "every"),
        ({"by": "time", "every": "-1h"}, "positive"),
        ({"by": "days"}, "by must be"),
    ],
)
def test_bad_window_options_are_named(kwargs: dict[str, object], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        split_windows(_log(5), **kwargs)  # type: ignore[arg-type]


def test_monitor_reports_each_window_with_drift() -> None:
    rng = np.random.default_rng(0)
    frame = _log(400)
    frame.loc[200:, "u"] = rng.beta(3, 3, size=200)  # the second window's u moved
    reports = monitor_windows(
        frame, target_risk=0.1, size=200, reference_u=rng.beta(1, 6, size=1000), drift_alpha=0.01
    )
    assert [r.window for r in reports] == ["rows 0-199", "rows 200-399"]
    assert [r.drift[0].significant for r in reports] == [False, True]
    assert reports[1].estimated_error == pytest.approx(frame["u"].iloc[200:].mean())


def test_monitor_tests_feature_drift_on_the_window_rows() -> None:
    rng = np.random.default_rng(1)
    frame = _log(400)
    features = rng.normal(size=(400, 8))
    features[200:, 2] += 1.0
    reports = monitor_windows(
        frame, target_risk=0.1, size=200, reference_features=rng.normal(size=(1000, 8)), features=features
    )
    assert [(r.drift[0].name, r.drift[0].significant) for r in reports] == [
        ("features", False),
        ("features", True),
    ]
    with pytest.raises(ValueError, match=r"features must be \(400, D\)"):
        monitor_windows(frame, target_risk=0.1, reference_features=features, features=features[:10])


def test_rows_without_features_are_left_out_of_their_windows_feature_test() -> None:
    rng = np.random.default_rng(2)
    frame = _log(400)
    features = rng.normal(size=(400, 8))
    features[200:, 2] += 1.0
    features[::4] = np.nan  # a quarter of the rows were logged without their text
    features[200:399] = np.nan  # the second window keeps one row: too few to test
    reports = monitor_windows(
        frame,
        target_risk=0.1,
        size=200,
        reference_features=rng.normal(size=(1000, 8)),
        features=features,
        n_components=3,
    )
    first, second = (r.drift[0] for r in reports)
    assert (first.n_current, first.significant) == (150, False)
    assert first.note.startswith("largest shift in principal component")
    assert (second.n_current, second.p_value, second.significant) == (1, None, False)


def test_monitor_on_an_empty_log_gives_no_windows_and_empty_gaps_say_so() -> None:
    assert monitor_windows(_log(0), target_risk=0.1) == []
    frame = pd.concat(
        [_log(1, start="2024-05-01T10:00:00Z"), _log(3, start="2024-05-01T12:00:00Z")], ignore_index=True
    )
    reports = monitor_windows(frame, target_risk=0.1, by="time", every="1h")
    assert [r.status for r in reports] == ["one_row", "empty", "ok"]
