"""Tracking URI resolution and failing fast when the store is down."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from alien.config import RegistryConfig
from alien.tracking import RegistryUnavailableError, configure_tracking, resolve_tracking_uri
from tests.unit.tracking.fixtures import empty_store, store  # noqa: F401  (pytest fixtures)


def test_env_wins_and_relative_sqlite_is_made_absolute(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    assert resolve_tracking_uri("sqlite:///mlflow.db", root=tmp_path) == f"sqlite:///{tmp_path}/mlflow.db"
    assert resolve_tracking_uri("sqlite:////abs/x.db", root=tmp_path) == "sqlite:////abs/x.db"
    assert resolve_tracking_uri("mlruns", root=tmp_path) == (tmp_path / "mlruns").as_uri()
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://tracking:5000")
    assert resolve_tracking_uri("sqlite:///mlflow.db", root=tmp_path) == "http://tracking:5000"


def test_configure_uses_store_and_keeps_artifacts_next_to_it(store, tmp_path: Path) -> None:  # noqa: F811
    from mlflow import MlflowClient
    from mlflow.tracking._model_registry import utils as registry_utils
    from mlflow.tracking._tracking_service import utils as tracking_utils

    cfg = RegistryConfig(experiment="exp-a", tracking_uri="sqlite:///ignored.db")
    tracking = configure_tracking(cfg, root=tmp_path)
    assert tracking.uri == store
    experiment = MlflowClient(tracking_uri=store).get_experiment_by_name("exp-a")
    assert experiment.experiment_id == tracking.experiment_id
    assert experiment.artifact_location == str(tmp_path / "mlartifacts")
    assert not (tmp_path / "ignored.db").exists()
    assert configure_tracking(cfg, root=tmp_path).experiment_id == tracking.experiment_id  # found, not made
    # nothing process-wide changed: MLflow's URIs are unset, the user's variables as they were
    assert tracking_utils._tracking_uri is None and registry_utils._registry_uri is None
    import os

    assert os.environ["MLFLOW_TRACKING_URI"] == store and "MLFLOW_REGISTRY_URI" not in os.environ


def test_run_environment_sets_defaults_for_the_block_only(monkeypatch) -> None:
    import os

    from alien.tracking.setup import RUN_ENV, run_environment

    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_TIMEOUT", "7")  # the user's choice wins
    monkeypatch.delenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", raising=False)
    with run_environment():
        assert os.environ["MLFLOW_HTTP_REQUEST_TIMEOUT"] == "7"
        assert os.environ["MLFLOW_HTTP_REQUEST_MAX_RETRIES"] == RUN_ENV["MLFLOW_HTTP_REQUEST_MAX_RETRIES"]
    assert "MLFLOW_HTTP_REQUEST_MAX_RETRIES" not in os.environ


@pytest.mark.parametrize("kind", ["http", "sqlite"])
def test_unreachable_store_raises_quickly_naming_the_uri(kind: str, tmp_path: Path, monkeypatch) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    uri = "http://127.0.0.1:9" if kind == "http" else f"sqlite:///{blocker}/mlflow.db"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    start = time.perf_counter()
    with pytest.raises(RegistryUnavailableError) as caught:
        configure_tracking(RegistryConfig())
    assert time.perf_counter() - start < 15
    assert uri in str(caught.value) and "cannot be reached" in str(caught.value)
    assert caught.value.__cause__ is not None  # the driver's own error is kept for the traceback


def test_configure_rejects_a_non_config() -> None:
    with pytest.raises(TypeError, match="RegistryConfig"):
        configure_tracking({"tracking_uri": "sqlite:///x.db"})  # type: ignore[arg-type]


def test_pointed_at_restores_uris_and_env(tmp_path: Path, monkeypatch) -> None:
    """A models:/ download is pointed at one registry; the next call in the process is not."""
    import os

    import mlflow

    from alien.tracking.setup import pointed_at

    mine = f"sqlite:///{tmp_path}/mine.db"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", mine)
    monkeypatch.delenv("MLFLOW_REGISTRY_URI", raising=False)
    mlflow.set_tracking_uri(None)
    mlflow.set_registry_uri(None)
    with pointed_at(f"sqlite:///{tmp_path}/other.db"):
        assert mlflow.get_registry_uri().endswith("other.db")
    assert os.environ["MLFLOW_TRACKING_URI"] == mine and "MLFLOW_REGISTRY_URI" not in os.environ
    # nothing was pinned: a later change of the variable still takes effect
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path}/later.db")
    assert mlflow.get_tracking_uri().endswith("later.db")
