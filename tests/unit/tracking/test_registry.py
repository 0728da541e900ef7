"""The Registry object on a real sqlite store: reads change nothing, every write is one journal plan."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from alien.tracking import Registry, RegistryBusyError, RegistryUnavailableError
from alien.tracking.journal import Plan
from alien.tracking.names import JOURNAL_TAG, TAG_OWNER, TAG_PENDING, TAG_TOKEN
from tests.unit.tracking.fixtures import empty_store, store  # noqa: F401  (pytest fixtures)

NAME = "unit-model"


@pytest.fixture
def registry(store) -> Registry:  # noqa: F811
    return Registry.connect(store, NAME)


def _add_versions(registry: Registry, n: int, **tags: str) -> None:
    registry.client.create_registered_model(NAME)
    for i in range(n):
        registry.client.create_model_version(NAME, source=f"file:///artifacts/v{i}", tags=tags)


def _promote(registry: Registry, version: str) -> bool:
    return registry.promote(version, expected_champion=registry.champion(), reason="test").promoted


def test_connect_refuses_a_missing_sqlite_file_and_creates_nothing(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    typo = tmp_path / "mlfow.db"
    with pytest.raises(RegistryUnavailableError, match=r"no MLflow database at .*mlfow\.db"):
        Registry.connect(f"sqlite:///{typo}", NAME)
    assert not typo.exists()


def test_reads_create_no_experiment_and_no_model(registry: Registry) -> None:
    assert (registry.champion(), registry.history(), registry.events(), registry.pin()) == (
        None,
        [],
        [],
        None,
    )
    assert registry.pending_change() is None and registry.orphans() == []
    assert [e.name for e in registry.client.search_experiments()] == ["Default"]
    assert registry.client.search_registered_models() == []


def test_promotion_is_a_compare_and_set_and_records_who_when_why(registry: Registry) -> None:
    _add_versions(registry, 3)
    first = registry.promote("1", expected_champion=None, reason="first model")
    assert (first.promoted, first.previous, first.champion) == (True, None, "1")
    stale = registry.promote("2", expected_champion=None, reason="gate compared with none")
    assert (stale.promoted, stale.champion) == (False, "1")
    assert "changed from none" in stale.reason and "to 1" in stale.reason
    assert registry.promote("2", expected_champion="1", reason="better").promoted
    assert registry.aliases() == {"champion": "2", "previous-champion": "1"}
    tags = registry.model_version("2").tags
    assert (tags["promoted_from"], tags["alien.promoted_by"]) == ("1", registry.events()[-1]["by"])
    events = [(e["action"], e["from"], e["to"], e["reason"]) for e in registry.events()]
    assert events == [("promote", None, "1", "first model"), ("promote", "1", "2", "better")]
    assert "serving as champion" in (registry.model_version("2").description or "")
    with pytest.raises(ValueError, match="no version '7'"):
        registry.promote("7", expected_champion="2", reason="x")
    with pytest.raises(ValueError, match="reason is required"):
        registry.promote("3", expected_champion="2", reason=" ")
    with pytest.raises(ValueError, match="at most 1000"):
        registry.promote("3", expected_champion="2", reason="x" * 1001)


def test_rollback_pins_marks_not_eligible_and_walks_back(registry: Registry) -> None:
    _add_versions(registry, 3)
    for v in ("1", "2", "3"):
        assert _promote(registry, v)
    assert registry.rollback(reason="v3 is wrong on refunds", by="ops@example") == ("3", "2")
    assert registry.aliases() == {"champion": "2", "previous-champion": "1", "rolled-back": "3"}
    pin = registry.pin()
    assert (pin["version"], pin["by"], pin["reason"], pin["rolled_back"]) == (
        "2",
        "ops@example",
        "v3 is wrong on refunds",
        "3",
    )
    v3 = registry.model_version("3")
    assert v3.tags["alien.eligible"] == "false" and "v3 is wrong on refunds" in v3.tags["alien.ineligible"]
    assert "not eligible for promotion" in (v3.description or "")
    refused = registry.promote("3", expected_champion="2", reason="retry")
    assert not refused.promoted and "not eligible" in refused.reason
    _add_versions_more(registry)
    blocked = registry.promote("4", expected_champion="2", reason="nightly")
    assert not blocked.promoted and "pinned" in blocked.reason and "ops@example" in blocked.reason
    assert registry.rollback(reason="v2 too") == ("2", "1")
    assert registry.aliases()["champion"] == "1" and "previous-champion" not in registry.aliases()
    with pytest.raises(ValueError, match="no earlier eligible champion"):
        registry.rollback(reason="again")
    assert registry.unpin(reason="fixed") == "1"
    assert registry.promote("4", expected_champion="1", reason="nightly").promoted
    actions = [(e["action"], e["from"], e["to"]) for e in registry.events()]
    assert actions[-4:] == [
        ("rollback", "3", "2"),
        ("rollback", "2", "1"),
        ("unpin", "1", "1"),
        ("promote", "1", "4"),
    ]


def _add_versions_more(registry: Registry) -> None:
    registry.client.create_model_version(NAME, source="file:///artifacts/v4")


def test_experiment_mode_never_moves_production_aliases(registry: Registry) -> None:
    _add_versions(registry, 1)
    experiment = Registry(registry.client, NAME, registry.uri, "experiment")
    outcome = experiment.promote("1", expected_champion=None, reason="try")
    assert not outcome.promoted and "experiment" in outcome.reason
    with pytest.raises(ValueError, match="experiment"):
        experiment.rollback(reason="x")
    assert registry.aliases() == {}


@pytest.mark.parametrize(
    ("method", "hit"),
    [
        ("set_model_version_tag", lambda args: args[2] == "promoted_from"),  # mid-plan
        ("set_registered_model_alias", lambda args: args[1] == "champion"),  # the last step
    ],
)
def test_an_interrupted_change_is_invisible_to_serving_and_finished_by_the_next_write(
    registry, monkeypatch, method, hit
) -> None:
    from mlflow import MlflowClient
    from mlflow.exceptions import MlflowException

    _add_versions(registry, 2)
    assert _promote(registry, "1")
    real = getattr(MlflowClient, method)

    def crash(self, *args):
        if hit(args):
            raise MlflowException("injected: the process died here")
        return real(self, *args)

    with monkeypatch.context() as patch:
        patch.setattr(MlflowClient, method, crash)
        with pytest.raises(MlflowException, match="injected"):
            registry.promote("2", expected_champion="1", reason="better")
    assert registry.champion() == "1"  # serving still sees the old champion: its move is last
    assert registry.pending_change().action == "promote"
    assert registry.recover().finished == "promote"
    assert registry.aliases() == {"champion": "2", "previous-champion": "1"}
    assert registry.model_version("2").tags["promoted_from"] == "1"
    assert registry.pending_change() is None and JOURNAL_TAG not in registry.model_tags()


def test_a_recorded_plan_replays_idempotently(registry: Registry) -> None:
    _add_versions(registry, 1)
    plan = Plan("promote", (("alias", "champion", "1"), ("unalias", "previous-champion"), ("mtag", "k", "v")))
    registry.client.set_registered_model_tag(NAME, JOURNAL_TAG, plan.to_json())
    assert registry.recover().finished == "promote"
    assert registry.recover().finished is None  # nothing left to finish
    assert (registry.aliases(), registry.model_tags()) == ({"champion": "1"}, {"k": "v"})
    with pytest.raises(ValueError, match="bad journal step"):
        Plan("x", (("alias", "champion"),))


def test_orphans_of_a_dead_process_are_reported_then_deleted_with_their_run_failed(
    registry: Registry,
) -> None:
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    )
    host = __import__("socket").gethostname()
    experiment = registry.client.create_experiment("orphans")
    run = registry.client.create_run(experiment)
    _add_versions(registry, 1)
    pending = {TAG_PENDING: "true", TAG_OWNER: f"{host}:{dead.stdout.strip()}", TAG_TOKEN: "t"}
    registry.client.create_model_version(NAME, source="file:///x", run_id=run.info.run_id, tags=pending)
    alive = {**pending, TAG_OWNER: f"{host}:1"}  # pid 1 lives: an attempt still in progress
    registry.client.create_model_version(NAME, source="file:///y", tags=alive)
    assert [str(v.version) for v in registry.orphans()] == ["2"]
    assert [r["pending"] for r in registry.history()] == [False, True, True]
    assert registry.recover().deleted == ("2",)
    assert [str(v.version) for v in registry.versions()] == ["1", "3"]
    assert registry.client.get_run(run.info.run_id).info.status == "FAILED"


def test_the_lock_serialises_writers_and_times_out_naming_the_file(
    registry: Registry, tmp_path, monkeypatch
) -> None:
    monkeypatch.setenv("ALIEN_LOCK_DIR", str(tmp_path / "locks"))
    held, waiting = registry.lock(timeout=1), registry.lock(timeout=0.2)
    with held, pytest.raises(RegistryBusyError, match=str(tmp_path / "locks")), waiting:
        pass
    with registry.lock(timeout=0):  # free again
        pass
    with pytest.raises(ValueError, match="timeout"):
        registry.lock(timeout=-1)


def test_history_rows_carry_aliases_gate_and_lifecycle(registry: Registry) -> None:
    _add_versions(registry, 2, gate_passed="true")
    assert _promote(registry, "1")
    rows = registry.history()
    assert [(r["version"], r["aliases"], r["gate_passed"], r["eligible"], r["mode"]) for r in rows] == [
        ("1", ["champion"], True, True, "production"),
        ("2", [], True, True, "production"),
    ]
    assert rows[0]["created_at"].startswith("20")
    assert json.loads(
        registry.model_tags()[next(k for k in registry.model_tags() if k.startswith("alien.event."))]
    )


def test_the_package_runs_one_way_round() -> None:
    """Every import inside alien.tracking, lazy ones too, points downward; the facade is on top."""
    import ast
    import graphlib

    folder = Path(__file__).resolve().parents[3] / "alien" / "tracking"
    graph = {}
    for path in folder.glob("*.py"):
        found = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("alien.tracking"):
                found |= {node.module, *(f"{node.module}.{a.name}" for a in node.names)}
        graph[path.stem] = {m.split(".")[2] for m in found if m.count(".") >= 2} & {
            p.stem for p in folder.glob("*.py")
        } - {path.stem}
    del graph["__init__"]
    order = list(graphlib.TopologicalSorter(graph).static_order())  # raises CycleError on a circle
    assert not [m for m, deps in graph.items() if "registry" in deps]  # nothing below imports the facade
    assert (
        order.index("names") < order.index("store") < order.index("lifecycle") < order.index("registration")
    )
