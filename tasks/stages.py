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
from alien.stages import align, evaluate, features, fetch, finetune, gate, prepare, register
from alien.stages.incremental import run_incremental


def transient_only(_task: Task[Any, Any], _run: TaskRun, state: State[Any]) -> bool:
    """Retry network/registry failures; bad input fails the same way every time, so it does not retry."""
    error = state.result(raise_on_failure=False)
    return not isinstance(error, ValueError | TypeError | KeyError | FileNotFoundError)


RETRY = {"retries": 2, "retry_delay_seconds": 10, "retry_condition_fn": transient_only}


@task(name="fetch", **RETRY)
def fetch_task(p: Params) -> dict[str, Any]:
    return run_incremental("fetch", lambda: fetch.run(p.data, p.paths)).to_dict()


@task(name="prepare")
def prepare_task(p: Params) -> dict[str, Any]:
    return run_incremental("prepare", lambda: prepare.run(p.data, p.paths)).to_dict()


@task(name="finetune")
def finetune_task(p: Params) -> dict[str, Any]:
    return run_incremental(
        "finetune", lambda: finetune.run(p.backbone, p.finetune, p.data, p.paths)
    ).to_dict()


@task(name="features")
def features_task(p: Params) -> dict[str, Any]:
    return run_incremental("features", lambda: features.run(p.data, p.backbone, p.paths)).to_dict()


@task(name="align")
def align_task(p: Params) -> dict[str, Any]:
    return run_incremental("align", lambda: align.run(p.align, p.backbone, p.data, p.paths)).to_dict()


@task(name="evaluate")
def evaluate_task(p: Params) -> dict[str, Any]:
    return run_incremental("evaluate", lambda: evaluate.run(p.evaluate, p.paths)).to_dict()


@task(name="gate", **RETRY)
def gate_task(p: Params) -> dict[str, Any]:
    return run_incremental("gate", lambda: gate.run(p.gates, p.registry, p.data, p.paths)).to_dict()


@task(name="register", **RETRY)
def register_task(p: Params) -> dict[str, Any]:
    return run_incremental("register", lambda: register.run(p.registry, p.paths)).to_dict()
