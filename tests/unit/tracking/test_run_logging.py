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


def _git(root, *args: str) -> None:
    import subprocess

    subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@t", *args], cwd=root, check=True, capture_output=True
    )


def test_git_dirty_means_the_code_that_ran_differs_from_the_commit(tmp_path) -> None:
    """Pipeline outputs and dvc.lock change on every run; only a change to the code counts."""
    from alien.tracking.run_logging import git_dirty

    assert git_dirty(tmp_path) == "unknown"
    _git(tmp_path, "init", "-q")
    assert git_dirty(tmp_path) == "false"
    (tmp_path / "alien").mkdir()
    (tmp_path / "alien" / "model.py").write_text("X = 1\n")
    (tmp_path / "reports").mkdir()
    (tmp_path / "reports" / "metrics.json").write_text("{}\n")  # a metrics output DVC leaves to git
    (tmp_path / "dvc.lock").write_text("schema: '2.0'\n")
    (tmp_path / "params.yaml").write_text("a: 1\n")
    _git(tmp_path, "add", ".")
    _git(tmp_path, "commit", "-q", "-m", "code")
    outputs = ["reports/metrics.json", "data/raw/dataset.jsonl", "models/deployable"]
    assert git_dirty(tmp_path, outputs=outputs) == "false"
    # a run: it rewrites dvc.lock and its tracked metrics, and writes untracked data and models
    (tmp_path / "dvc.lock").write_text("schema: '2.0'\nstages: {}\n")
    (tmp_path / "reports" / "metrics.json").write_text('{"auroc": 0.8}\n')
    for out in ("data/raw/dataset.jsonl", "models/deployable/alien.json", "mlflow.db"):
        (tmp_path / out).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / out).write_text("x")
    assert git_dirty(tmp_path, outputs=outputs) == "false"
    assert git_dirty(tmp_path) == "true"  # without naming the outputs, the metrics file counts
    absolute = [str(tmp_path / o) for o in outputs]
    assert git_dirty(tmp_path, outputs=absolute) == "false"
    # the code that ran is not the commit: a modified tracked file, staged or not, or a rename
    (tmp_path / "alien" / "model.py").write_text("X = 2\n")
    assert git_dirty(tmp_path, outputs=outputs) == "true"
    _git(tmp_path, "add", "alien/model.py")
    assert git_dirty(tmp_path, outputs=outputs) == "true"
    _git(tmp_path, "commit", "-q", "-m", "x2")
    _git(tmp_path, "mv", "alien/model.py", "alien/renamed.py")
    assert git_dirty(tmp_path, outputs=outputs) == "true"
    _git(tmp_path, "commit", "-q", "-m", "rename")
    (tmp_path / "params.yaml").write_text("a: 2\n")  # the configuration is part of what ran
    assert git_dirty(tmp_path, outputs=outputs) == "true"


def test_stage_seconds_and_tags_come_from_the_flow_context() -> None:
    from alien.tracking.run_context import FlowContext, flow_run_tags, stage_seconds

    assert stage_seconds(None, {"seconds": 20.5}) == {"finetune": 20.5} and stage_seconds(None) == {}
    given = FlowContext(
        stage_seconds={"fetch": 0.2, "finetune": 30, "flag": True}, flow_run_id="f1", flow_run_url=""
    )
    assert stage_seconds(given, {"seconds": 20.5}) == {"fetch": 0.2, "finetune": 30.0}
    assert flow_run_tags(given) == {"prefect.flow_run_id": "f1"} and flow_run_tags(None) == {}


def test_run_name_and_plot_links(tmp_path) -> None:
    import pytest

    from alien.tracking.review import plot_links
    from alien.tracking.run_context import run_name

    assert run_name(dataset="package:trec", backbone="package:minilm", version="3") == "trec · minilm · v3"
    assert run_name(dataset="/d/rt.csv", backbone="org/bert-x", version=None) == "rt · bert-x · registering"
    (tmp_path / "reliability.png").write_bytes(b"png")
    (tmp_path / "reliability.json").write_text("{}")
    assert plot_links("abc123", tmp_path) == {
        "reliability.png": "get-artifact?path=plots/reliability.png&run_uuid=abc123"
    }
    with pytest.raises(ValueError, match="run_id"):
        plot_links("runs:/x", tmp_path)


def test_requirements_are_parsed_by_packaging() -> None:
    from alien.tracking.pyfunc import _pin

    assert _pin('prefect<4,>=3.0; extra == "pipeline"') is None
    assert _pin("no-such-package[x]>=1; python_version >= '3'") == "no-such-package[x]>=1"
    assert _pin("PyYAML >= 6").startswith("PyYAML==")
