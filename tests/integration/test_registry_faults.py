"""The register stage against a real ``mlflow server`` (sqlite backend) under faults and races.

Each case ends with exactly one consistent champion, no unfinished change and no
unreported orphan:

- a register process (forked from a preloaded fork server, so it need not import torch
  again) is killed (SIGKILL) just after the pending version is created,
  at the champion move, and just after the commit — ``alien champion`` reports what it
  left, the next run repairs it;
- it is killed inside ``log_model``, before any version exists — ``alien champion``
  reports the run it left RUNNING, the next run ends it FAILED with the reason;
- the server goes down during the commit and comes back — the retry completes it;
- two registrations of different models start at once — one promotes, the other is
  refused by the compare-and-set and says so.
"""

from __future__ import annotations

import json
import logging
import multiprocessing
import os
import signal
import socket
import traceback
from collections.abc import Iterator
from pathlib import Path

import pytest

from alien.config import RegistryConfig
from alien.tracking import Registry
from alien.tracking.names import JOURNAL_TAG
from tests.integration import commands
from tests.integration.servers import ServerProcess, free_port, start, wait_http
from tests.unit.tracking.fixtures import (  # noqa: F401
    deployable,
    run_register,
    write_gate_report,
    write_workspace,
)

pytestmark = pytest.mark.integration
V1 = {"version": "1", "roc_auc": 0.8, "ece": 0.05, "brier": 0.13, "accuracy": 0.86}
# Where a registration is SIGKILLed: (MlflowClient method, before or after the call, when).
KILL_POINTS = {
    "after_create": ("create_model_version", "after", lambda args: True),
    "at_champion_move": ("set_registered_model_alias", "before", lambda args: args[1] == "champion"),
    "after_commit": ("delete_registered_model_tag", "after", lambda args: args[1] == JOURNAL_TAG),
}
# Where a registration is SIGKILLed when a logger logs a line: (logger, message). Inside
# ``log_model``, before any version exists: where issue 17's kill landed.
LOG_KILL_POINTS = {"in_log_model": ("mlflow.pyfunc", "Validating input example against model signature")}


def _patch_kill_point(point: str) -> None:
    """Make this process SIGKILL itself at ``point`` (:data:`KILL_POINTS`, :data:`LOG_KILL_POINTS`)."""
    from mlflow import MlflowClient

    if point in LOG_KILL_POINTS:
        name, message = LOG_KILL_POINTS[point]

        def kill_on_line(record: logging.LogRecord) -> bool:  # a logger filter sees every record
            if record.getMessage() == message:
                os.kill(os.getpid(), signal.SIGKILL)
            return True

        logging.getLogger(name).setLevel(logging.INFO)
        logging.getLogger(name).addFilter(kill_on_line)
        return
    method, when, matches = KILL_POINTS[point]
    real = getattr(MlflowClient, method)

    def wrapped(self, *args, **kwargs):
        if when == "before" and matches(args):
            os.kill(os.getpid(), signal.SIGKILL)
        out = real(self, *args, **kwargs)
        if when == "after" and matches(args):
            os.kill(os.getpid(), signal.SIGKILL)
        return out

    setattr(MlflowClient, method, wrapped)


def _register_child(cfg: RegistryConfig, paths, point: str | None, env: dict[str, str], cwd: str) -> None:
    """The body of a register process: SIGKILL itself at ``point``, else exit 0 (1 on error)."""
    os.environ.update(env)
    os.chdir(cwd)
    if point is not None:
        _patch_kill_point(point)
    try:
        run_register(cfg, paths)
    except BaseException:
        traceback.print_exc()
        os._exit(1)
    os._exit(0)


_CONTEXT = multiprocessing.get_context("forkserver")
# Children fork from one single-threaded server that imported these once: a real separate
# process per registration without paying torch's and MLflow's import each time, and
# without forking the test process itself (its threads may hold locks).
_CONTEXT.set_forkserver_preload(["alien.stages.register", "alien.tracking.pyfunc", "mlflow"])


def _fork_register(
    cfg: RegistryConfig, paths, point: str | None = None
) -> multiprocessing.process.BaseProcess:
    """A real second process running the register stage, with this test's environment and folder."""
    env = {k: os.environ[k] for k in ("MLFLOW_TRACKING_URI", "ALIEN_LOCK_DIR")}
    cwd = str(Path(paths.registration).parents[1])
    process = _CONTEXT.Process(target=_register_child, args=(cfg, paths, point, env, cwd))
    process.start()
    return process


