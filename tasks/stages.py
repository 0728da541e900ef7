"""One Prefect task per row of the stage table. No logic here: each calls ``alien.stages.<name>.run``.

Skipping unchanged work is DVC's job (:func:`alien.pipeline.incremental.run_incremental`):
DVC hashes the files a stage reads, which Prefect's input-based cache keys cannot see.
Stages the table marks ``live`` (they read the registry) or ``always_changed`` always run,
without asking DVC; gate and register then report ``unchanged`` themselves when their last
decision still holds. A skipped or unchanged stage ends in ``Completed(name="Skipped")``
(Prefect 3 has no skipped state type; a named Completed state is how it shows "Cached"
too), so the UI tells it from a stage that ran; call the tasks with ``return_state=True``
and take ``.result()``. A stage's module is imported only when it runs: a nightly run
with nothing to do never imports the training stack.
Retries are for the stages that touch the network (the table's ``always_changed``: they
look at the outside world) or the registry (``live``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from prefect import Task, task
from prefect.client.schemas.objects import TaskRun
from prefect.states import Completed, State

from alien.config.params import Params
from alien.pipeline.incremental import Plan, run_incremental
from alien.pipeline.table import STAGES, Stage, stage_runner


def transient_only(_task: Task[Any, Any], _run: TaskRun, state: State[Any]) -> bool:
    """Retry network/registry failures; bad input fails the same way every time, so it does not retry."""
    error = state.result(raise_on_failure=False)
    return not isinstance(error, ValueError | TypeError | KeyError | FileNotFoundError)


RETRY: dict[str, Any] = {"retries": 2, "retry_delay_seconds": 10, "retry_condition_fn": transient_only}


Outcome = dict[str, Any]
StageTask = Task[[Params, str, str, Mapping[str, Any] | None, bool], Outcome | State[Outcome]]


@task(name="dvc-status")
def plan_task(root: str, params_path: str) -> Plan:
    """DVC's status of every stage, asked once for the run (:class:`alien.pipeline.incremental.Plan`)."""
    return Plan.of(root=root, params_file=params_path)


def _why_skipped(outcome: Outcome) -> str:
    if outcome["unchanged"]:
        return f"unchanged since the decision of {outcome['result'].get('decided_at')}"
    return "restored from DVC's run-cache" if outcome["restored"] else "inputs unchanged since dvc.lock"


def _stage_task(stage: Stage) -> StageTask:
    name, always = stage.name, stage.live or stage.always_changed

    def run_stage(
        p: Params,
        params_path: str,
        root: str,
        extra: Mapping[str, Any] | None = None,
        up_to_date: bool = False,
    ) -> Outcome | State[Outcome]:
        """``extra``: further keywords the stage's ``run`` takes (register: the flow's ``context``);
        ``up_to_date``: the run's plan knows DVC calls the stage unchanged."""
        outcome = run_incremental(
            name,
            lambda: stage_runner(name)(p, root=root, params_file=params_path, **(extra or {})),
            root=root,
            params_file=params_path,
            always=always,
            up_to_date=up_to_date,
        ).to_dict()
        if outcome["skipped"]:
            return Completed(name="Skipped", message=f"{name}: {_why_skipped(outcome)}", data=outcome)
        return outcome

    run_stage.__name__ = run_stage.__qualname__ = f"{name}_task"
    options = RETRY if stage.always_changed or stage.live else {}
    return task(name=name, **options)(run_stage)


# stage name -> its task, in the table's order
STAGE_TASKS: dict[str, StageTask] = {stage.name: _stage_task(stage) for stage in STAGES}
