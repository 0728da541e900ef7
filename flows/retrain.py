"""The ``retrain`` flow: every stage of the table in order (fetch → prepare → (version data)
→ finetune → features → align → evaluate → gate → register). Each task runs the same stage
function as ``dvc repro``.

Its summary says why it ran (:func:`alien.tracking.outcome.start_reason`): the monitor flow
passes the triggers that fired, with the numbers behind them, as the ``triggers`` parameter;
a run its deployment's schedule made says it was scheduled; anything else was started by hand.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from prefect import flow, get_run_logger, runtime
from prefect.artifacts import create_markdown_artifact
from prefect.client.schemas.objects import FlowRun
from prefect.context import FlowRunContext

from alien.config.params import Params, load_params
from alien.data.io import read_json
from alien.evaluation.summary import outcome_headline, render_run_summary
from alien.pipeline.run_lock import project_run_lock
from alien.pipeline.table import ORDER, STAGES
from alien.tracking.outcome import leftover_experiment_warning, start_reason
from alien.tracking.run_context import FlowContext
from tasks.data_version import version_data_task
from tasks.registry import registry_state_task
from tasks.stages import STAGE_TASKS, StageTask, plan_task

SUMMARY_ARTIFACT = "alien-retrain-summary"  # one key: every run adds a version of it
# The data is versioned (and pushed) once it is complete: after the stages up to prepare.
DATA_STAGES = ORDER[: ORDER.index("prepare") + 1]
REGISTER = "register"  # the stage that gets the flow's context


def _run(
    stage_task: StageTask,
    p: Params,
    params_path: str,
    root: str,
    extra: Mapping[str, Any] | None,
    up_to_date: bool,
) -> dict[str, Any]:
    """The stage's outcome, whether it ran or ended ``Skipped`` (a failure raises here)."""
    return dict(stage_task(p, params_path, root, extra, up_to_date, return_state=True).result())


def flow_context(stages: list[dict[str, Any]]) -> FlowContext:
    """What register logs on its MLflow run but cannot see (``alien`` never imports Prefect):
    the earlier stages' seconds and this flow run's id and UI link."""
    return FlowContext(
        stage_seconds={s["stage"]: s["seconds"] for s in stages},
        flow_run_id=str(runtime.flow_run.id or "") or None,
        flow_run_url=str(runtime.flow_run.ui_url or "") or None,
    )


def how_started(run: FlowRun | None, triggers: list[dict[str, Any]] | None) -> str:
    """:func:`start_reason` of the flow run ``run`` (``None``: not in a flow run): its ``triggers``,
    else whether its deployment's schedule made it (Prefect's ``auto_scheduled``)."""
    scheduled = run is not None and bool(run.auto_scheduled)
    return start_reason(
        triggers, scheduled_for=run.expected_start_time if run is not None and scheduled else None
    )


@flow(name="retrain", log_prints=True)
def retrain(
    params_path: str = "params.yaml", push_data: bool = True, triggers: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    """Retrain, align, gate and register; returns what each stage did, the registry's state,
    the run's ``outcome`` headline (promoted / not promoted because … / registered as challenger
    because …) and ``started_by`` (why it ran, also in the summary under the headline).

    Runs in the project root (the folder with ``dvc.yaml``; ``paths.*`` are relative to it).
    ``params_path`` reaches every stage (``register`` logs that file) and DVC's skip check.
    ``triggers``: the monitor triggers that started this run (:mod:`flows.monitor` passes them).
    """
    context = FlowRunContext.get()
    started_by = how_started(context.flow_run if context is not None else None, triggers)
    print(started_by)
    p = load_params(params_path)
    root = str(Path.cwd())
    warning = leftover_experiment_warning(p.registry, None)  # a flow is never a `dvc exp run`
    if warning:
        get_run_logger().warning("WARNING: %s", warning)
    with project_run_lock(root):
        return _retrain(p, params_path, root, push_data=push_data, started_by=started_by)


def with_start_line(summary: str, started_by: str) -> str:
    """``summary`` with ``started_by`` as its own paragraph under the registry headline."""
    lines = summary.split("\n")
    at = next((i + 1 for i, line in enumerate(lines) if line.startswith("**Registry:")), 1)
    return "\n".join([*lines[:at], "", f"Why it ran: {started_by}", *lines[at:]])


def _retrain(p: Params, params_path: str, root: str, *, push_data: bool, started_by: str) -> dict[str, Any]:
    stages: list[dict[str, Any]] = []
    data_version: dict[str, Any] = {}
    plan = plan_task(root, params_path)  # DVC asked once; each stage asks again after a change
    for stage in STAGES:
        extra = {"context": flow_context(stages)} if stage.name == REGISTER else None
        stages.append(_run(STAGE_TASKS[stage.name], p, params_path, root, extra, plan.skips(stage.name)))
        plan = plan.after(stages[-1])
        if stage.name == DATA_STAGES[-1]:
            data_version = version_data_task(p.paths, root, DATA_STAGES, push_to_remote=push_data)
    version = (next(s for s in stages if s["stage"] == REGISTER)["result"] or {}).get("version")
    registry = registry_state_task(p.registry, None if version is None else str(version))
    summary = render_run_summary(
        p.paths, stages=stages, data_version=data_version, registry=registry, model_name=p.registry.model_name
    )
    summary = with_start_line(summary, started_by)
    create_markdown_artifact(
        key=SUMMARY_ARTIFACT, markdown=summary, description="ALIEN retrain: gate and registry"
    )
    print(summary)
    outcome = outcome_headline(read_json(Path(root) / p.paths.registration, what="registration result"))
    return {
        "stages": stages,
        "data_version": data_version,
        "summary": summary,
        "registry": registry,
        "outcome": outcome,
        "started_by": started_by,
    }