class Server:
    """``mlflow server`` on a fixed port over one sqlite file, so it can be stopped and started again."""

    def __init__(self, folder: Path) -> None:
        self.folder, self.port = folder, free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: ServerProcess | None = None

    def start(self) -> None:
        argv = commands.mlflow_server(
            host="127.0.0.1", port=self.port, backend_store_uri=f"sqlite:///{self.folder / 'mlflow.db'}",
            artifacts_destination=str(self.folder / "artifacts"),
        )  # fmt: skip
        self.process = start(argv, log=self.folder / "server.log", url=self.url, cwd=self.folder)
        wait_http(self.process, "/health")

    def stop(self) -> None:
        if self.process is not None:
            self.process.stop()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    running = Server(tmp_path_factory.mktemp("registry-server"))
    running.start()
    yield running
    running.stop()


@pytest.fixture
def project(tmp_path: Path, server: Server, deployable: Path, monkeypatch, request):  # noqa: F811
    """A register workspace pointed at the server, with its own model name and lock folder."""
    name = "faults-" + request.node.name.replace("[", "-").strip("]").replace("_", "-")[-60:]
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", server.url)
    monkeypatch.setenv("ALIEN_LOCK_DIR", str(tmp_path / "locks"))
    monkeypatch.setattr("mlflow.tracking._tracking_service.utils._tracking_uri", None)
    monkeypatch.setattr("mlflow.tracking._model_registry.utils._registry_uri", None)
    paths = write_workspace(tmp_path, deployable, passed=True)
    cfg = RegistryConfig(model_name=name, experiment=f"{name}-exp", tracking_uri=server.url)
    return paths, cfg


def _seed_champion(cfg: RegistryConfig) -> Registry:
    """v1 as champion, written directly (its artifacts are never loaded here), to save a model upload."""
    registry = Registry.from_config(cfg)
    client = registry.client
    run = client.create_run(client.create_experiment(f"{cfg.model_name}-seed"))
    client.set_terminated(run.info.run_id, "FINISHED")
    client.create_registered_model(cfg.model_name)
    source, tags = f"{run.info.artifact_uri}/model", {"gate_passed": "true"}
    client.create_model_version(cfg.model_name, source=source, run_id=run.info.run_id, tags=tags)
    assert registry.promote("1", expected_champion=None, reason="seed").promoted
    return registry


def _second_model(paths, text: str) -> None:
    """New data (so a new model identity) whose gate compared with champion v1 and passed."""
    Path(paths.raw).write_text(json.dumps({"text": text, "label": "positive"}) + "\n")
    write_gate_report(paths, passed=True, champion=V1)


def _assert_consistent(registry: Registry) -> dict[str, str]:
    """Exactly one champion, every version finished, nothing left to repair, no run RUNNING; the aliases."""
    aliases = registry.aliases()
    versions = registry.versions()
    assert aliases.get("champion") in {str(v.version) for v in versions}
    assert not [v.version for v in versions if v.tags.get("alien.pending") == "true"]
    assert registry.pending_change() is None and registry.orphans() == []
    experiment = registry.client.get_experiment_by_name(f"{registry.model_name}-exp")
    running = registry.client.search_runs([experiment.experiment_id], "attributes.status = 'RUNNING'")
    assert [r.info.run_name for r in running] == []  # no run of a registration left RUNNING
    return aliases


@pytest.mark.parametrize(
    ("point", "left"),
    [("after_create", "orphans"), ("at_champion_move", "unfinished_change"), ("after_commit", None)],
)
def test_register_killed_mid_registration_is_reported_then_repaired(project, point, left) -> None:
    paths, cfg = project
    _seed_champion(cfg)
    _second_model(paths, "second film")
    killed = _fork_register(cfg, paths, point)
    killed.join(timeout=180)
    assert killed.exitcode == -signal.SIGKILL
    registry = Registry.from_config(cfg)
    from alien.tracking.listing import report

    seen = report(registry)  # what `alien champion --json` prints
    expected_champion = "2" if point == "after_commit" else "1"
    assert seen["champion"] == expected_champion  # serving sees the old champion or the new one
    assert (seen["orphans"], seen["unfinished_change"]) == (
        (["2"], None) if left == "orphans" else ([], "register" if left else None)
    )
    retry = run_register(cfg, paths)
    assert retry.champion_version == (retry.version if point != "after_create" else "3")
    assert retry.version == ("3" if point == "after_create" else "2")
    aliases = _assert_consistent(registry)
    assert aliases == {"champion": retry.version, "challenger": retry.version, "previous-champion": "1"}
    statuses = {registry.client.get_run(v.run_id).info.status for v in registry.versions() if v.run_id}
    assert "RUNNING" not in statuses  # the killed run was ended FAILED by the repair


