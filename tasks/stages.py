"""One Prefect task per pipeline stage. No logic here: each calls ``alien.stages.<name>.run``.

Skipping unchanged work is DVC's job (:func:`alien.stages.incremental.run_incremental`):
DVC hashes the files a stage reads, which Prefect's input-based cache keys cannot see.
Stages the table marks ``live`` (they read the registry) always run. A skipped stage
ends in ``Completed(name="Skipped")`` (Prefect 3 has no skipped state type; a named
Completed state is how it shows "Cached" too), so the UI tells it from a stage that ran;
call the tasks with ``return_state=True`` and take ``.result()``.
Retries are for the stages that touch the network or the registry.
"""

from __future__ import annotations

from typing import Any

from prefect import Task, task
from prefect.client.schemas.objects import TaskRun
from prefect.states import Completed, State

from alien.config import Params
from alien.stages.incremental import run_incremental
from alien.stages.pipeline import get_stage, stage_runner


def transient_only(_task: Task[Any, Any], _run: TaskRun, state: State[Any]) -> bool:
    """Retry network/registry failures; bad input fails the same way every time, so it does not retry."""
    error = state.result(raise_on_failure=False)
    return not isinstance(error, ValueError | TypeError | KeyError | FileNotFoundError)


RETRY: dict[str, Any] = {"retries": 2, "retry_delay_seconds": 10, "retry_condition_fn": transient_only}


Outcome = dict[str, Any]


def _stage_task(name: str, **options: Any) -> Task[[Params, str, str], Outcome | State[Outcome]]:
    always = get_stage(name).live

    def run_stage(p: Params, params_path: str, root: str) -> Outcome | State[Outcome]:
        run = stage_runner(name)
        outcome = run_incremental(
            name, lambda: run(p, params_file=params_path), root=root, params_file=params_path, always=always
        ).to_dict()
        if outcome["skipped"]:
            return Completed(name="Skipped", message=f"{name}: inputs unchanged since dvc.lock", data=outcome)
        return outcome

    run_stage.__name__ = run_stage.__qualname__ = f"{name}_task"
    return task(name=name, **options)(run_stage)


fetch_task = _stage_task("fetch", **RETRY)
prepare_task = _stage_task("prepare")
finetune_task = _stage_task("finetune")
features_task = _stage_task("features")
align_task = _stage_task("align")
evaluate_task = _stage_task("evaluate")
gate_task = _stage_task("gate", **RETRY)
register_task = _stage_task("register", **RETRY)
