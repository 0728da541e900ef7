"""``dvc repro`` runs the whole pipeline on a tiny real project, and a second run does no work."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.project import make_tiny_project


def _dvc(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    return subprocess.run(
        [sys.executable, "-m", "dvc", *args], cwd=root, env=env, text=True, capture_output=True, check=False
    )


@pytest.fixture(scope="module")
def repro_project(tmp_path_factory):
    # shared: the first test only re-runs a no-op, the second changes a param last
    root = make_tiny_project(tmp_path_factory.mktemp("repro") / "project")
    done = _dvc(root, "repro")
    assert done.returncode == 0, done.stdout + done.stderr
    return root


def test_repro_end_to_end_then_noop(repro_project):
    root = repro_project
    registration = json.loads((root / "reports/registration.json").read_text())
    assert registration["version"] == "1" and registration["promoted"] is True
    metrics = json.loads((root / "reports/metrics.json").read_text())
    assert {"alien", "entropy", "softmax_response"} <= set(metrics["methods"])
    lock = yaml.safe_load((root / "dvc.lock").read_text())["stages"]
    assert set(lock) == {"fetch", "prepare", "finetune", "features", "align", "evaluate", "gate", "register"}

    again = _dvc(root, "repro")
    assert again.returncode == 0, again.stderr
    for stage in ("prepare", "finetune", "features", "align", "evaluate", "gate", "register"):
        assert f"Stage '{stage}' didn't change, skipping" in again.stdout
    assert yaml.safe_load((root / "dvc.lock").read_text())["stages"] == lock


def test_param_change_reruns_only_downstream_stages(repro_project):
    root = repro_project
    params = yaml.safe_load((root / "params.yaml").read_text())
    params["align"]["alphas"] = [0.5]
    (root / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    status = _dvc(root, "status")
    assert "align:" in status.stdout and "modified:           align" in status.stdout
    assert "finetune" not in status.stdout
    done = _dvc(root, "repro")
    assert done.returncode == 0, done.stderr
    for stage in ("prepare", "finetune", "features"):
        assert f"Stage '{stage}' didn't change, skipping" in done.stdout
    assert "Running stage 'align'" in done.stdout
    grid = json.loads((root / "reports/grid.json").read_text())
    assert {t["alpha"] for t in grid["trials"]} == {0.5}


def test_bad_params_stop_the_pipeline_before_anything_changes(tmp_path):
    root = make_tiny_project(tmp_path / "project")
    params = yaml.safe_load((root / "params.yaml").read_text())
    params["align"]["learning_rate"] = 0.1  # unknown key (the real one is learning_rates)
    (root / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    done = _dvc(root, "repro", "prepare")
    assert done.returncode != 0
    assert "learning_rate" in done.stdout + done.stderr
    assert not (root / "data/prepared").exists()
    assert not (root / "mlflow.db").exists()