def test_register_killed_inside_log_model_leaves_a_run_the_next_registration_ends_failed(project) -> None:
    """Issue 17, finding 2: killed before any version exists, the run must not stay RUNNING unreported."""
    from alien.tracking.listing import report

    paths, cfg = project
    _seed_champion(cfg)
    _second_model(paths, "killed while logging the model")
    killed = _fork_register(cfg, paths, "in_log_model")
    killed.join(timeout=180)
    assert killed.exitcode == -signal.SIGKILL
    registry = Registry.from_config(cfg)
    seen = report(registry)  # what `alien champion --json` prints
    assert (seen["champion"], seen["orphans"], seen["unfinished_change"]) == ("1", [], None)
    assert [row["version"] for row in seen["versions"]] == ["1"]  # no version was created
    reason = f"owner process {killed.pid}@{socket.gethostname()} gone before a version was created"
    [abandoned] = seen["abandoned_runs"]
    assert (abandoned["status"], abandoned["version"], abandoned["reason"]) == ("RUNNING", None, reason)
    assert abandoned["run_name"].endswith("· registering")
    retry = run_register(cfg, paths)
    assert retry.recovered == [f"ended abandoned run {abandoned['run_id']} FAILED: {reason}"]
    assert (retry.version, retry.champion_version) == ("2", "2")
    run = registry.client.get_run(abandoned["run_id"])
    assert (run.info.status, run.data.tags.get("alien.failed_reason")) == ("FAILED", reason)
    _assert_consistent(registry)
    assert report(registry)["abandoned_runs"] == []


def test_server_down_during_the_commit_then_back(project, server: Server, monkeypatch) -> None:
    from mlflow import MlflowClient

    paths, cfg = project
    _seed_champion(cfg)
    _second_model(paths, "outage film")
    real = MlflowClient.set_registered_model_alias

    def outage(self, name, alias, version):
        if alias == "champion":
            server.stop()
        return real(self, name, alias, version)

    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    with monkeypatch.context() as fault:
        fault.setattr(MlflowClient, "set_registered_model_alias", outage)
        with pytest.raises(Exception) as caught:
            run_register(cfg, paths)
    assert "next registration" in "".join(getattr(caught.value, "__notes__", []))
    server.start()
    registry = Registry.from_config(cfg)
    assert registry.champion() == "1" and registry.pending_change().action == "register"
    retry = run_register(cfg, paths)
    assert retry.recovered == ["finished an interrupted 'register' change"]
    assert (retry.version, retry.reused, retry.champion_version) == ("2", True, "2")
    _assert_consistent(registry)
    assert registry.client.get_run(registry.model_version("2").run_id).info.status == "FAILED"


def test_two_runs_promoting_at_once_yield_one_champion(project, tmp_path, deployable) -> None:  # noqa: F811
    paths, cfg = project
    _seed_champion(cfg)
    clone = write_workspace(tmp_path / "clone", deployable, passed=True)
    for where, text in ((paths, "first racer"), (clone, "second racer")):
        _second_model(where, text)  # two different models, both compared with v1 by their gate
    racers = [_fork_register(cfg, where) for where in (paths, clone)]
    for racer in racers:
        racer.join(timeout=180)
    assert [r.exitcode for r in racers] == [0, 0]
    results = [json.loads(Path(where.registration).read_text()) for where in (paths, clone)]
    assert sorted(r["promoted"] for r in results) == [False, True]
    winner = next(r for r in results if r["promoted"])
    loser = next(r for r in results if not r["promoted"])
    assert "champion changed from 1" in loser["reason"] and loser["champion_version"] == winner["version"]
    registry = Registry.from_config(cfg)
    aliases = _assert_consistent(registry)
    assert aliases["champion"] == winner["version"] and aliases["challenger"] == loser["version"]
    assert [(e["from"], e["to"]) for e in registry.events()] == [(None, "1"), ("1", winner["version"])]
    assert {winner["version"], loser["version"]} == {"2", "3"}
