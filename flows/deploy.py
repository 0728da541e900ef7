"""The nightly ``retrain`` deployment, declared once, run by a worker or served in place.

On a shared Prefect server (the order ``tests/integration/test_prefect_worker.py`` follows)::

    prefect server start --host 127.0.0.1 --port 4200 &
    export PREFECT_API_URL=http://127.0.0.1:4200/api
    prefect work-pool create alien-process --type process --overwrite
    python -m flows.deploy --pool alien-process --cron "0 2 * * *" --params params.yaml
    prefect worker start --pool alien-process --type process

Without ``--pool`` the same deployment is served by this process (``alien serve``).

At most one nightly run at a time (a deployment concurrency limit of 1, strategy
``ENQUEUE``): a run triggered while another is running goes to ``AwaitingConcurrencySlot``
and starts when the first one has finished; it is never dropped and never overlaps.
``--notify-webhook URL`` adds a Prefect automation that POSTs to URL when a run of
this deployment fails or crashes.

``--monitor-cron CRON`` adds the ``monitor`` flow's deployment (:mod:`flows.monitor`) on its
own schedule next to it: it reads the prediction log and starts this deployment when a
``monitor.retrain_when`` trigger fires, so a retrain can run for a reason between nights.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any, cast
from uuid import UUID

from prefect.client.schemas.objects import ConcurrencyLimitConfig, ConcurrencyLimitStrategy
from prefect.deployments.runner import EntrypointType, RunnerDeployment

from flows.retrain import retrain

DEPLOYMENT = "nightly-retrain"
MONITOR_DEPLOYMENT = "monitor"
NIGHTLY_CRON = "0 2 * * *"
ONE_AT_A_TIME = ConcurrencyLimitConfig(limit=1, collision_strategy=ConcurrencyLimitStrategy.ENQUEUE)
FAILED_STATES = ("prefect.flow-run.Failed", "prefect.flow-run.Crashed")


def nightly_deployment(
    *, cron: str = NIGHTLY_CRON, params: str = "params.yaml", working_dir: str | Path | None = None
) -> RunnerDeployment:
    """The nightly deployment of :func:`flows.retrain.retrain`.

    The entrypoint is the module path ``flows.retrain.retrain``, so a worker imports the
    installed package (no code is uploaded) and runs it in ``working_dir`` (the project
    checkout holding ``params.yaml``, ``dvc.lock`` and the data).

    Args:
        cron: the schedule (five cron fields, UTC).
        params: the params file, relative to ``working_dir``.
        working_dir: where a worker runs the flow; ``None`` keeps the worker's own folder.

    Raises:
        ValueError: ``cron`` does not have five fields or ``params`` is empty.
    """
    return _scheduled(
        retrain,
        name=DEPLOYMENT,
        cron=cron,
        params=params,
        working_dir=working_dir,
        tag="nightly",
        description="Nightly ALIEN retrain: fetch, retrain if the data changed, gate, register.",
    )


def _scheduled(
    flow: Any,
    *,
    name: str,
    cron: str,
    params: str,
    working_dir: str | Path | None,
    tag: str,
    description: str,
) -> RunnerDeployment:
    """``flow`` as a deployment on ``cron``, one run at a time, with the params file as its parameter."""
    if len(cron.split()) != 5:
        raise ValueError(f"cron must have 5 fields (minute hour day month weekday), got {cron!r}")
    if not params:
        raise ValueError("params must name the params file, got ''")
    job_variables = {"working_dir": str(Path(working_dir).resolve())} if working_dir is not None else {}
    # to_deployment/deploy/save/create are sync here (no running event loop); the cast
    # narrows Prefect's sync-or-coroutine return type
    deployment = flow.to_deployment(
        name=name,
        cron=cron,
        parameters={"params_path": params},
        concurrency_limit=ONE_AT_A_TIME,
        job_variables=job_variables,
        entrypoint_type=EntrypointType.MODULE_PATH,
        tags=[tag],
        description=description,
    )
    return cast(RunnerDeployment, deployment)


def monitor_deployment(
    *, cron: str, params: str = "params.yaml", working_dir: str | Path | None = None
) -> RunnerDeployment:
    """The deployment of :func:`flows.monitor.monitor` on its own schedule (same checks as the nightly).

    Raises:
        ValueError: ``cron`` does not have five fields or ``params`` is empty.
    """
    from flows.monitor import monitor

    return _scheduled(
        monitor,
        name=MONITOR_DEPLOYMENT,
        cron=cron,
        params=params,
        working_dir=working_dir,
        tag="monitor",
        description="ALIEN monitor: the prediction log's windows; starts the retrain on evidence.",
    )


def deploy_to_pool(deployment: RunnerDeployment, *, pool: str) -> UUID:
    """Register ``deployment`` on the work pool ``pool`` (which must exist); return its id."""
    from prefect import deploy

    if not pool:
        raise ValueError("pool must name a work pool, got ''")
    ids = deploy(deployment, work_pool_name=pool, build=False, push=False, print_next_steps_message=False)
    (deployment_id,) = cast(list[UUID], ids)
    return deployment_id


def notify_on_failure(deployment_id: UUID, *, webhook_url: str) -> UUID:
    """An automation that POSTs to ``webhook_url`` when a run of the deployment fails or crashes.

    Needs a Prefect server with its event services (``prefect server start`` has them;
    the ephemeral test server too). Returns the automation's id.

    Raises:
        ValueError: ``webhook_url`` is not an http(s) URL.
    """
    from prefect.automations import Automation, EventTrigger, Posture, SendNotification
    from prefect.blocks.notifications import CustomWebhookNotificationBlock

    if not webhook_url.startswith(("http://", "https://")):
        raise ValueError(f"webhook_url must be an http(s) URL, got {webhook_url!r}")
    block = CustomWebhookNotificationBlock(
        name=f"{DEPLOYMENT}-failed",
        url=webhook_url,
        json_data={"subject": "{{subject}}", "body": "{{body}}"},
        headers=None,
        cookies=None,
    )
    block_id = cast(UUID, block.save(f"{DEPLOYMENT}-failed", overwrite=True))
    automation = Automation(
        name=f"{DEPLOYMENT} failed",
        trigger=EventTrigger(
            expect=set(FAILED_STATES),
            match_related={"prefect.resource.id": f"prefect.deployment.{deployment_id}"},
            posture=Posture.Reactive,
            threshold=1,
        ),
        actions=[
            SendNotification(
                block_document_id=block_id,
                subject="ALIEN nightly retrain {{ flow_run.state.name }}",
                body="Flow run {{ flow_run.name }} ({{ flow_run.id }}) ended {{ flow_run.state.name }}.",
            )
        ],
    )
    created = cast(Automation, automation.create())
    if created.id is None:
        raise RuntimeError(f"the Prefect server did not return an id for automation {automation.name!r}")
    return created.id


def main(argv: list[str] | None = None) -> None:
    """``python -m flows.deploy``: deploy to a work pool (``--pool``) or serve here."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--cron", default=NIGHTLY_CRON, help=f"schedule, UTC (default: {NIGHTLY_CRON!r})")
    parser.add_argument("--params", default="params.yaml", help="params file, relative to --working-dir")
    parser.add_argument("--pool", help="process work pool to deploy to; without it, serve in this process")
    parser.add_argument("--working-dir", default=".", help="where the worker runs the flow (default: here)")
    parser.add_argument("--notify-webhook", help="POST here when a nightly run fails or crashes")
    parser.add_argument("--monitor-cron", help="also deploy the monitor flow on this schedule (UTC)")
    args = parser.parse_args(argv)
    if args.pool is None:
        from prefect import serve

        if args.notify_webhook:
            parser.error("--notify-webhook needs --pool (the automation refers to the deployment's id)")
        served = [nightly_deployment(cron=args.cron, params=args.params)]
        if args.monitor_cron:
            served.append(monitor_deployment(cron=args.monitor_cron, params=args.params))
        serve(*served)
        return
    if args.monitor_cron:
        watch = monitor_deployment(cron=args.monitor_cron, params=args.params, working_dir=args.working_dir)
        print(
            f"deployment monitor/{MONITOR_DEPLOYMENT} ({deploy_to_pool(watch, pool=args.pool)}), cron {args.monitor_cron!r}"
        )
    deployment = nightly_deployment(cron=args.cron, params=args.params, working_dir=args.working_dir)
    deployment_id = deploy_to_pool(deployment, pool=args.pool)
    print(
        f"deployment {retrain.name}/{DEPLOYMENT} ({deployment_id}) on pool {args.pool!r}, cron {args.cron!r}"
    )
    if args.notify_webhook:
        automation_id = notify_on_failure(deployment_id, webhook_url=args.notify_webhook)
        print(f"failure notifications: automation {automation_id} -> {args.notify_webhook}")


if __name__ == "__main__":
    main()
