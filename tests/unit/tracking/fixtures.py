"""Fixtures for the MLflow tests: a real sqlite store per test, a tiny deployable model.

A fresh sqlite store spends ~5 s on schema migrations, so one migrated empty
database is made per session and copied for each test.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import torch
import yaml

from alien.config import BackboneConfig, DataConfig, PathsConfig, RegistryConfig
from tests.project import ROOT
from tests.tiny import tiny_model, tiny_tokenizer

if TYPE_CHECKING:
    from alien.stages.register import RegisterResult
    from alien.tracking.run_context import FlowContext

MODEL_NAME = "alien-test"
EXPERIMENT = "alien-test-exp"
TEXTS = ["a warm funny and moving film", "terrible acting and a stupid script", "number 7", "a mess"]


@pytest.fixture(scope="session")
def empty_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated, empty MLflow sqlite database (copy it, never use it directly)."""
    from mlflow import MlflowClient

    db = tmp_path_factory.mktemp("store-template") / "mlflow.db"
    MlflowClient(tracking_uri=f"sqlite:///{db}").search_experiments()
    return db


@pytest.fixture
def store(empty_store: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """``MLFLOW_TRACKING_URI`` pointing at a private copy of the empty store in ``tmp_path``."""
    import mlflow

    db = tmp_path / "mlflow.db"
    shutil.copy(empty_store, db)
    uri = f"sqlite:///{db}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    # forget the URI an earlier test configured, so a bare MlflowClient() reads this store
    monkeypatch.setattr("mlflow.tracking._tracking_service.utils._tracking_uri", None)
    monkeypatch.setattr("mlflow.tracking._model_registry.utils._registry_uri", None)
    yield uri
    if mlflow.active_run() is not None:
        mlflow.end_run()


@pytest.fixture(scope="session")
def deployable(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A saved tiny AlienClassifier whose uncertainty differs between inputs."""
    from alien.core.model import AlienClassifier

    model = tiny_model("bert")
    with torch.no_grad():  # sharpen the random classifier so predictions are not all ~uniform
        model.classifier.weight.mul_(300.0)
    classifier = AlienClassifier.from_model(
        model, tiny_tokenizer(), max_length=32, label_names=["negative", "positive"]
    )
    return classifier.save(tmp_path_factory.mktemp("deployable") / "deployable")


def gate_report(*, passed: bool, champion: dict[str, Any] | None = None) -> dict[str, Any]:
    status = "pass" if passed else "fail"
    return {
        "passed": passed,
        "gates": [
            {"name": "auroc_vs_entropy", "status": status, "passed": passed, "detail": "delta 0.031",
             "values": {"delta": 0.031, "ci_low": 0.004 if passed else -0.01}},
            {"name": "ece", "status": "pass", "passed": True, "detail": "ECE 0.041 <= 0.1",
             "values": {"ece": 0.041}},
            {"name": "champion", "status": "no champion" if champion is None else "pass", "passed": True,
             "detail": "first model", "values": {}},
        ],
        "champion": champion,
    }  # fmt: skip


METRICS = {
    "methods": {
        "alien": {"roc_auc": 0.81, "pr_auc": 0.52, "prr": 0.44, "aurc": 0.071, "ece": 0.041, "brier": 0.12},
        "entropy": {"roc_auc": 0.78, "pr_auc": 0.49, "prr": 0.39, "aurc": 0.079, "ece": 0.063, "brier": 0.14},
        "mahalanobis": {"roc_auc": 0.66, "pr_auc": 0.31, "prr": 0.20, "aurc": 0.101},
    },
    "task": {"accuracy": 0.87, "macro_f1": 0.869},
    "rows": {"test": 200, "test_errors": 26},
}


def write_workspace(
    root: Path, deployable: Path, *, passed: bool, champion: dict[str, Any] | None = None
) -> PathsConfig:
    """Lay out the inputs of ``register`` under ``root`` (plus ``params.yaml``); return the paths."""
    reports = root / "reports"
    (reports / "plots").mkdir(parents=True, exist_ok=True)
    (reports / "plots" / "reliability.png").write_bytes(b"\x89PNG fake")
    (reports / "plots" / "reliability.json").write_text("[]")
    raw = root / "data" / "raw.jsonl"
    raw.parent.mkdir(parents=True, exist_ok=True)
    raw.write_text('{"text": "a fine film", "label": "positive"}\n')
    paths = PathsConfig(
        raw=str(raw), deployable=str(deployable), metrics=str(reports / "metrics.json"),
        plots=str(reports / "plots"), gate_report=str(reports / "gate_report.json"),
        registration=str(reports / "registration.json"), grid=str(reports / "grid.json"),
    )  # fmt: skip
    (reports / "metrics.json").write_text(json.dumps(METRICS))
    (reports / "grid.json").write_text(json.dumps({"best": {"val_auroc": 0.8, "alpha": 0.1}}))
    write_gate_report(paths, passed=passed, champion=champion)
    # the shipped params.yaml (register only needs it valid), pointed at this workspace
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    params["paths"].update(vars(paths))
    params["registry"].update(
        model_name=MODEL_NAME, experiment=EXPERIMENT, tracking_uri=f"sqlite:///{root / 'mlflow.db'}"
    )
    (root / "params.yaml").write_text(yaml.safe_dump(params))
    return paths


def write_gate_report(paths: PathsConfig, *, passed: bool, champion: dict[str, Any] | None = None) -> None:
    Path(paths.gate_report).write_text(json.dumps(gate_report(passed=passed, champion=champion)))


def run_register(
    cfg: RegistryConfig, paths: PathsConfig, *, root: Path | None = None, context: FlowContext | None = None
) -> RegisterResult:
    """The register stage as its runner calls it: typed sections, the project root, the flow's context."""
    from alien.stages import register

    data, backbone = DataConfig(source="package:trec"), BackboneConfig(name="package:minilm")
    return register.run(
        cfg, data, backbone, paths, root=Path.cwd() if root is None else root, context=context
    )


def md5(path: str | Path) -> str:
    return hashlib.md5(Path(path).read_bytes()).hexdigest()
