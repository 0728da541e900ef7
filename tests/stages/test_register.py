"""The register stage against a real sqlite MLflow store in ``tmp_path``."""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from alien.config import RegistryConfig
from alien.stages import register
from alien.tracking import RegistryUnavailableError
from alien.tracking import registry as reg
from tests.unit.tracking.fixtures import (  # noqa: F401  (pytest fixtures)
    EXPERIMENT,
    MODEL_NAME,
    TEXTS,
    deployable,
    empty_store,
    md5,
    store,
    write_gate_report,
    write_workspace,
)

CFG = RegistryConfig(model_name=MODEL_NAME, experiment=EXPERIMENT, tracking_uri="sqlite:///unused.db")


@pytest.fixture
def workspace(tmp_path: Path, deployable: Path, store: str, monkeypatch: pytest.MonkeyPatch):  # noqa: F811
    monkeypatch.chdir(tmp_path)
    return write_workspace(tmp_path, deployable, passed=True)


def _state() -> tuple[set[str], dict[str, str]]:
    from mlflow import MlflowClient

    client = MlflowClient()
    versions = {str(v.version) for v in client.search_model_versions(f"name = '{MODEL_NAME}'")}
    return versions, reg.aliases_of(MODEL_NAME, client=client)


def test_cli_registers_champion_then_failed_gate_only_challenger(workspace, capsys) -> None:
    from mlflow import MlflowClient

    assert register.main(["--params", "params.yaml"]) == 0
    first = json.loads(capsys.readouterr().out)
    assert (first["version"], first["promoted"], first["champion_version"]) == ("1", True, "1")
    assert first["previous_champion"] is None
    assert json.loads(Path(workspace.registration).read_text())["run_id"] == first["run_id"]

    client = MlflowClient()
    run = client.get_run(first["run_id"])
    assert run.data.metrics["alien.roc_auc"] == pytest.approx(0.81)
    assert run.data.metrics["entropy.ece"] == pytest.approx(0.063)
    assert run.data.metrics["task.accuracy"] == pytest.approx(0.87)
    assert run.data.metrics["align.best.val_auroc"] == pytest.approx(0.8)
    assert run.data.params["align.alphas"] == "[0.01, 0.1]"
    assert run.data.tags["data_version"] == md5(workspace.raw)
    assert run.data.tags["data_version_source"] == "file"
    assert run.data.tags["gate_passed"] == "true"
    assert run.data.tags["git_commit"] == "unknown"  # tmp_path is not a git repo
    artifacts = {a.path for a in client.list_artifacts(first["run_id"])}
    expected = {"gate_report.json", "gate_report.md", "metrics.json", "params.yaml", "plots", "model_card.md"}
    assert expected <= artifacts
    description = client.get_model_version(MODEL_NAME, "1").description
    assert "| auroc_vs_entropy |" in description and "| entropy |" in description

    write_gate_report(workspace, passed=False, champion={"version": "1", "roc_auc": 0.8, "ece": 0.05,
                                                          "accuracy": 0.86})  # fmt: skip
    second = register.run(CFG, workspace).to_dict()
    assert (second["version"], second["promoted"], second["champion_version"]) == ("2", False, "1")
    assert _state() == ({"1", "2"}, {"champion": "1", "challenger": "2"})
    rows = reg.history(MODEL_NAME)
    assert [(r["version"], r["gate_passed"]) for r in rows] == [("1", True), ("2", False)]
    assert "FAILED" in MlflowClient().get_model_version(MODEL_NAME, "2").description


def test_stale_gate_report_does_not_promote(workspace) -> None:
    register.run(CFG, workspace)  # v1 champion; the gate report still says "no champion"
    result = register.run(CFG, workspace)
    assert not result.promoted
    assert "rerun the gate" in result.reason
    assert _state()[1] == {"champion": "1", "challenger": "2"}


def test_failure_after_version_created_restores_registry(workspace, monkeypatch) -> None:
    from mlflow import MlflowClient

    register.run(CFG, workspace)
    before = _state()
    registration = Path(workspace.registration).read_text()
    write_gate_report(workspace, passed=True, champion={"version": "1", "roc_auc": 0.8, "ece": 0.05,
                                                         "accuracy": 0.86})  # fmt: skip

    def explode(self, name, version, key, value):
        raise RuntimeError("injected: tag write failed")

    # promote() sets both aliases first, then fails tagging: the worst moment
    monkeypatch.setattr(MlflowClient, "set_model_version_tag", explode)
    with pytest.raises(RuntimeError, match="injected"):
        register.run(CFG, workspace)
    assert _state() == before == ({"1"}, {"champion": "1", "challenger": "1"})
    assert Path(workspace.registration).read_text() == registration


def test_registry_down_fails_fast_and_writes_nothing(workspace, monkeypatch) -> None:
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://127.0.0.1:9")
    start = time.perf_counter()
    with pytest.raises(RegistryUnavailableError, match=r"http://127\.0\.0\.1:9"):
        register.run(CFG, workspace)
    assert time.perf_counter() - start < 15
    assert not Path(workspace.registration).exists()


@pytest.mark.parametrize(
    ("breakage", "error", "match"),
    [
        ("deployable", FileNotFoundError, "deployable model folder"),
        ("passed", ValueError, "'passed'"),
        ("status", ValueError, "status 'maybe'"),
    ],
)
def test_bad_inputs_raise_before_touching_the_registry(workspace, tmp_path, breakage, error, match) -> None:
    from mlflow import MlflowClient

    paths = workspace
    report = json.loads(Path(paths.gate_report).read_text())
    if breakage == "deployable":
        paths = type(paths)(**{**vars(paths), "deployable": str(tmp_path / "missing")})
    elif breakage == "passed":
        del report["passed"]
    else:
        report["gates"][0]["status"] = "maybe"
    Path(paths.gate_report).write_text(json.dumps(report))
    with pytest.raises(error, match=match):
        register.run(CFG, paths)
    client = MlflowClient()
    assert client.search_registered_models() == []
    assert client.get_experiment_by_name(EXPERIMENT) is None  # not even tracking was configured


def test_champion_pyfunc_and_load_champion_match_in_process_predictions(workspace, deployable) -> None:  # noqa: F811
    import mlflow

    from alien.core.model import AlienClassifier
    from alien.tracking.champion import load_champion

    assert load_champion(CFG) is None  # nothing registered yet
    register.run(CFG, workspace)
    expected = AlienClassifier.load(deployable).predict(TEXTS)
    assert np.ptp(expected.uncertainty) > 1e-3  # the comparison below can tell inputs apart

    served = mlflow.pyfunc.load_model(f"models:/{MODEL_NAME}@champion")
    out = served.predict(pd.DataFrame({"text": TEXTS}))
    np.testing.assert_allclose(out["uncertainty"].to_numpy(), expected.uncertainty, rtol=0, atol=1e-6)
    np.testing.assert_array_equal(out["label_id"].to_numpy(), expected.labels)
    assert out["label"].tolist() == [expected.label_names[i] for i in expected.labels]
    np.testing.assert_allclose(np.stack(out["probabilities"].to_numpy()), expected.probabilities, atol=1e-6)
    with pytest.raises(Exception, match="text"):
        served.predict(pd.DataFrame({"sentence": TEXTS}))

    loaded = load_champion(CFG)
    assert loaded is not None and loaded[0] == "1"
    np.testing.assert_allclose(loaded[1].predict(TEXTS).uncertainty, expected.uncertainty, rtol=0, atol=1e-6)
