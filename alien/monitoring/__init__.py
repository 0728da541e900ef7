"""After deployment: the prediction log, label-free error estimates, drift, and retrain triggers.

- :mod:`.schema`: the log's row schema, the :class:`LogStore` protocol, the PostgreSQL DDL.
- :mod:`.log`: the local JSONL log (:class:`PredictionLog`, :func:`read_log`).
- :mod:`.feedback`: late labels by request id (:func:`attach_labels`).
- :mod:`.estimate`: one window's estimated and realised error, risk and guarantee test.
- :mod:`.drift`: KS tests of ``u`` and of the features against the champion's test split.
- :mod:`.window_features`: the features of the logged texts for feature drift (from a
  featurizer the caller hands over, so this package loads no model), and the notes.
- :mod:`.windows`: windows by rows or time, and :func:`monitor_windows` over a log.
- :mod:`.triggers`: :class:`RetrainPolicy` and :func:`evaluate_triggers`.
- :mod:`.report`: the short table a person reads.

Plain library code: no Prefect, no MLflow. Names are imported on first use, so
logging a prediction does not load the metrics stack.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from alien.monitoring.drift import DriftResult, feature_drift, u_drift
    from alien.monitoring.estimate import WindowReport, error_interval, estimate_window
    from alien.monitoring.feedback import attach_labels, read_labels
    from alien.monitoring.log import PredictionLog, read_log, rows_from_frame
    from alien.monitoring.postgres import PostgresLog
    from alien.monitoring.report import render_windows
    from alien.monitoring.schema import LOG_COLUMNS, POSTGRES_DDL, LogStore
    from alien.monitoring.stores import open_log
    from alien.monitoring.triggers import RetrainPolicy, Trigger, evaluate_triggers, evaluate_windows
    from alien.monitoring.windows import Window, monitor_windows, split_windows

_LAZY = {
    "LOG_COLUMNS": "schema",
    "POSTGRES_DDL": "schema",
    "LogStore": "schema",
    "PredictionLog": "log",
    "PostgresLog": "postgres",
    "open_log": "stores",
    "read_log": "log",
    "rows_from_frame": "log",
    "attach_labels": "feedback",
    "read_labels": "feedback",
    "WindowReport": "estimate",
    "error_interval": "estimate",
    "estimate_window": "estimate",
    "DriftResult": "drift",
    "feature_drift": "drift",
    "u_drift": "drift",
    "Window": "windows",
    "monitor_windows": "windows",
    "split_windows": "windows",
    "RetrainPolicy": "triggers",
    "Trigger": "triggers",
    "evaluate_triggers": "triggers",
    "evaluate_windows": "triggers",
    "render_windows": "report",
}
__all__ = [
    "LOG_COLUMNS",
    "POSTGRES_DDL",
    "DriftResult",
    "LogStore",
    "PostgresLog",
    "PredictionLog",
    "RetrainPolicy",
    "Trigger",
    "Window",
    "WindowReport",
    "attach_labels",
    "error_interval",
    "estimate_window",
    "evaluate_triggers",
    "evaluate_windows",
    "feature_drift",
    "monitor_windows",
    "open_log",
    "read_labels",
    "read_log",
    "render_windows",
    "rows_from_frame",
    "split_windows",
    "u_drift",
]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(f"alien.monitoring.{_LAZY[name]}"), name)
    raise AttributeError(f"module 'alien.monitoring' has no attribute {name!r}")
