"""The ten-second table: the numbers, the fired triggers, and what is missing."""

from __future__ import annotations

from alien.monitoring.drift import DriftResult
from alien.monitoring.estimate import WindowReport
from alien.monitoring.report import HEADER, NO_WINDOWS, render_windows
from alien.monitoring.triggers import Trigger

OK = WindowReport(
    model_version="3",
    window="rows 0-199",
    index=0,
    n=200,
    status="ok",
    note="",
    target_risk=0.1,
    confidence=0.95,
    estimated_error=0.123,
    estimated_error_low=0.08,
    estimated_error_high=0.166,
    abstention_rate=0.25,
    n_accepted=150,
    estimated_risk_accepted=0.07,
    n_labelled=40,
    realised_error=0.15,
    realised_risk_accepted=0.2,
    guarantee_p_value=0.004,
    drift=(DriftResult("u", "ks", 0.3, 0.0004, 0.05, True, 1000, 200),),
)
EMPTY = WindowReport(
    model_version="3",
    window="rows 200-399",
    index=1,
    n=0,
    status="empty",
    note="no rows in this window",
    target_risk=0.1,
    confidence=0.95,
)
FIRED = Trigger("drift_u", "3/rows 0-199", "3", "rows 0-199", "ks drift of u")


def test_markdown_table_shows_the_numbers_and_the_fired_trigger() -> None:
    table = render_windows([OK, EMPTY], triggers=[FIRED])
    lines = table.splitlines()
    assert len(lines) == 4 and lines[1].count("---") == len(HEADER)
    cells = [c.strip() for c in lines[2].strip("|").split("|")]
    assert cells == [
        "3",
        "rows 0-199",
        "200",
        "12.3% [8.0, 16.6]",
        "15.0% (n=40)",
        "25.0%",
        "7.0% est., 20.0% real (p=0.004) / 10.0%",
        "0.0004 (u)",
        "drift_u",
        "-",
    ]
    empty = [c.strip() for c in lines[3].strip("|").split("|")]
    assert empty[2:4] == ["0", "-"] and empty[-2:] == ["-", "empty: no rows in this window"]


def test_text_table_is_aligned() -> None:
    lines = render_windows([OK, EMPTY], style="text").splitlines()
    assert lines[0].startswith("version  window") and lines[1].index("rows 0-199") == lines[2].index(
        "rows 200-399"
    )


def test_nothing_to_show_says_so() -> None:
    assert render_windows([]) == NO_WINDOWS and "no windows" in NO_WINDOWS
