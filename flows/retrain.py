"""The ``retrain`` flow: fetch → prepare → (version data) → finetune → features → align
→ evaluate → gate → register. Each task runs the same stage function as ``dvc repro``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from prefect import flow
from prefect.artifacts import create_markdown_artifact

from alien.config import load_params
from alien.evaluation.summary import render_run_summary
from tasks.data_version import version_data_task
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


@flow(name="retrain", log_prints=True)
def retrain(params_path: str = "params.yaml", push_data: bool = True) -> dict[str, Any]:
    """Retrain, align, gate and register; returns what each stage did and the registration.

    Runs in the project root (the folder with ``dvc.yaml``; ``paths.*`` are relative to it).
    ``params_path`` reaches every stage (``register`` logs that file) and DVC's skip check.
    """
    p = load_params(params_path)
    root = str(Path.cwd())
    stages = [fetch_task(p, params_path, root), prepare_task(p, params_path, root)]
    data_version = version_data_task(p.paths, root, push_to_remote=push_data)
    for stage_task in (finetune_task, features_task, align_task, evaluate_task, gate_task, register_task):
        stages.append(stage_task(p, params_path, root))
    summary = render_run_summary(p.paths, stages=stages, data_version=data_version)
    create_markdown_artifact(key="gate-report", markdown=summary, description="ALIEN retrain gate report")
    print(summary)
    registration = Path(p.paths.registration)
    return {
        "stages": stages,
        "data_version": data_version,
        "summary": summary,
        "registration": registration.read_text() if registration.is_file() else None,
    }
