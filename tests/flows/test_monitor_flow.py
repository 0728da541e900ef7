"""The ``monitor`` flow on a real (test-harness) Prefect server: a shifted stream starts a run of the
real nightly retrain deployment, tagged with the trigger; in-distribution windows start nothing, and
no window fires twice. (The worker that would then execute the run: tests/integration.)"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import yaml

from alien.monitoring import PredictionLog, read_log
from alien.stages.artifacts import TestScores
from tests.project import ROOT

RNG_SEED = 7


def _rows(u: np.ndarray) -> list[dict]:
    return [
        {
            "model_name": "alien-classifier",
            "model_version": "3",
            "label": "pos",
            "u": float(x),
            "raw_uncertainty": float(x),
            "abstain": bool(x > 0.5),
            "text": f"row {i}",
        }
        for i, x in enumerate(u)
    ]


@pytest.fixture
def project(tmp_path: Path, monkeypatch, prefect_harness) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    params["monitor"].update(log="log", window={**params["monitor"]["window"], "size": 200})
    params["registry"]["tracking_uri"] = f"sqlite:///{tmp_path / 'mlflow.db'}"  # absent: MLflow skipped
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    rng = np.random.default_rng(RNG_SEED)
    reference = rng.beta(1.0, 6.0, size=2000)
    errors = (rng.uniform(size=reference.size) < reference).astype(np.int64)
    zeros = np.zeros(reference.size, dtype=np.int64)
    (tmp_path / "reports").mkdir()
    TestScores({"alien": reference}, {"alien": True}, errors, zeros, zeros, n_bins=15).save(
        tmp_path / params["paths"]["scores"]
    )
    with PredictionLog(tmp_path / "log") as log:
        log.append(_rows(rng.beta(1.0, 6.0, size=600)))  # 3 in-distribution windows
        log.append(_rows(rng.beta(3.0, 3.0, size=200)))  # then a shifted one
    return tmp_path


def _flow_run(flow_run_id: str):
    from prefect import get_client

    with get_client(sync_client=True) as client:
        return client.read_flow_run(flow_run_id)


def test_a_shifted_stream_starts_the_retrain_deployment_once(project: Path) -> None:
    from flows.deploy import nightly_deployment
    from flows.monitor import monitor
    from flows.retrain import how_started

    deployment_id = nightly_deployment().apply()
    result = monitor(params_path="params.yaml")
    assert result["version"] == "3" and result["windows"] == 4
    assert {t["window"] for t in result["triggers"]} == {"rows 600-799"}  # in distribution: nothing
    assert {t["name"] for t in result["triggers"]} >= {"error_above_champion", "drift_u"}
    run = _flow_run(result["retrain_flow_run"])
    assert run.deployment_id == deployment_id and run.parameters["params_path"] == "params.yaml"
    assert {"monitor", "trigger:error_above_champion", "trigger:drift_u"} <= set(run.tags)
    # the run carries each trigger and the numbers behind it: its summary names them
    assert run.parameters["triggers"] == result["triggers"]
    error = next(t for t in run.parameters["triggers"] if t["name"] == "error_above_champion")
    assert error["window_key"] == "3/rows 600-799" and error["numbers"]["estimated_error"] > 0.3
    started = how_started(run, run.parameters["triggers"])
    assert started.startswith("started by monitor trigger ")
    assert (
        f"monitor trigger error_above_champion: estimated_error {error['numbers']['estimated_error']:.3g}, "
        in started
    )

    again = monitor(params_path="params.yaml")  # the same windows: the fired one fires no more
    assert again["triggers"] == [] and again["retrain_flow_run"] is None
    assert (project / "log" / "triggers.jsonl").is_file() and len(read_log(project / "log")) == 800


def _runs_of(deployment_id) -> set[str]:
    from prefect import get_client
    from prefect.client.schemas.filters import DeploymentFilter, DeploymentFilterId

    with get_client(sync_client=True) as client:
        found = client.read_flow_runs(
            deployment_filter=DeploymentFilter(id=DeploymentFilterId(any_=[deployment_id]))
        )
    return {str(r.id) for r in found}


def test_an_in_distribution_stream_starts_nothing(project: Path) -> None:
    from flows.deploy import nightly_deployment
    from flows.monitor import monitor

    (project / "log").rename(project / "shifted-log")
    rng = np.random.default_rng(RNG_SEED + 1)
    with PredictionLog(project / "log") as log:
        log.append(_rows(rng.beta(1.0, 6.0, size=600)))  # the reference's distribution only
    deployment_id = nightly_deployment().apply()
    before = _runs_of(deployment_id)  # the harness is shared: other tests' runs stay
    result = monitor(params_path="params.yaml")
    assert result["version"] == "3" and result["windows"] == 3
    assert result["triggers"] == [] and result["retrain_flow_run"] is None
    assert _runs_of(deployment_id) == before
    assert not (project / "log" / "triggers.jsonl").exists()
