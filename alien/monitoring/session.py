"""One monitor run: read the log, report the windows of one version, decide the triggers.

What ``alien monitor`` prints and the ``monitor`` flow acts on. The triggers that
started a retrain are kept next to the log (``<log>/triggers.jsonl``, append-only),
so a window fires at most once over all monitor runs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from alien.monitoring.estimate import WindowReport
from alien.monitoring.jsonl import append_records, iter_records
from alien.monitoring.location import is_postgres_url
from alien.monitoring.report import render_windows
from alien.monitoring.schema import now_utc
from alien.monitoring.stores import open_log
from alien.monitoring.triggers import RetrainPolicy, Trigger, evaluate_windows
from alien.monitoring.window_features import N_COMPONENTS, NO_TEXT, Featurizer, logged_features
from alien.monitoring.windows import WindowBy, monitor_windows

FIRED_FILE = "triggers.jsonl"
URL_STATE_DIR = ".alien-monitor"
"""The fired-trigger record's folder when the log is a PostgreSQL table (docs/scale-out.md)."""
"""``<log>/triggers.jsonl``: one record per trigger that started a retrain."""
DEFAULT_DRIFT_ALPHA = 0.05


@dataclass(frozen=True)
class Reference:
    """What the live windows are compared with: the champion's test split.

    Attributes:
        u: ``u`` on the test split (drift of ``u`` is tested when given).
        test_error: the champion's error on its test split (for ``error_above_champion``).
        source: where these came from, in words (shown under the table).
        features: ``(N, D)`` the features the head reads, on the test split (feature
            drift is tested when given with ``featurize`` and the log keeps texts).
        featurize: texts -> ``(len(texts), D)`` features from the model that made
            ``features`` (:func:`alien.serving.features.deployable_featurizer`).
        feature_source: that model, in words (shown in the note naming the test).
        feature_note: why ``features`` is missing (one line, shown under the table).
    """

    u: Any = None
    test_error: float | None = None
    source: str = "no reference"
    features: Any = None
    featurize: Featurizer | None = None
    feature_source: str = "the deployable"
    feature_note: str = ""

    @classmethod
    def from_test_scores(cls, u: Any, errors: Any, *, source: str) -> Reference:
        """From the test split's ``u`` and 0/1 errors; ``test_error`` is the larger of the realised
        error and the mean ``u``, so a map biased upwards on test does not trigger by itself."""
        u = np.asarray(u, dtype=np.float64)
        error = float(np.mean(errors)) if len(errors) else None
        if error is not None and u.size:
            error = max(error, float(u.mean()))
        return cls(u=u if u.size else None, test_error=error, source=source)


@dataclass(frozen=True)
class MonitorOutcome:
    """One run's windows, the triggers that fire now, and the table.

    Attributes:
        version: the model version monitored (None: the log is empty).
        reports: one per window, oldest first.
        triggers: fired now (windows that fired before are left out).
        table: :func:`alien.monitoring.report.render_windows` of ``reports``.
        notes: what a reader should know (no reference, skipped lines).
    """

    version: str | None
    reports: list[WindowReport]
    triggers: list[Trigger]
    table: str
    notes: list[str] = field(default_factory=list)


def fired_dir(location: str | Path) -> Path:
    """Where the windows that fired are remembered: the log's folder, or for a PostgreSQL log
    :data:`URL_STATE_DIR` under the current directory (the project root the monitor runs in)."""
    return Path(URL_STATE_DIR) if is_postgres_url(str(location)) else Path(location)


def read_fired(directory: str | Path) -> set[str]:
    """The window keys that have started a retrain before."""
    path = Path(directory) / FIRED_FILE
    return (
        {str(r["window_key"]) for r in iter_records(path, [0], key="window_key")} if path.is_file() else set()
    )


def record_fired(directory: str | Path, triggers: list[Trigger]) -> None:
    """Remember ``triggers`` so their windows fire no more (one append)."""
    if triggers:
        time = now_utc().isoformat(timespec="seconds")
        append_records(Path(directory) / FIRED_FILE, [{**t.to_dict(), "time": time} for t in triggers])


def latest_version(frame: pd.DataFrame) -> str | None:
    """The model version of the log's newest row (the one serving now)."""
    return None if frame.empty else str(frame["model_version"].iloc[-1])


def run_monitor(
    location: str | Path,
    *,
    target_risk: float,
    policy: RetrainPolicy,
    reference: Reference,
    by: WindowBy = "rows",
    size: int = 200,
    every: str = "1D",
    version: str | None = None,
    partial: bool = False,
    style: str = "text",
) -> MonitorOutcome:
    """Report the windows of ``version`` (default: the newest row's) and the triggers they fire now.

    Args:
        location: the prediction log's folder or ``postgresql://`` URL (:func:`~alien.monitoring.stores.open_log`).
        target_risk: ``calibration.target_risk``.
        policy: the triggers (``monitor.retrain_when``).
        reference: the champion's test split.
        by: see :func:`alien.monitoring.windows.split_windows`.
        size: see :func:`alien.monitoring.windows.split_windows`.
        every: see :func:`alien.monitoring.windows.split_windows`.
        version: the model version to monitor.
        partial: also report a trailing window of fewer than ``size`` rows (never fires:
            its rows will belong to a full window later).
        style: ``"text"`` or ``"markdown"`` table.
    """
    with open_log(location) as log:
        frame = log.read()
    version = version if version is not None else latest_version(frame)
    frame = frame[frame["model_version"].astype(str) == str(version)].reset_index(drop=True)
    alpha = policy.drift if policy.drift is not None else DEFAULT_DRIFT_ALPHA
    features, feature_note = _features(frame, reference)
    reports = monitor_windows(
        frame,
        target_risk=target_risk,
        by=by,
        size=size,
        every=every,
        complete_only=not partial,
        reference_u=reference.u,
        reference_features=reference.features if features is not None else None,
        features=features,
        n_components=N_COMPONENTS,
        drift_alpha=alpha,
    )
    error = reference.test_error
    if error is None:
        policy = RetrainPolicy(**{**policy.__dict__, "error_above_champion": None})
    complete = [r for r in reports if by == "time" or r.n == size]
    triggers = evaluate_windows(
        complete, policy, champion_test_error=error, already_fired=read_fired(fired_dir(location))
    )
    table = render_windows(reports, triggers=triggers, style="markdown" if style == "markdown" else "text")
    return MonitorOutcome(version, reports, triggers, table, _notes(reference, feature_note))


def _notes(reference: Reference, feature_note: str) -> list[str]:
    """What a reader should know about the run: the reference, and each test that did not run."""
    notes = [f"reference: {reference.source}"]
    if reference.u is None:
        notes.append("no reference u: drift of u not tested")
    if reference.test_error is None:
        notes.append("no champion test error: error_above_champion off")
    return [*notes, feature_note]


def _features(frame: pd.DataFrame, reference: Reference) -> tuple[Any, str]:
    """The logged rows' features (None: not tested) and the note that says which test, or why not."""
    if frame.empty:
        return None, "feature drift not tested: no rows of this version"
    if not frame["text"].notna().any():
        return None, NO_TEXT
    if reference.features is None or reference.featurize is None:
        return None, reference.feature_note or "feature drift not tested: no reference features"
    return logged_features(
        frame,
        reference_features=reference.features,
        featurize=reference.featurize,
        source=reference.feature_source,
    )
