"""The monitor's numbers in MLflow: one monitoring run per model version, one step per window.

The run lives in the experiment ``<registry.experiment>-monitor`` (so listings of
the retrain's runs never see it), is found again by its tags, and holds every
defined number of :meth:`alien.monitoring.estimate.WindowReport.metrics` at
``step = window index``. The model version gets a tag naming the run, so the
registry page leads to it. An explicit :class:`~mlflow.MlflowClient`, never the
global tracking URI.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from mlflow import MlflowClient
from mlflow.entities import Metric

if TYPE_CHECKING:
    from alien.monitoring.estimate import WindowReport

EXPERIMENT_SUFFIX = "-monitor"
MODEL_TAG = "alien.monitor.model"
VERSION_TAG = "alien.monitor.version"
LAST_STEP_TAG = "alien.monitor.last_step"
"""The run's tag: the highest window index logged (a window is logged once)."""
RUN_TAG = "alien.monitor_run_id"
"""The model version's tag naming its monitoring run."""


def monitoring_experiment(client: MlflowClient, experiment: str) -> str:
    """The id of ``<experiment>-monitor``, created on first use."""
    name = f"{experiment}{EXPERIMENT_SUFFIX}"
    found = client.get_experiment_by_name(name)
    return found.experiment_id if found is not None else client.create_experiment(name)


def monitoring_run(client: MlflowClient, experiment_id: str, model_name: str, version: str) -> str:
    """The monitoring run of ``model_name`` version ``version`` (found by its tags, else created)."""
    query = f"tags.`{MODEL_TAG}` = '{model_name}' and tags.`{VERSION_TAG}` = '{version}'"
    runs = client.search_runs(
        [experiment_id], filter_string=query, max_results=1, order_by=["start_time ASC"]
    )
    if runs:
        return str(runs[0].info.run_id)
    tags = {MODEL_TAG: model_name, VERSION_TAG: str(version)}
    run = client.create_run(experiment_id, tags=tags, run_name=f"monitor {model_name} v{version}")
    return str(run.info.run_id)


def log_windows(
    client: MlflowClient,
    reports: Sequence[WindowReport],
    *,
    experiment: str,
    model_name: str,
    version: str,
    tag_version: bool = True,
) -> str | None:
    """Log each new window's numbers at its step in the version's monitoring run; return the run id.

    Windows up to the run's ``alien.monitor.last_step`` were logged by an earlier monitor
    run and are skipped, so each step holds one point. Returns ``None`` (and creates
    nothing) without reports.
    """
    if not reports:
        return None
    run_id = monitoring_run(client, monitoring_experiment(client, experiment), model_name, version)
    last = client.get_run(run_id).data.tags.get(LAST_STEP_TAG)
    reports = [r for r in reports if last is None or r.index > int(last)]
    now = int(time.time() * 1000)
    metrics = [
        Metric(key=key, value=value, timestamp=now, step=r.index)
        for r in reports
        for key, value in r.metrics().items()
    ]
    for start in range(0, len(metrics), 1000):  # MLflow's batch limit
        client.log_batch(run_id, metrics=metrics[start : start + 1000])
    if reports:
        client.set_tag(run_id, LAST_STEP_TAG, str(max(r.index for r in reports)))
    if tag_version:
        _tag_version(client, model_name, version, run_id)
    return run_id


def _tag_version(client: MlflowClient, model_name: str, version: str, run_id: str) -> None:
    from mlflow.exceptions import MlflowException

    # a version served away from this registry: the run still holds the numbers
    with contextlib.suppress(MlflowException):
        client.set_model_version_tag(model_name, str(version), RUN_TAG, run_id)


def client_for(tracking_uri: str) -> Any:
    """An explicit client for ``tracking_uri`` (already resolved, e.g. :attr:`Store.uri`)."""
    return MlflowClient(tracking_uri=tracking_uri, registry_uri=tracking_uri)
