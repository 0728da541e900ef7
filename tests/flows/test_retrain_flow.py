"""The Prefect ``retrain`` flow end to end on a tiny real project (git + DVC + sqlite MLflow)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.project import make_tiny_project, write_params

FIRED = [  # what flows.monitor passes: alien.monitoring.Trigger.to_dict() of each trigger that fired
    {
        "name": "drift_u",
        "window_key": "3/rows 600-799",
        "model_version": "3",
        "window": "rows 600-799",
        "reason": "ks drift of u: p = 3.2e-07 < 0.01",
        "numbers": {"statistic": 0.41237, "p_value": 3.2e-07, "alpha": 0.01},
    },
    {
        "name": "error_above_champion",
        "window_key": "3/rows 600-799",
        "model_version": "3",
        "window": "rows 600-799",
        "reason": "estimated error 0.291 > champion's test error 0.120: p = 1e-09 < 0.01",
        "numbers": {"estimated_error": 0.2914, "champion_test_error": 0.12, "p_value": 1e-09, "alpha": 0.01},
    },
]


@pytest.fixture
def project(tmp_path, monkeypatch, prefect_harness):
    root = make_tiny_project(tmp_path / "project")
    monkeypatch.chdir(root)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    return root


def _retrain():
    from flows.retrain import retrain

    return retrain(params_path="params.yaml")


def _retrain_run(**parameters):
    """One flow run: its return value, and the name of each stage's final Prefect state."""
    from prefect import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

    from flows.retrain import retrain

    state = retrain(params_path="params.yaml", return_state=True, **parameters)
    run_id = state.state_details.flow_run_id
    with get_client(sync_client=True) as client:
        runs = client.read_task_runs(flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[run_id])))
    return state.result(), {r.name.rsplit("-", 1)[0]: r.state_name for r in runs}


def _summaries() -> list[str]:
    from prefect import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey

    from flows.retrain import SUMMARY_ARTIFACT

    with get_client(sync_client=True) as client:
        found = client.read_artifacts(
            artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=[SUMMARY_ARTIFACT]))
        )
    return [a.data for a in found]


def _registry(root: Path):
    from mlflow import MlflowClient

    client = MlflowClient(tracking_uri=f"sqlite:///{root / 'mlflow.db'}")
    versions = sorted(int(v.version) for v in client.search_model_versions("name='alien-classifier'"))
    aliases = client.get_registered_model("alien-classifier").aliases if versions else {}
    return versions, {k: str(v) for k, v in aliases.items()}


def _stages(result):
    return {s["stage"]: s["skipped"] for s in result["stages"]}


