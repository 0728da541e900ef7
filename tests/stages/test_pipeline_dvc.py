"""``dvc repro`` runs the whole pipeline on a tiny real project, and a second run does no work."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from alien.pipeline.table import ORDER
from tests.project import make_tiny_project


def _dvc(root: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        **(env or {}),
    }
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
    assert set(lock) == set(ORDER)

    again = _dvc(root, "repro")
    assert again.returncode == 0, again.stderr
    for stage in ("prepare", "finetune", "features", "align", "evaluate"):
        assert f"Stage '{stage}' didn't change, skipping" in again.stdout
    # gate and register read the live registry, which DVC cannot see: they always run
    for stage in ("gate", "register"):
        assert f"Running stage '{stage}'" in again.stdout
    again_lock = yaml.safe_load((root / "dvc.lock").read_text())["stages"]
    assert {k: v for k, v in again_lock.items() if k not in ("gate", "register")} == {
        k: v for k, v in lock.items() if k not in ("gate", "register")
    }
    report = json.loads((root / "reports/gate_report.json").read_text())
    assert report["registry"]["champion"] == "1"  # compared with the champion the first run made


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


def test_gate_is_never_restored_from_the_run_cache(repro_project):
    # stale case: params switched away and back made DVC restore a gate verdict computed
    # against another registry state ("Stage 'gate' is cached - skipping run, checking out outputs")
    root = repro_project
    original = (root / "params.yaml").read_text()
    params = yaml.safe_load(original)
    params["gates"]["max_ece"] = 0.5
    (root / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    assert _dvc(root, "repro", "gate").returncode == 0
    (root / "params.yaml").write_text(original)
    back = _dvc(root, "repro", "gate")
    assert back.returncode == 0, back.stderr
    assert "Running stage 'gate'" in back.stdout
    assert "is cached" not in back.stdout


def test_another_registry_is_read_although_no_file_changed(repro_project, tmp_path):
    # stale case: gate and register depend on registry state (here: which registry) that DVC does not track
    root = repro_project
    other = f"sqlite:///{tmp_path / 'other.db'}"
    done = _dvc(root, "repro", "gate", env={"MLFLOW_TRACKING_URI": other})
    assert done.returncode == 0, done.stderr
    assert "Running stage 'gate'" in done.stdout
    report = json.loads((root / "reports/gate_report.json").read_text())
    assert report["registry"] == {"tracking_uri": other, "model_name": "alien-classifier", "champion": None}
    assert {g["name"]: g["status"] for g in report["gates"]}["champion"] == "no champion"


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


def _readme_experiment_command() -> list[str]:
    """The experiment command exactly as README.md gives it (its comment dropped)."""
    import shlex

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    [line] = [line for line in readme.splitlines() if line.startswith("dvc exp run")]
    return shlex.split(line.split("#", 1)[0])


def test_the_readme_experiment_command_changes_neither_params_nor_production(repro_project):
    # issue 17 item 1: `dvc exp run --set-param registry.mode=experiment` left params.yaml in
    # experiment mode (and rewritten), so every later production run silently never promoted
    from mlflow import MlflowClient

    root = repro_project
    params = yaml.safe_load((root / "params.yaml").read_text())
    params["registry"]["tracking_uri"] = (
        "sqlite:///mlflow.db"  # relative, as shipped: the executor is elsewhere
    )
    (root / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    with (root / ".gitignore").open("a") as ignore:  # the registry is the user's, never committed
        ignore.write("/mlflow.db\n/mlartifacts/\n/dvc-remote/\n__pycache__/\n")
    for git in (["add", "-A"], ["commit", "-qm", "baseline"]):
        subprocess.run(["git", *git], cwd=root, check=True, capture_output=True)
    before = (root / "params.yaml").read_bytes()
    client = MlflowClient(tracking_uri=f"sqlite:///{root / 'mlflow.db'}")
    name = params["registry"]["model_name"]
    aliases = dict(client.get_registered_model(name).aliases)
    versions = {v.version for v in client.search_model_versions(f"name='{name}'")}

    command = _readme_experiment_command()
    assert command[:4] == ["dvc", "exp", "run", "--temp"] and "registry.mode=experiment" not in command
    done = _dvc(root, *command[1:])
    assert done.returncode == 0, done.stdout + done.stderr

    assert (root / "params.yaml").read_bytes() == before  # byte-identical, in the workspace and in git
    assert subprocess.run(["git", "diff", "--quiet", "params.yaml"], cwd=root).returncode == 0
    assert dict(client.get_registered_model(name).aliases) == aliases  # @champion did not move
    [new] = [v for v in client.search_model_versions(f"name='{name}'") if v.version not in versions]
    assert new.tags["alien.dvc_experiment"] and new.tags["alien.eligible"] == "false"
    assert new.version not in aliases.values()  # the experiment's version has no alias at all
    assert not list(root.glob(".dvc/tmp/exps/**/mlflow.db"))  # registered into the user's registry
