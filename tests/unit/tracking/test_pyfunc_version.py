"""Served rows name the registered version, as ``alien predict`` does (issue 17, finding 7).

The version number does not exist when the model is logged (it is registered from the
logged model afterwards), so the served model looks it up when it loads.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from alien.config import RegistryConfig
from flows.cli import main as cli
from tests.unit.tracking.fixtures import (  # noqa: F401  (pytest fixtures)
    EXPERIMENT,
    MODEL_NAME,
    TEXTS,
    deployable,
    empty_store,
    run_register,
    store,
    write_workspace,
)

CFG = RegistryConfig(model_name=MODEL_NAME, experiment=EXPERIMENT)


@pytest.fixture
def registered(tmp_path: Path, deployable: Path, store: str, monkeypatch) -> Path:  # noqa: F811
    """Version 1, the champion, registered by the register stage; returns the texts file."""
    monkeypatch.chdir(tmp_path)
    paths = write_workspace(tmp_path, deployable, passed=True)
    assert run_register(CFG, paths).version == "1"
    texts = tmp_path / "texts.txt"
    texts.write_text("\n".join(TEXTS) + "\n")
    return texts


def test_served_rows_equal_alien_predict_column_by_column(registered, capsys) -> None:
    import mlflow

    loaded = mlflow.pyfunc.load_model(f"models:/{MODEL_NAME}@champion")
    served = loaded.predict(pd.DataFrame({"text": TEXTS}))
    model = loaded.unwrap_python_model()
    assert (model.model_name, model.model_version) == (MODEL_NAME, "1")
    assert cli(["predict", str(registered)]) == 0
    printed = pd.DataFrame([json.loads(line) for line in capsys.readouterr().out.splitlines()])

    assert printed.pop("text").tolist() == TEXTS  # the CLI echoes its input; the server answers in order
    missing = sorted(set(printed.columns) - set(served.columns))
    assert not missing, f"`alien predict` prints columns the server does not: {missing}"
    for column in printed.columns:
        got, want = served[column].tolist(), printed[column].tolist()
        if column in ("uncertainty", "raw_uncertainty"):  # the CLI rounds to 6 decimals
            np.testing.assert_allclose(got, want, atol=1e-6, err_msg=column)
        else:
            assert got == want, column
    assert served["model_version"].tolist() == ["1"] * len(TEXTS)


def test_a_version_given_at_serve_time_wins_and_an_unregistered_model_has_none(
    registered,
    deployable,  # noqa: F811
    tmp_path,
    monkeypatch,
) -> None:
    import mlflow

    from alien.tracking.pyfunc import log_alien_model
    from alien.tracking.serving import INFERENCE_CONFIG_ENV

    monkeypatch.setenv(INFERENCE_CONFIG_ENV, json.dumps({"model_version": "9", "max_wait_ms": 1}))
    model = mlflow.pyfunc.load_model(f"models:/{MODEL_NAME}/1").unwrap_python_model()
    assert model.model_version == "9" and model.config.options.max_wait_ms == 1.0
    monkeypatch.delenv(INFERENCE_CONFIG_ENV)

    experiment = mlflow.create_experiment("unregistered", artifact_location=(tmp_path / "artifacts").as_uri())
    with mlflow.start_run(experiment_id=experiment):  # artifacts under tmp_path, not the default ./mlruns
        info = log_alien_model(deployable, name="unregistered")
    loaded = mlflow.pyfunc.load_model(info.model_uri)
    assert loaded.unwrap_python_model().model_version is None
    assert loaded.predict(pd.DataFrame({"text": TEXTS[:2]}))["model_version"].isna().all()
