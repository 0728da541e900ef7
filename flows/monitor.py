"""The ``monitor`` flow: the prediction log's windows, to MLflow and Prefect, and a retrain on evidence.

Thin: the numbers are :mod:`alien.monitoring` (through :func:`flows.monitor_cli.monitor_outcome`,
what ``alien monitor`` prints), the MLflow run :mod:`alien.tracking.monitoring_runs`. Per run:

1. report the complete windows of the version serving now (the newest logged row's);
2. log each new window's numbers to MLflow, in the version's monitoring run (step = window);
3. publish the table as the markdown artifact :data:`ARTIFACT_KEY` (one key: its history is the
   artifact's versions);
4. when a ``monitor.retrain_when`` trigger fires on a window, start the retrain deployment with
   ``prefect.deployments.run_deployment`` (not an automation on a custom event: the decision and
   the numbers behind it stay in this flow's logs, and the call needs no automation set up on the
   server). The triggers, with the numbers behind them, are the run's ``triggers`` parameter (its
   summary says "started by monitor trigger <name>: <numbers>"). The run is tagged
   ``trigger:<name>`` and its idempotency key names the windows, and
   the fired windows are appended to ``<monitor.log>/triggers.jsonl`` (``.alien-monitor/`` for a
   PostgreSQL log): no window fires twice.

Deploy it next to the nightly retrain: ``python -m flows.deploy --monitor-cron "*/30 * * * *"``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, cast

from prefect import flow, get_run_logger
from prefect.client.schemas.objects import FlowRun

from flows.deploy import DEPLOYMENT
from flows.monitor_cli import monitor_outcome

ARTIFACT_KEY = "alien-monitor"
RETRAIN_DEPLOYMENT = f"retrain/{DEPLOYMENT}"
"""``<flow name>/<deployment name>`` of the nightly retrain (:mod:`flows.deploy`)."""


def log_to_mlflow(params: Any, outcome: Any) -> str | None:
    """The windows' numbers in the champion's monitoring run; ``None`` when the registry does not answer."""
    from alien.tracking.monitoring_runs import log_windows
    from alien.tracking.setup import RegistryUnavailableError
    from alien.tracking.store import Store

    try:
        store = Store.from_config(params.registry)
    except RegistryUnavailableError as exc:
        get_run_logger().warning("MLflow not logged: %s", exc)
        return None
    return log_windows(
        store.client,
        outcome.reports,
        experiment=params.registry.experiment,
        model_name=params.registry.model_name,
        version=str(outcome.version),
    )


def start_retrain(log_dir: str | Path, triggers: list[Any], *, deployment: str, params_path: str) -> str:
    """Start the retrain deployment for ``triggers`` and remember their windows; the flow run's id."""
    from prefect.deployments import run_deployment

    from alien.monitoring.session import fired_dir, record_fired

    keys = sorted({t.window_key for t in triggers})
    names = sorted({t.name for t in triggers})
    run = cast(
        "FlowRun",
        run_deployment(
            name=deployment,
            # the retrain's summary names each trigger and its numbers (flows.retrain.how_started)
            parameters={"params_path": params_path, "triggers": [t.to_dict() for t in triggers]},
            timeout=0,  # start it; the retrain runs on its own worker
            tags=["monitor", *(f"trigger:{n}" for n in names)],
            idempotency_key="monitor:" + ",".join(keys),
            flow_run_name=f"retrain on {', '.join(names)} ({keys[0]})",
        ),
    )
    record_fired(fired_dir(log_dir), triggers)
    return str(run.id)


@flow(name="monitor", log_prints=True)
def monitor(params_path: str = "params.yaml", retrain_deployment: str = RETRAIN_DEPLOYMENT) -> dict[str, Any]:
    """Report the log's windows, log them to MLflow and Prefect, start a retrain on evidence.

    Runs in the project root (``monitor.log`` and ``paths.*`` are relative to it).
    """
    from prefect.artifacts import create_markdown_artifact

    from alien.config.params import load_params

    params = load_params(params_path)
    outcome = monitor_outcome(params, version=None, partial=False, style="markdown")
    if outcome.version is None:
        print(f"the prediction log {params.monitor.log} holds no rows yet")
        return {"version": None, "windows": 0, "triggers": [], "retrain_flow_run": None}
    run_id = log_to_mlflow(params, outcome)
    notes = "\n".join(f"- {note}" for note in outcome.notes)
    fired = "\n".join(f"- **{t.name}** on {t.window}: {t.reason}" for t in outcome.triggers) or "- none"
    create_markdown_artifact(
        key=ARTIFACT_KEY,
        markdown=f"# Model version {outcome.version}\n\n{outcome.table}\n\nTriggers:\n{fired}\n\n{notes}\n",
        description=f"monitor: {len(outcome.reports)} window(s) of version {outcome.version}",
    )
    retrain_run = None
    if outcome.triggers:
        for trigger in outcome.triggers:
            print(f"trigger {trigger.name} on {trigger.window_key}: {trigger.reason}")
        retrain_run = start_retrain(
            str(params.monitor.log), outcome.triggers, deployment=retrain_deployment, params_path=params_path
        )
        print(f"started {retrain_deployment}: flow run {retrain_run}")
    return {
        "version": outcome.version,
        "windows": len(outcome.reports),
        "triggers": [t.to_dict() for t in outcome.triggers],
        "retrain_flow_run": retrain_run,
        "mlflow_run": run_id,
    }
