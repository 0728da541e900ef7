"""The monitor deployment on a real Prefect server with a real worker: a shifted stream makes the
nightly retrain deployment run (started by the monitor flow, tagged with its trigger) and complete.

The order of docs/scale-out.md: ``prefect work-pool create``, ``python -m flows.deploy --pool ...
--monitor-cron ...`` in the tiny project, ``prefect worker start``. The champion's test split is a
synthetic ``reports/scores.npz`` (the monitor's reference), the log a calibrated stream then a shift.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from alien.monitoring import PredictionLog
from alien.stages.artifacts import TestScores
from tests.integration import commands
from tests.integration.servers import ServerProcess, server_env, start
from tests.integration.test_prefect_worker import wait_final
from tests.project import make_tiny_project

MONITOR_CRON = "0 3 * * *"


def _rows(u: np.ndarray) -> list[dict[str, Any]]:
    return [
        {
            "model_name": "alien-monitored",
            "model_version": "1",
            "label": "pos",
            "u": float(x),
            "raw_uncertainty": float(x),
            "abstain": bool(x > 0.5),
            "text": f"row {i}",
        }
        for i, x in enumerate(u)
    ]


def _shifted_project(root: Path, mlflow_url: str) -> None:
    registry = {"tracking_uri": mlflow_url, "model_name": "alien-monitored"}
    make_tiny_project(root, overrides={"registry": registry, "monitor": {"log": "log"}})
    rng = np.random.default_rng(11)
    reference = rng.beta(1.0, 6.0, size=2000)
    errors = (rng.uniform(size=reference.size) < reference).astype(np.int64)
    zeros = np.zeros(reference.size, dtype=np.int64)
    (root / "reports").mkdir(exist_ok=True)
    TestScores({"alien": reference}, {"alien": True}, errors, zeros, zeros, n_bins=15).save(
        root / "reports" / "scores.npz"
    )
    with PredictionLog(root / "log") as log:
        log.append(_rows(rng.beta(1.0, 6.0, size=400)))
        log.append(_rows(rng.beta(3.0, 3.0, size=200)))


@pytest.fixture(scope="module")
def worker(
    tmp_path_factory: pytest.TempPathFactory, prefect_env: dict[str, str], mlflow_server: ServerProcess
) -> Iterator[tuple[Path, ServerProcess]]:
    root = tmp_path_factory.mktemp("monitored") / "project"
    _shifted_project(root, mlflow_server.url)
    env = server_env(**prefect_env)
    env.pop("MLFLOW_TRACKING_URI", None)
    run = lambda argv: subprocess.run(argv, cwd=root, env=env, capture_output=True, text=True, timeout=300)  # noqa: E731
    assert (created := run(commands.create_work_pool())).returncode == 0, created.stderr
    deployed = run([*commands.deploy_nightly(params="params.yaml"), "--monitor-cron", MONITOR_CRON])
    assert deployed.returncode == 0, deployed.stderr
    process = start(
        commands.prefect_worker(),
        log=root.parent / "worker.log",
        url=prefect_env["PREFECT_API_URL"],
        cwd=root,
        **prefect_env,
        PREFECT_WORKER_QUERY_SECONDS="1",
    )
    yield root, process
    process.stop()


def test_a_shifted_stream_makes_the_retrain_deployment_run(
    worker: tuple[Path, ServerProcess], prefect_env
) -> None:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterTags
    from prefect.settings import PREFECT_API_URL, temporary_settings

    root, process = worker
    with (
        temporary_settings({PREFECT_API_URL: prefect_env["PREFECT_API_URL"]}),
        get_client(sync_client=True) as client,
    ):
        monitor = client.read_deployment_by_name("monitor/monitor")
        assert [s.schedule.cron for s in monitor.schedules] == [MONITOR_CRON]
        run = wait_final(client, client.create_flow_run_from_deployment(monitor.id).id, process)
        assert run.state.type.value == "COMPLETED", process.log_tail()
        started = client.read_flow_runs(
            flow_run_filter=FlowRunFilter(tags=FlowRunFilterTags(all_=["monitor", "trigger:drift_u"]))
        )
        assert len(started) == 1, process.log_tail()
        retrain = wait_final(client, started[0].id, process)
        assert retrain.state.type.value == "COMPLETED", process.log_tail()
        nightly = client.read_deployment_by_name(f"retrain/{commands.DEPLOYMENT}")
        assert retrain.deployment_id == nightly.id
    assert (root / "log" / "triggers.jsonl").is_file()
