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


def test_git_dirty_follows_git_status(tmp_path) -> None:
    import subprocess

    from alien.tracking.run_logging import git_dirty

    assert git_dirty(tmp_path) == "unknown"
    subprocess.run(["git", "init", "-q"], cwd=tmp_path, check=True)
    assert git_dirty(tmp_path) == "false"
    (tmp_path / "params.yaml").write_text("a: 1\n")
    assert git_dirty(tmp_path) == "true"


def test_run_name_timings_and_plot_links(tmp_path, monkeypatch) -> None:
    import json

    import pytest

    from alien.tracking.run_context import ENV_STAGE_SECONDS, plot_links, run_name, stage_seconds

    assert run_name(dataset="package:trec", backbone="package:minilm", version="3") == "trec · minilm · v3"
    assert run_name(dataset="/d/rt.csv", backbone="org/bert-x", version=None) == "rt · bert-x · registering"
    monkeypatch.delenv(ENV_STAGE_SECONDS, raising=False)
    assert stage_seconds({"seconds": 20.5}) == {"finetune": 20.5} and stage_seconds(None) == {}
    monkeypatch.setenv(ENV_STAGE_SECONDS, json.dumps({"fetch": 0.2, "finetune": 30, "note": "x"}))
    assert stage_seconds({"seconds": 20.5}) == {"fetch": 0.2, "finetune": 30.0}
    (tmp_path / "reliability.png").write_bytes(b"png")
    (tmp_path / "reliability.json").write_text("{}")
    assert plot_links("abc123", tmp_path) == {
        "reliability.png": "get-artifact?path=plots/reliability.png&run_uuid=abc123"
    }
    with pytest.raises(ValueError, match="run_id"):
        plot_links("runs:/x", tmp_path)
