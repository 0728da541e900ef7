"""Naming of run params/metrics and the pinned pyfunc requirements."""

from __future__ import annotations

import math

from alien.tracking.pyfunc import pip_requirements
from alien.tracking.run_logging import git_commit, pipeline_metrics, run_params
from tests.unit.tracking.fixtures import METRICS


def test_metrics_are_prefixed_by_method_and_stage() -> None:
    stages = {"finetune": {"val_accuracy": 0.9}}
    out = pipeline_metrics({**METRICS, "note": "text", "flag": True}, stages=stages)
    assert out["alien.roc_auc"] == 0.81 and out["entropy.ece"] == 0.063
    assert out["task.accuracy"] == 0.87 and out["rows.test"] == 200.0
    assert out["finetune.val_accuracy"] == 0.9
    assert "mahalanobis.ece" not in out and "note" not in out and "flag" not in out
    assert not any(k.startswith("methods.") for k in out)
    assert all(math.isfinite(v) for v in out.values())


def test_params_are_flattened_strings() -> None:
    params = run_params({"align": {"alphas": [0.01, 0.1], "seed": 42}, "data": {"max_rows": None}})
    assert params == {"align.alphas": "[0.01, 0.1]", "align.seed": "42", "data.max_rows": "None"}


def test_git_commit_outside_a_repo_is_unknown(tmp_path) -> None:
    assert git_commit(tmp_path) == "unknown"


def test_pip_requirements_pin_core_deps_without_local_suffix() -> None:
    reqs = pip_requirements()
    names = {r.split("==")[0].lower() for r in reqs}
    assert {"torch", "transformers", "safetensors", "numpy", "pandas", "mlflow", "cloudpickle"} <= names
    assert all("==" in r and "+" not in r for r in reqs)
    assert not names & {"prefect", "dvc", "pytest"}  # optional extras are not serving deps
