"""The nightly deployment run by a real worker from a process work pool on a real Prefect server.

What runs, in the order docs/scale-out.md gives: ``prefect server start`` on PostgreSQL
(conftest), ``prefect work-pool create alien-process --type process``, ``python -m flows.deploy
--pool alien-process --cron "0 2 * * *" --params params.yaml --notify-webhook URL`` in the tiny
project, ``prefect worker start --pool alien-process --type process``; runs register on the
``mlflow server`` of conftest. Commands come from :mod:`tests.integration.commands`.
"""

from __future__ import annotations

import json
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest

from flows.retrain import SUMMARY_ARTIFACT
from tests.integration import commands
from tests.integration.servers import ServerProcess, free_port, server_env, start
from tests.project import make_tiny_project

FINAL = {"COMPLETED", "FAILED", "CRASHED", "CANCELLED"}


class _Receiver(BaseHTTPRequestHandler):
    received: ClassVar[list[dict[str, Any]]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        type(self).received.append(json.loads(body or b"{}"))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@dataclass
class Nightly:
    root: Path
    env: dict[str, str]
    worker: ServerProcess
    webhook: list[dict[str, Any]]
    deploy_output: str


@pytest.fixture(scope="module")
def webhook() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    """A local HTTP endpoint recording the JSON bodies POSTed to it."""
    _Receiver.received = []
    server = ThreadingHTTPServer(("127.0.0.1", free_port()), _Receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/hook", _Receiver.received
    server.shutdown()


@pytest.fixture(scope="module")
def nightly(
    tmp_path_factory: pytest.TempPathFactory,
    prefect_env: dict[str, str],
    mlflow_server: ServerProcess,
    webhook: tuple[str, list[dict[str, Any]]],
) -> Iterator[Nightly]:
    """Pool created, deployment registered, worker polling every second."""
    root = tmp_path_factory.mktemp("nightly") / "project"
    # its own model name: the session's server also holds test_mlflow_server's model
    registry = {"tracking_uri": mlflow_server.url, "model_name": "alien-nightly"}
    make_tiny_project(root, overrides={"registry": registry})
    env = server_env(**prefect_env)
    env.pop("MLFLOW_TRACKING_URI", None)
    run = lambda argv: subprocess.run(argv, cwd=root, env=env, capture_output=True, text=True, timeout=300)  # noqa: E731
    created = run(commands.create_work_pool())
    assert created.returncode == 0, created.stderr
    deployed = run([*commands.deploy_nightly(params="params.yaml"), "--notify-webhook", webhook[0]])
    assert deployed.returncode == 0, deployed.stderr
    worker = start(
        commands.prefect_worker(),
        log=root.parent / "worker.log",
        url=prefect_env["PREFECT_API_URL"],
        cwd=root,
        **prefect_env,
        PREFECT_WORKER_QUERY_SECONDS="1",
    )
    yield Nightly(root, prefect_env, worker, webhook[1], deployed.stdout)
    worker.stop()


@pytest.fixture(scope="module")
def client(nightly: Nightly) -> Iterator[Any]:
    from prefect.client.orchestration import get_client
    from prefect.settings import PREFECT_API_URL, temporary_settings

    with (
        temporary_settings({PREFECT_API_URL: nightly.env["PREFECT_API_URL"]}),
        get_client(sync_client=True) as prefect_client,
    ):
        yield prefect_client


def _deployment(client: Any) -> Any:
    return client.read_deployment_by_name(f"retrain/{commands.DEPLOYMENT}")


def trigger(client: Any, **parameters: Any) -> Any:
    deployment = _deployment(client)
    return client.create_flow_run_from_deployment(deployment.id, parameters=parameters or None)


def wait_final(client: Any, run_id: Any, worker: ServerProcess, *, timeout: float = 420.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        run = client.read_flow_run(run_id)
        if run.state is not None and run.state.type.value in FINAL:
            return run
        assert worker.alive(), worker.log_tail()
        time.sleep(0.5)
    raise TimeoutError(f"flow run {run_id} not finished after {timeout} s:\n{worker.log_tail()}")


def summaries(client: Any) -> list[Any]:
    """Every version of the run-summary artifact (one per run, newest first)."""
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey

    return client.read_artifacts(
        artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=[SUMMARY_ARTIFACT]))
    )


def state_names(client: Any, run_id: Any) -> list[str]:
    return [s.name for s in client.read_flow_run_states(run_id)]


def test_deployment_is_on_the_pool_with_the_cron_and_a_limit_of_one(nightly: Nightly, client: Any) -> None:
    deployment = _deployment(client)
    assert deployment.work_pool_name == commands.WORK_POOL
    assert deployment.entrypoint == "flows.retrain.retrain"
    assert deployment.job_variables == {"working_dir": str(nightly.root)}
    assert [s.schedule.cron for s in deployment.schedules] == [commands.NIGHTLY_CRON]
    assert all(s.active for s in deployment.schedules)
    limit = deployment.concurrency_options
    assert (deployment.global_concurrency_limit.limit, limit.collision_strategy.value) == (1, "ENQUEUE")
    # the server's scheduler has put the next nights on the calendar, at 02:00 UTC
    # (its loop runs every 5 s here, so poll; the runs other tests trigger are not scheduled ones)
    deadline, starts = time.monotonic() + 90, []
    while not starts and time.monotonic() < deadline:
        runs = client.read_flow_runs(limit=50)
        starts = [
            r.expected_start_time
            for r in runs
            if r.deployment_id == deployment.id and r.state is not None and r.state.name == "Scheduled"
            and r.auto_scheduled
        ]  # fmt: skip
        time.sleep(0 if starts else 1)
    assert starts, "the server's scheduler put no run of the nightly deployment on the calendar"
    assert all((t.hour, t.minute) == (2, 0) for t in starts), starts


def test_triggered_run_is_picked_up_by_the_worker_and_completes(nightly: Nightly, client: Any) -> None:
    from mlflow import MlflowClient

    run = wait_final(client, trigger(client).id, nightly.worker)
    assert run.state.type.value == "COMPLETED", nightly.worker.log_tail()
    assert run.work_pool_name == commands.WORK_POOL
    assert "Pending" in state_names(client, run.id)  # the worker submitted it (served runs skip no state)
    registration = json.loads((nightly.root / "reports" / "registration.json").read_text())
    tracking = MlflowClient(tracking_uri=registration["tracking_uri"])
    model = tracking.get_registered_model(registration["model_name"])
    assert model.aliases["champion"] == registration["version"]
    assert run.id in {a.flow_run_id for a in summaries(client)}


def test_second_run_waits_for_the_first_and_never_overlaps(nightly: Nightly, client: Any) -> None:
    first, second = trigger(client), trigger(client)
    runs = [wait_final(client, r.id, nightly.worker) for r in (first, second)]
    assert [r.state.type.value for r in runs] == ["COMPLETED", "COMPLETED"], nightly.worker.log_tail()
    waited = [r for r in runs if "AwaitingConcurrencySlot" in state_names(client, r.id)]
    assert len(waited) >= 1
    earlier, later = sorted(runs, key=lambda r: r.start_time)
    assert later.start_time >= earlier.end_time
    # keyed artifact: one run summary (gate + registry) per run, the history under one key
    assert {r.id for r in runs} <= {a.flow_run_id for a in summaries(client)}


def test_failed_run_sends_the_webhook_notification(nightly: Nightly, client: Any) -> None:
    run = wait_final(client, trigger(client, params_path="missing.yaml").id, nightly.worker)
    assert run.state.type.value == "FAILED"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not any(str(run.id) in m.get("body", "") for m in nightly.webhook):
        time.sleep(0.5)
    assert [m for m in nightly.webhook if str(run.id) in m.get("body", "")], nightly.webhook
