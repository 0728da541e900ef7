"""A registration's run left RUNNING by a process that is gone: found, reported, ended FAILED.

Issue 17, finding 2: a SIGKILL inside ``log_model`` — before any version exists — left the
run RUNNING for ever, and neither ``alien champion`` nor the next run's recovery saw it.
A real sqlite store; the owners are real processes (a finished one, a live one).
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from alien.config import RegistryConfig
from alien.tracking import Registry
from alien.tracking.listing import render, report
from alien.tracking.names import (
    REGISTERING,
    RUN_FAILED_REASON,
    RUN_MODEL,
    RUN_PHASE,
    TAG_OWNER,
    TAG_OWNER_STARTED,
)
from alien.tracking.recovery import STALE_AFTER_S
from flows.cli import main as cli
from tests.unit.tracking.fixtures import (  # noqa: F401  (pytest fixtures)
    EXPERIMENT,
    MODEL_NAME,
    deployable,
    empty_store,
    run_register,
    store,
    write_workspace,
)

HOST = socket.gethostname()
NAME = "trec · minilm · registering"


@pytest.fixture
def registry(store) -> Registry:  # noqa: F811
    return Registry.connect(store, MODEL_NAME, experiment=EXPERIMENT)


@pytest.fixture
def live() -> Iterator[psutil.Process]:
    """A process that is still running (a registration in progress elsewhere on this machine)."""
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    yield psutil.Process(child.pid)
    child.kill()
    child.wait()


def _dead() -> tuple[int, str]:
    """The pid and start time of a process that has exited (and been reaped)."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    started = f"{psutil.Process(child.pid).create_time():.3f}"
    child.wait()
    return child.pid, started


def _registering_run(
    registry: Registry, pid: int, started: str, *, host: str = HOST, model: str = MODEL_NAME, age_s: float = 0
) -> str:
    """A RUNNING run tagged as the register stage tags its run, owned by ``pid@host``."""
    client = registry.client
    found = client.get_experiment_by_name(EXPERIMENT)
    experiment = found.experiment_id if found else client.create_experiment(EXPERIMENT)
    tags = {RUN_PHASE: REGISTERING, RUN_MODEL: model, TAG_OWNER: f"{host}:{pid}", TAG_OWNER_STARTED: started}
    start = int((time.time() - age_s) * 1000)
    return client.create_run(experiment, start_time=start, tags=tags, run_name=NAME).info.run_id


def _status(registry: Registry, run_id: str) -> tuple[str, str | None]:
    run = registry.client.get_run(run_id)
    return run.info.status, run.data.tags.get(RUN_FAILED_REASON)


def test_a_dead_owners_run_is_reported_then_ended_failed_with_the_reason(registry: Registry, live) -> None:
    pid, started = _dead()
    dead = _registering_run(registry, pid, started)
    running = _registering_run(registry, live.pid, f"{live.create_time():.3f}")
    reason = f"owner process {pid}@{HOST} gone before a version was created"
    listed = report(registry)["abandoned_runs"]
    assert [(r["run_id"], r["run_name"], r["status"], r["version"], r["reason"]) for r in listed] == [
        (dead, NAME, "RUNNING", None, reason)
    ]
    assert listed[0]["owner"] == f"{pid}@{HOST}" and listed[0]["started_at"].startswith("20")
    recovery = registry.recover()
    assert [(r.run_id, r.reason) for r in recovery.ended] == [(dead, reason)] and recovery
    assert _status(registry, dead) == ("FAILED", reason)
    assert _status(registry, running) == ("RUNNING", None)  # a live owner's run is never touched
    assert report(registry)["abandoned_runs"] == [] and not registry.recover()


def test_a_recycled_pid_another_models_run_and_another_machine_are_told_apart(
    registry: Registry, live
) -> None:
    recycled = _registering_run(registry, live.pid, "12345.000")  # the pid lives, but started later
    other_model = _registering_run(registry, *_dead(), model="another-model")
    fresh = _registering_run(registry, 4242, "1.0", host="elsewhere")  # cannot be asked: wait
    stale = _registering_run(registry, 4243, "1.0", host="elsewhere", age_s=STALE_AFTER_S + 60)
    reasons = {r["run_id"]: r["reason"] for r in report(registry)["abandoned_runs"]}
    assert reasons == {
        recycled: f"owner process {live.pid}@{HOST} gone before a version was created",
        stale: f"owner process 4243@elsewhere on another machine, its run RUNNING for over "
        f"{STALE_AFTER_S:.0f} s before a version was created",
    }
    registry.recover()
    statuses = {run: _status(registry, run)[0] for run in (recycled, other_model, fresh, stale)}
    assert statuses == {recycled: "FAILED", other_model: "RUNNING", fresh: "RUNNING", stale: "FAILED"}


def test_a_store_without_its_experiment_searches_no_runs(registry: Registry, store) -> None:  # noqa: F811
    _registering_run(registry, *_dead())
    bare = Registry.connect(store, MODEL_NAME)  # no experiment: nothing to search, nothing created
    assert report(bare)["abandoned_runs"] == [] and not bare.recover()


def test_alien_champion_lists_the_abandoned_run_before_any_version_exists(
    registry: Registry,
    tmp_path: Path,
    deployable: Path,  # noqa: F811
    monkeypatch,
    capsys,
) -> None:
    monkeypatch.chdir(tmp_path)
    write_workspace(tmp_path, deployable, passed=True)  # params.yaml naming the model and experiment
    pid, started = _dead()
    run_id = _registering_run(registry, pid, started)
    assert cli(["champion", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert (data["versions"], data["orphans"], data["unfinished_change"]) == ([], [], None)
    assert [(r["run_id"], r["owner"]) for r in data["abandoned_runs"]] == [(run_id, f"{pid}@{HOST}")]
    assert cli(["champion"]) == 0
    table = capsys.readouterr().out
    assert "no versions registered yet" in table and run_id in table and "ends them FAILED" in table
    assert render(report(registry)) == table


def test_the_register_stage_tags_its_run_and_ends_a_dead_owners_run_first(
    registry: Registry,
    tmp_path: Path,
    deployable: Path,  # noqa: F811
    monkeypatch,
) -> None:
    monkeypatch.chdir(tmp_path)
    paths = write_workspace(tmp_path, deployable, passed=True)
    pid, started = _dead()
    killed = _registering_run(registry, pid, started)
    result = run_register(RegistryConfig(model_name=MODEL_NAME, experiment=EXPERIMENT), paths)
    reason = f"owner process {pid}@{HOST} gone before a version was created"
    assert result.recovered == [f"ended abandoned run {killed} FAILED: {reason}"]
    assert _status(registry, killed) == ("FAILED", reason)
    tags = registry.client.get_run(result.run_id).data.tags
    me = psutil.Process()
    owner = (tags[RUN_PHASE], tags[RUN_MODEL], tags[TAG_OWNER])
    assert owner == (REGISTERING, MODEL_NAME, f"{HOST}:{me.pid}")
    assert abs(float(tags[TAG_OWNER_STARTED]) - me.create_time()) < 1.0
    assert registry.model_version(result.version).tags[TAG_OWNER_STARTED] == tags[TAG_OWNER_STARTED]
