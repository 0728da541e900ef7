"""One Prefect task per pipeline stage. No logic here: each calls ``alien.stages.<name>.run``.

Skipping unchanged work is DVC's job (:func:`alien.stages.incremental.run_incremental`):
DVC hashes the files a stage reads, which Prefect's input-based cache keys cannot see.
Retries are for the stages that touch the network or the registry.
"""

from __future__ import annotations

from typing import Any

from prefect import Task, task
from prefect.client.schemas.objects import TaskRun
from prefect.states import State

from alien.config import Params
from alien.stages.incremental import run_incremental
from alien.stages.pipeline import stage_runner


def transient_only(_task: Task[Any, Any], _run: TaskRun, state: State[Any]) -> bool:
    """Retry network/registry failures; bad input fails the same way every time, so it does not retry."""
    error = state.result(raise_on_failure=False)
    return not isinstance(error, ValueError | TypeError | KeyError | FileNotFoundError)


RETRY = {"retries": 2, "retry_delay_seconds": 10, "retry_condition_fn": transient_only}


def _run(name: str, p: Params) -> dict[str, Any]:
    return run_incremental(name, lambda: stage_runner(name)(p)).to_dict()


@task(name="fetch", **RETRY)
def fetch_task(p: Params) -> dict[str, Any]:
    return _run("fetch", p)


@task(name="prepare")
def prepare_task(p: Params) -> dict[str, Any]:
    return _run("prepare", p)


@task(name="finetune")
def finetune_task(p: Params) -> dict[str, Any]:
    return _run("finetune", p)


@task(name="features")
def features_task(p: Params) -> dict[str, Any]:
    return _run("features", p)


@task(name="align")
def align_task(p: Params) -> dict[str, Any]:
    return _run("align", p)


@task(name="evaluate")
def evaluate_task(p: Params) -> dict[str, Any]:
    return _run("evaluate", p)


@task(name="gate", **RETRY)
def gate_task(p: Params) -> dict[str, Any]:
    return _run("gate", p)


@task(name="register", **RETRY)
def register_task(p: Params) -> dict[str, Any]:
    return _run("register", p)
