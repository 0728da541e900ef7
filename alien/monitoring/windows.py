"""Cut the log into windows of one model version, and report each (estimate + drift).

Windows by rows are consecutive blocks of ``size`` rows of one version, oldest
first, so window ``i`` always holds the same rows of an append-only log and its
id (``"rows 400-599"``) is stable from one monitor run to the next; a trailing
block that is not full yet is left out unless asked for. Windows by time are
the UTC intervals ``[start, start + every)`` aligned to the epoch, with an empty
window for every gap between a version's first and last row (so quiet periods
show up as such).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Any, Literal

import numpy as np
import pandas as pd

from alien.monitoring.drift import DriftResult, check_alpha, feature_drift, u_drift
from alien.monitoring.estimate import WindowReport, estimate_window

WindowBy = Literal["rows", "time"]


@dataclass(frozen=True, eq=False)
class Window:
    """One window: the version its rows were served by, its id, its position, and its rows."""

    model_version: str
    window: str
    index: int
    rows: pd.DataFrame


def _check_size(size: Any) -> int:
    if isinstance(size, bool) or not isinstance(size, int) or size < 1:
        raise ValueError(f"size must be a positive number of rows, got {size!r}")
    return size


def _check_every(every: Any) -> pd.Timedelta:
    try:
        step = pd.Timedelta(every)
    except (TypeError, ValueError) as err:
        raise ValueError(f"every must be a duration such as '1h' or '1D', got {every!r}") from err
    if step <= pd.Timedelta(0):
        raise ValueError(f"every must be a positive duration, got {every!r}")
    return step


def split_windows(
    frame: pd.DataFrame,
    *,
    by: WindowBy,
    size: int | None = None,
    every: str | timedelta | None = None,
    complete_only: bool = True,
) -> list[Window]:
    """The windows of the log, per model version.

    Args:
        frame: :func:`alien.monitoring.log.read_log`'s frame (``time`` and
            ``model_version`` columns), oldest first.
        by: ``"rows"`` (blocks of ``size`` rows) or ``"time"`` (intervals of ``every``).
        size: rows per window, for ``by="rows"``.
        every: window length (``"1h"``, ``"1D"``, a timedelta), for ``by="time"``.
        complete_only: by rows, leave out a trailing block of fewer than ``size`` rows.

    Returns:
        One :class:`Window` per window; ``index`` counts blocks by rows, and
        intervals since the epoch by time.

    Raises:
        ValueError: an unknown ``by``, or a missing/bad ``size``/``every``.
    """
    if by not in ("rows", "time"):
        raise ValueError(f"by must be 'rows' or 'time', got {by!r}")
    out: list[Window] = []
    if by == "rows":
        n = _check_size(size)
        for version, rows in _by_version(frame):
            last = len(rows) // n if complete_only else -(-len(rows) // n)
            out += [
                Window(version, f"rows {i * n}-{i * n + n - 1}", i, rows.iloc[i * n : i * n + n])
                for i in range(last)
            ]
        return out
    step = _check_every(every)
    for version, rows in _by_version(frame):
        if rows.empty:
            continue
        starts = pd.to_datetime(rows["time"], utc=True).dt.floor(step)
        for start in pd.date_range(starts.iloc[0], starts.iloc[-1], freq=step):
            index = int((start - pd.Timestamp(0, tz="UTC")) // step)
            out.append(Window(version, start.strftime("%Y-%m-%dT%H:%M:%SZ"), index, rows[starts == start]))
    return out


def _by_version(frame: pd.DataFrame) -> list[tuple[str, pd.DataFrame]]:
    if frame.empty:
        return []
    versions = frame["model_version"].astype(str)
    return [(v, frame[versions == v].sort_values("time", kind="stable")) for v in sorted(set(versions))]


def monitor_windows(
    frame: pd.DataFrame,
    *,
    target_risk: float,
    by: WindowBy = "rows",
    size: int | None = 200,
    every: str | timedelta | None = None,
    complete_only: bool = True,
    reference_u: Any = None,
    reference_features: Any = None,
    features: Any = None,
    n_components: int | None = None,
    drift_alpha: float = 0.05,
    confidence: float = 0.95,
) -> list[WindowReport]:
    """One :class:`~.estimate.WindowReport` per window, with drift tests where a reference is given.

    Args:
        frame: :func:`alien.monitoring.log.read_log`'s frame.
        target_risk: the guarantee's target risk among accepted rows.
        by: see :func:`split_windows`.
        size: see :func:`split_windows`.
        every: see :func:`split_windows`.
        complete_only: see :func:`split_windows`.
        reference_u: ``(N,)`` ``u`` on the champion's test split; drift of ``u`` is tested if given.
        reference_features: ``(N, D)`` the champion's test-split features the head reads.
        features: ``(len(frame), D)`` the same features of the logged rows, aligned
            with ``frame``'s rows; feature drift is tested if both are given. A row of
            NaN (a row logged without its text) is left out of its window's test.
        n_components: test the features on the reference's top principal components
            (see :func:`~.drift.feature_drift`); None tests every dimension.
        drift_alpha: level of the drift tests.
        confidence: level of the error interval.

    Raises:
        ValueError: bad options (named), or ``features`` not aligned with ``frame``.
    """
    check_alpha(drift_alpha, "drift_alpha")
    feats = None
    if features is not None and reference_features is not None:
        feats = np.asarray(features, dtype=np.float64)
        if feats.ndim != 2 or feats.shape[0] != len(frame):
            raise ValueError(
                f"features must be ({len(frame)}, D), aligned with frame; got shape {feats.shape}"
            )
        frame = frame.assign(_row=np.arange(len(frame)))
    reports = []
    for w in split_windows(frame, by=by, size=size, every=every, complete_only=complete_only):
        report = estimate_window(
            w.rows, target_risk=target_risk, window=w.window, index=w.index,
            model_version=w.model_version, confidence=confidence,
        )  # fmt: skip
        drift = _window_drift(
            w.rows, reference_u, reference_features, feats, alpha=drift_alpha, k=n_components
        )
        reports.append(replace(report, drift=drift) if drift else report)
    return reports


def _window_drift(
    rows: pd.DataFrame, reference_u: Any, reference_features: Any, feats: Any, *, alpha: float, k: int | None
) -> tuple[DriftResult, ...]:
    drift: list[DriftResult] = []
    if reference_u is not None:
        drift.append(u_drift(reference_u, rows["u"].to_numpy(), alpha=alpha))
    if feats is not None:
        current = feats[rows["_row"].to_numpy()]
        current = current[~np.isnan(current).any(axis=1)]  # rows logged without their text
        drift.append(feature_drift(reference_features, current, alpha=alpha, n_components=k))
    return tuple(drift)