def test_lifecycle_champion_noop_gate_failure_promotion_rollback_predict(project, monkeypatch):
    from flows.cli import main as cli

    # 1. first run: everything runs, no champion to compare with, promoted
    first = _retrain()
    assert not any(_stages(first).values())
    report = json.loads(Path("reports/gate_report.json").read_text())
    assert {g["name"]: g["status"] for g in report["gates"]}["champion"] == "no champion"
    assert _registry(project) == ([1], {"champion": "1", "challenger": "1"})
    assert "Gate verdict: PASSED" in first["summary"]
    assert "version 1 is the champion" in first["summary"]
    assert first["outcome"] == "promoted: version 1 is @champion · gate verdict: PASSED"
    assert first["summary"].splitlines()[2] == f"**Registry: {first['outcome']}**"
    assert first["registry"] == {
        "champion": "1",
        "version": "1",
        "aliases": ["challenger", "champion"],
        "tracking_uri": f"sqlite:///{project / 'mlflow.db'}",
    }
    assert first["data_version"]["source"] == "dvc.lock"
    assert first["started_by"] == "started by hand (no monitor trigger, no schedule)"
    assert "\n\nWhy it ran: started by hand" in first["summary"]

    # 2. nothing changed: the DVC-tracked stages after fetch are skipped (shown as Skipped in
    # Prefect); gate and register read the live registry, so they run, and register nothing new
    # (started as the monitor flow starts it: with the triggers that fired and their numbers)
    again, states = _retrain_run(triggers=FIRED)
    assert _stages(again) == {
        "fetch": False,
        "prepare": True,
        "finetune": True,
        "features": True,
        "align": True,
        "evaluate": True,
        "gate": False,
        "register": False,
    }
    assert {k: v for k, v in states.items() if k in _stages(again)} == {
        "fetch": "Completed",
        "prepare": "Skipped",
        "finetune": "Skipped",
        "features": "Skipped",
        "align": "Skipped",
        "evaluate": "Skipped",
        "gate": "Completed",
        "register": "Completed",
    }
    assert _registry(project)[0] == [1]
    # issue 17 item 4: the gate passed again, but nothing was promoted, and the headline says why
    assert again["outcome"].startswith("not promoted (version 1) because this model and data are already")
    assert again["outcome"].endswith("gate verdict: PASSED")
    assert sorted(_summaries()) == sorted([first["summary"], again["summary"]])  # one key, a version per run
    started = (
        "started by monitor trigger drift_u: statistic 0.412, p_value 3.2e-07, alpha 0.01 (window 3/rows 600-799); "
        "monitor trigger error_above_champion: estimated_error 0.291, champion_test_error 0.12, p_value 1e-09, "
        "alpha 0.01 (window 3/rows 600-799)"
    )
    assert again["started_by"] == started and f"Why it ran: {started}\n" in again["summary"]

    # 2b. nothing new again: run 2 compared v1 with itself, so gate and register now find that
    # decision standing (issue 20 item 5): Skipped in Prefect, "unchanged" in the headline, nothing written
    import alien.pipeline.incremental as incremental

    asked: list[str] = []
    reusable = incremental.reusable
    monkeypatch.setattr(
        incremental, "reusable", lambda stage, root: asked.append(stage) or reusable(stage, root=root)
    )
    still, states = _retrain_run()
    assert asked == []  # DVC asked once for the whole run (the dvc-status task), not once per stage
    assert states["dvc-status"] == "Completed"
    assert _stages(still)["gate"] is True and _stages(still)["register"] is True
    assert (states["gate"], states["register"]) == ("Skipped", "Skipped")
    assert "unchanged since the decision of" in still["outcome"] and "promoted:" not in still["outcome"]
    assert f"**Registry: {still['outcome']}**" in still["summary"]
    assert _registry(project) == ([1], {"champion": "1", "challenger": "1"})

    # 3. the same model under a stricter gate fails it: nothing new is registered (the deployable
    # is v1's), the champion stays, and the summary says FAILED, as the JSON report does
    write_params(
        project,
        gates={"max_ece": 1e-4},
    )
    failing = _retrain()
    assert _stages(failing)["finetune"] is True  # only the gate changed
    report = json.loads(Path("reports/gate_report.json").read_text())
    assert not report["passed"]
    assert {g["name"]: g["status"] for g in report["gates"]}["champion"] in ("pass", "fail")
    assert report["champion"]["version"] == "1"
    assert _registry(project) == ([1], {"champion": "1", "challenger": "1"})
    assert "Gate verdict: FAILED" in failing["summary"] and "PASSED" not in failing["summary"]

    # 4. a passing challenger (different grid) is compared with v1 and promoted
    write_params(
        project,
        align={
            "alphas": [0.01],
            "learning_rates": [1e-3],
            "betas": [0.01],
            "max_epochs": 5,
            "patience": 2,
            "batch_size": 32,
        },
    )
    _retrain()
    versions, aliases = _registry(project)
    assert versions == [1, 2]
    assert aliases == {"champion": "2", "challenger": "2", "previous-champion": "1"}

    # 5. rollback moves champion back to the previous champion
    assert cli(["rollback", "--reason", "lifecycle test"]) == 0
    assert _registry(project)[1]["champion"] == "1"

    # stale case: the next nightly no-op run says what the registry says (v1), not that v2 was promoted
    nightly = _retrain()
    assert _registry(project)[1]["champion"] == "1"
    assert nightly["registry"]["champion"] == "1" and nightly["registry"]["version"] == "2"
    assert "`models:/alien-classifier@champion` = version 1" in nightly["summary"]
    assert "version 2 is not the champion" in nightly["summary"]
    assert (
        nightly["outcome"].startswith("not promoted (version 2) because")
        and "not eligible" in nightly["outcome"]
    )
    assert f"**Registry: {nightly['outcome']}**" in nightly["summary"]

    # 6. predict with the champion from the registry == the in-process model it came from
    assert cli(["rollback", "--reason", "again"]) == 2  # nothing further back: a clear error, no change
    assert _registry(project)[1]["champion"] == "1"
    import mlflow

    from alien.tracking.setup import pointed_at

    texts = pd.read_csv(project / "tiny.csv")["text"].head(7).tolist()
    with pointed_at(f"sqlite:///{project / 'mlflow.db'}"):  # set and restored: no leak into later tests
        served = mlflow.pyfunc.load_model("models:/alien-classifier@champion").predict(
            pd.DataFrame({"text": texts})
        )
    from alien.config import load_params
    from alien.tracking.champion import load_champion

    version, local = load_champion(load_params("params.yaml").registry)
    assert version == "1"
    np.testing.assert_allclose(served["uncertainty"].to_numpy(), local.predict(texts).uncertainty, atol=1e-6)

    # 7. the CLI predicts with the champion: one JSON line per text, same uncertainty
    (project / "texts.txt").write_text("\n".join(texts) + "\n")
    done = subprocess.run(
        [sys.executable, "-m", "flows.cli", "predict", "texts.txt"],
        cwd=project,
        capture_output=True,
        text=True,
        check=True,
    )
    rows = [json.loads(line) for line in done.stdout.splitlines()]
    assert [r["text"] for r in rows] == texts and {r["model_version"] for r in rows} == {"1"}
    np.testing.assert_allclose([r["uncertainty"] for r in rows], local.predict(texts).uncertainty, atol=1e-5)


