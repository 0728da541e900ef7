"""The ``retrain`` flow: fetch → prepare → (version data) → finetune → features → align
→ evaluate → gate → register. Each task runs the same stage function as ``dvc repro``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from prefect import Task, flow, runtime
from prefect.artifacts import create_markdown_artifact

from alien.assets.environ import scoped_environ
from alien.config import Params, load_params
from alien.evaluation.summary import render_run_summary
from alien.stages.run_lock import project_run_lock
from alien.tracking.run_context import ENV_FLOW_RUN_ID, ENV_FLOW_RUN_URL, ENV_STAGE_SECONDS
from tasks.data_version import version_data_task
from tasks.registry import registry_state_task
from tasks.stages import (
    align_task,
    evaluate_task,
    features_task,
    fetch_task,
    finetune_task,
    gate_task,
    prepare_task,
    register_task,
)

SUMMARY_ARTIFACT = "alien-retrain-summary"  # one key: every run adds a version of it


def _run(stage_task: Task[[Params, str, str], Any], p: Params, params_path: str, root: str) -> dict[str, Any]:
    """The stage's outcome, whether it ran or ended ``Skipped`` (a failure raises here)."""
    return dict(stage_task(p, params_path, root, return_state=True).result())


@contextmanager
def _handed_to_register(stages: list[dict[str, Any]]) -> Iterator[None]:
    """What register logs on its MLflow run but cannot see (``alien`` never imports Prefect):
    the earlier stages' seconds and this flow run's id and UI link, as environment variables."""
    given = {
        ENV_STAGE_SECONDS: json.dumps({s["stage"]: s["seconds"] for s in stages}),
        ENV_FLOW_RUN_ID: str(runtime.flow_run.id or ""),
        ENV_FLOW_RUN_URL: str(runtime.flow_run.ui_url or ""),
    }
    with scoped_environ(given):
        yield


@flow(name="retrain", log_prints=True)
def retrain(params_path: str = "params.yaml", push_data: bool = True) -> dict[str, Any]:
    """Retrain, align, gate and register; returns what each stage did and the registry's state.

    Runs in the project root (the folder with ``dvc.yaml``; ``paths.*`` are relative to it).
    ``params_path`` reaches every stage (``register`` logs that file) and DVC's skip check.
    """
    p = load_params(params_path)
    root = str(Path.cwd())
    with project_run_lock(root):
        return _retrain(p, params_path, root, push_data=push_data)


def _retrain(p: Params, params_path: str, root: str, *, push_data: bool) -> dict[str, Any]:
    stages = [_run(fetch_task, p, params_path, root), _run(prepare_task, p, params_path, root)]
    data_version = version_data_task(p.paths, root, push_to_remote=push_data)
    for stage_task in (finetune_task, features_task, align_task, evaluate_task, gate_task):
        stages.append(_run(stage_task, p, params_path, root))
    with _handed_to_register(stages):
        stages.append(_run(register_task, p, params_path, root))
    version = (stages[-1]["result"] or {}).get("version")
    registry = registry_state_task(p.registry, None if version is None else str(version))
    summary = render_run_summary(
        p.paths, stages=stages, data_version=data_version, registry=registry, model_name=p.registry.model_name
    )
    create_markdown_artifact(
        key=SUMMARY_ARTIFACT, markdown=summary, description="ALIEN retrain: gate and registry"
    )
    print(summary)
    return {"stages": stages, "data_version": data_version, "summary": summary, "registry": registry}
