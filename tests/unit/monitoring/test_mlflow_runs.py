"""The monitor's numbers in MLflow: one run per version, one point per window and step, logged once."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from mlflow import MlflowClient

from alien.monitoring import PredictionLog, monitor_windows, read_log
from alien.tracking.monitoring_runs import LAST_STEP_TAG, log_windows


def _reports(folder: Path, n: int) -> list:
    u = np.random.default_rng(0).beta(1.0, 6.0, size=n)
    rows = [
        {
            "model_name": "m",
            "model_version": "4",
            "label": "a",
            "u": float(x),
            "raw_uncertainty": float(x),
            "abstain": False,
            "text": "t",
        }
        for x in u
    ]
    with PredictionLog(folder) as log:
        log.append(rows)
    return monitor_windows(read_log(folder), target_risk=0.1, size=100)


def test_one_run_per_version_and_each_window_logged_once(tmp_path: Path) -> None:
    client = MlflowClient(tracking_uri=f"sqlite:///{tmp_path / 'mlflow.db'}")
    kw = {"experiment": "exp", "model_name": "m", "version": "4"}
    first = log_windows(client, _reports(tmp_path / "log", 200), **kw)  # the version is not registered:
    assert first is not None  # its tag is skipped, the run still holds the numbers
    second = log_windows(client, _reports(tmp_path / "log", 100), **kw)  # 300 rows now: 3 windows
    assert second == first
    history = client.get_metric_history(first, "estimated_error")
    assert [m.step for m in history] == [0, 1, 2]
    assert client.get_run(first).data.tags[LAST_STEP_TAG] == "2"
    assert client.get_experiment_by_name("exp-monitor") is not None
    assert log_windows(client, [], **kw) is None