def test_failure_midway_leaves_registry_as_it_was(project, monkeypatch):
    from tasks.stages import STAGE_TASKS

    _retrain()
    before = _registry(project)
    write_params(
        project,
        align={
            "alphas": [1.0],
            "learning_rates": [1e-3],
            "betas": [0.01],
            "max_epochs": 3,
            "patience": 2,
            "batch_size": 32,
        },
    )

    def boom(*args, **kwargs):
        raise RuntimeError("registry write failed")

    # fails right after the new (pending) version exists, at the first write of the commit plan
    # (recording it in the journal): the stage must delete the version again
    monkeypatch.setattr("mlflow.MlflowClient.set_registered_model_tag", boom)
    monkeypatch.setitem(STAGE_TASKS, "register", STAGE_TASKS["register"].with_options(retries=0))
    with pytest.raises(RuntimeError, match="registry write failed"):
        _retrain()
    assert _registry(project) == before


@pytest.mark.parametrize(
    ("breakage", "message"),
    [
        ("drop_label_column", "label"),
        ("single_row_per_class", "split"),
    ],
)
def test_bad_data_stops_early_and_registry_is_untouched(project, breakage, message):
    _retrain()
    before = _registry(project)
    frame = pd.read_csv(project / "tiny.csv")
    if breakage == "drop_label_column":
        frame = frame.drop(columns=["label"])
    else:  # far too few rows to fill train/validation/alignment/test
        frame = frame.groupby("label").head(1)
    frame.to_csv(project / "tiny.csv", index=False)
    with pytest.raises(ValueError, match=message):
        _retrain()
    assert _registry(project) == before
    # the previous pipeline outputs are still there for the next good run
    assert Path("data/prepared/train.jsonl").is_file()
    assert Path("models/deployable").is_dir()


def test_a_run_made_by_the_schedule_says_it_was_scheduled(prefect_harness):
    """The server's own scheduling (what its scheduler service runs) makes the run; no pipeline runs."""
    from prefect import get_client
    from prefect.client.schemas.filters import DeploymentFilter, DeploymentFilterId

    from flows.deploy import nightly_deployment
    from flows.retrain import how_started

    deployment_id = nightly_deployment(cron="0 2 * * *").apply()
    with get_client(sync_client=True) as client:
        made = client._client.post(
            f"/deployments/{deployment_id}/schedule", json={"min_runs": 1, "max_runs": 1}
        )
        made.raise_for_status()
        runs = client.read_flow_runs(
            deployment_filter=DeploymentFilter(id=DeploymentFilterId(any_=[deployment_id]))
        )
        by_hand = client.create_flow_run_from_deployment(deployment_id)
    (scheduled,) = [r for r in runs if r.auto_scheduled]
    assert scheduled.expected_start_time.hour == 2
    started = how_started(scheduled, None)
    assert started.startswith("scheduled: a run of its deployment's schedule, due ")
    assert f"{scheduled.expected_start_time:%Y-%m-%d} 02:00" in started
    assert how_started(by_hand, None) == "started by hand (no monitor trigger, no schedule)"
    assert how_started(scheduled, FIRED[:1]).startswith("started by monitor trigger drift_u: ")
    with pytest.raises(ValueError, match="trigger 0 must be a mapping with a 'name'"):
        how_started(None, [{"numbers": {}}])
