"""A short table of window reports that a person reads in ten seconds.

One line per window: rows, the estimated error with its interval next to the
realised error (when labels exist), the abstention rate, the risk among
accepted rows against the target, the smallest drift p-value with what drifted
(``u``, or ``features``: the monitor's notes name that test), the triggers that
fired, and a note. Numbers that are undefined show as ``-``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from alien.monitoring.estimate import WindowReport
    from alien.monitoring.triggers import Trigger

HEADER = (
    "version",
    "window",
    "rows",
    "est. error [CI]",
    "realised",
    "abstain",
    "risk acc. / target",
    "drift p",
    "fired",
    "note",
)
NO_WINDOWS = "no windows: the log holds no rows for this selection (or no complete window yet)"


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.1f}%"


def _estimate(r: WindowReport) -> str:
    if r.estimated_error is None:
        return "-"
    if r.estimated_error_low is None or r.estimated_error_high is None:
        return _pct(r.estimated_error)
    return (
        f"{_pct(r.estimated_error)} [{100 * r.estimated_error_low:.1f}, {100 * r.estimated_error_high:.1f}]"
    )


def _risk(r: WindowReport) -> str:
    if r.estimated_risk_accepted is None:
        return f"- / {_pct(r.target_risk)}"
    shown = f"{_pct(r.estimated_risk_accepted)} est."
    if r.realised_risk_accepted is not None:
        shown += f", {_pct(r.realised_risk_accepted)} real"
        if r.guarantee_p_value is not None:
            shown += f" (p={r.guarantee_p_value:.2g})"
    return f"{shown} / {_pct(r.target_risk)}"


def _drift(r: WindowReport) -> str:
    tested = [d for d in r.drift if d.p_value is not None]
    if not tested:
        return "-"
    worst = min(tested, key=lambda d: d.p_value if d.p_value is not None else 1.0)
    return f"{worst.p_value:.2g} ({worst.name})"


def window_row(r: WindowReport, fired: Sequence[str] = ()) -> tuple[str, ...]:
    """The cells of one window's line."""
    realised = "-" if r.realised_error is None else f"{_pct(r.realised_error)} (n={r.n_labelled})"
    note = r.note if r.status == "ok" else f"{r.status}: {r.note}"
    return (
        r.model_version,
        r.window,
        str(r.n),
        _estimate(r),
        realised,
        _pct(r.abstention_rate),
        _risk(r),
        _drift(r),
        ", ".join(fired) or "-",
        note or "-",
    )


def render_windows(
    reports: Sequence[WindowReport],
    *,
    triggers: Sequence[Trigger] = (),
    style: Literal["markdown", "text"] = "markdown",
) -> str:
    """The windows as a markdown (or aligned plain-text) table.

    Args:
        reports: the windows, in the order to show.
        triggers: triggers that fired; each shows on its window's line.
        style: ``"markdown"`` (for a Prefect artifact) or ``"text"`` (for a terminal).

    Raises:
        ValueError: an unknown ``style``.

    >>> render_windows([])
    'no windows: the log holds no rows for this selection (or no complete window yet)'
    """
    if style not in ("markdown", "text"):
        raise ValueError(f"style must be 'markdown' or 'text', got {style!r}")
    if not reports:
        return NO_WINDOWS
    fired: dict[str, list[str]] = {}
    for t in triggers:
        fired.setdefault(t.window_key, []).append(t.name)
    rows = [HEADER, *(window_row(r, fired.get(r.key, ())) for r in reports)]
    if style == "markdown":
        lines = ["| " + " | ".join(c.replace("|", "\\|") for c in row) + " |" for row in rows]
        lines.insert(1, "|" + "|".join("---" for _ in HEADER) + "|")
        return "\n".join(lines)
    widths = [max(len(row[i]) for row in rows) for i in range(len(HEADER))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in rows)
