"""Gate and register decide again only when something they decide on changed (issue 20, item 5).

Both stages as both runners call them (``gate.run`` then ``register.run``), against a real
sqlite registry and a tiny real deployable: a nightly run with nothing new reports
``unchanged`` and writes nothing; a rollback, a new champion or other gate params in
between make both decide again. A run that promoted is followed by one that compares the
new champion with itself (its report then names the champion there is), then by unchanged ones.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from alien.config import BackboneConfig, DataConfig, GatesConfig, PathsConfig, RegistryConfig
from alien.evaluation.free_baseline import FREE_SCORES, FreeBaseline
from alien.stages import gate, register
from alien.stages.artifacts import TestScores
from alien.tracking import Registry
from alien.tracking.decision import TAG_DECISION, last_decision
from tests.tiny import TEXTS
from tests.unit.tracking.fixtures import (  # noqa: F401  (pytest fixtures)
    EXPERIMENT,
    MODEL_NAME,
    deployable,
    empty_store,
    store,
    write_workspace,
)

CFG = RegistryConfig(model_name=MODEL_NAME, experiment=EXPERIMENT, tracking_uri="sqlite:///unused.db")
DATA, BACKBONE = DataConfig(source="package:trec"), BackboneConfig(name="package:minilm")
# a random tiny model cannot beat anything with confidence: these tests are about when the gate decides
GATES = GatesConfig(
    require_backbone_improvement=False,
    max_ece=1.0,
    champion_auroc_margin=1.0,
    champion_brier_margin=1.0,
    champion_accuracy_margin=1.0,
    bootstrap_samples=200,
)
FREE = FreeBaseline("validation", 1.3, dict(zip(FREE_SCORES, (0.70, 0.72, 0.71), strict=True)))


def _evaluate(paths: PathsConfig, *, seed: int) -> None:
    """What evaluate writes for a model: per-row scores on the test split (one model per seed)."""
    rng = np.random.default_rng(seed)
    n = len(TEXTS)
    errors = rng.integers(0, 2, n)
    weights = (("alien", 0.3), ("entropy", 0.1), ("softmax_response", 0.1), ("temperature_scaling", 0.1))
    u = {m: np.clip(w * errors + (1 - w) * rng.random(n), 0, 1) for m, w in weights}
    labels = np.arange(n) % 2
    TestScores(u, dict.fromkeys(u, True), errors, labels ^ errors, labels, 15, FREE).save(paths.scores)


@pytest.fixture
def project(tmp_path: Path, deployable: Path, store: str, monkeypatch: pytest.MonkeyPatch) -> PathsConfig:  # noqa: F811
    monkeypatch.chdir(tmp_path)
    prepared = tmp_path / "data" / "prepared"
    prepared.mkdir(parents=True)
    rows = [{"id": str(i), "text": t, "label": i % 2} for i, t in enumerate(TEXTS)]
    (prepared / "test.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    (prepared / "labels.json").write_text(json.dumps(["negative", "positive"]))
    paths = write_workspace(tmp_path, deployable, passed=True)
    paths = replace(paths, prepared=str(prepared), scores=str(tmp_path / "reports" / "scores.npz"))
    _evaluate(paths, seed=1)
    return paths


def _nightly(paths: PathsConfig, gates: GatesConfig = GATES) -> tuple[Any, Any]:
    """One run of the two live stages, as ``dvc repro`` runs them: their outputs deleted first."""
    for out in (paths.gate_report, paths.registration):
        Path(out).unlink(missing_ok=True)
    decided = gate.run(gates, CFG, DATA, paths)
    return decided, register.run(CFG, DATA, BACKBONE, paths, root=Path.cwd())


def _new_model(paths: PathsConfig, seed: int) -> None:
    """A retrained model: other scores, other raw data (so another registration token)."""
    _evaluate(paths, seed=seed)
    Path(paths.raw).write_text(json.dumps({"text": f"film {seed}", "label": "positive"}) + "\n")


def _registry() -> Registry:
    return Registry.from_config(CFG)


def _snapshot() -> dict[str, Any]:
    """Everything a decision could write: versions with their tags, aliases, model tags, runs."""
    registry = _registry()
    experiment = registry.client.get_experiment_by_name(EXPERIMENT)
    runs = registry.client.search_runs([experiment.experiment_id])
    return {
        "versions": {str(v.version): (dict(v.tags), v.description) for v in registry.versions()},
        "aliases": registry.aliases(),
        "model_tags": registry.model_tags(),
        "runs": sorted((r.info.run_id, r.info.status, tuple(sorted(r.data.tags.items()))) for r in runs),
    }


def test_an_unchanged_nightly_run_decides_nothing_and_writes_nothing(project, tmp_path) -> None:
    first_gate, first = _nightly(project)
    assert (first.version, first.promoted, first_gate.unchanged, first.unchanged) == ("1", True, False, False)
    # the run after a promotion compares the new champion with itself: the report names it
    second_gate, second = _nightly(project)
    assert (second_gate.unchanged, second_gate.champion_version, second.unchanged) == (False, "1", False)
    assert (second.version, second.reused, second.promoted) == ("1", True, False)
    report = Path(project.gate_report).read_bytes()
    before = _snapshot()

    again_gate, again = _nightly(project)
    assert (again_gate.unchanged, again.unchanged) == (True, True)
    assert again_gate.decided_at == again.decided_at  # both stand on the same recorded decision
    assert (again.version, again.promoted, again.reused, again.champion_version) == ("1", False, True, "1")
    assert again.reason.startswith("unchanged since the decision of ") and "promoted" not in again.reason
    assert Path(project.gate_report).read_bytes() == report  # the standing verdict, written again
    assert _snapshot() == before  # no version, run, alias or tag written
    assert json.loads(Path(project.registration).read_text())["unchanged"] is True

    # the standing verdict needs no model: it still answers with every registered model's files gone
    shutil.rmtree(tmp_path / "mlartifacts")
    assert _nightly(project)[0].unchanged


def test_a_rollback_in_between_makes_both_decide_again(project) -> None:
    _nightly(project)
    _new_model(project, seed=2)
    compared, promoted = _nightly(project)
    assert (compared.champion_version, promoted.version, promoted.promoted) == ("1", "2", True)
    assert _nightly(project)[0].champion_version == "2"  # v2 against itself, once
    assert all(s.unchanged for s in _nightly(project))

    with _registry().lock(timeout=5):
        _registry().rollback(reason="v2 is wrong")
    decided, registered = _nightly(project)  # the same model and data, but @champion is v1 again
    assert (decided.unchanged, registered.unchanged) == (False, False)
    assert decided.champion_version == "1"  # compared again, with the restored champion
    assert (registered.version, registered.promoted, registered.champion_version) == ("2", False, "1")
    assert "not eligible" in registered.reason
    assert {str(v.version) for v in _registry().versions()} == {"1", "2"}  # nothing registered twice

    assert all(s.unchanged for s in _nightly(project))  # the registry is as that decision left it


def test_a_champion_set_by_hand_in_between_makes_both_decide_again(project) -> None:
    _nightly(project)
    _new_model(project, seed=3)
    strict = replace(GATES, max_ece=1e-4)  # v2 fails: it stays challenger
    failed = _nightly(project, strict)[1]
    assert (failed.version, failed.promoted, _registry().champion()) == ("2", False, "1")
    assert all(s.unchanged for s in _nightly(project, strict))

    with _registry().lock(timeout=5):
        assert _registry().promote("2", expected_champion="1", reason="by hand").promoted
    decided, registered = _nightly(project, strict)
    assert (decided.unchanged, registered.unchanged, decided.champion_version) == (False, False, "2")
    assert (registered.version, registered.champion_version, registered.promoted) == ("2", "2", False)


def test_other_gate_params_make_both_decide_again(project) -> None:
    _nightly(project)
    _nightly(project)
    assert all(s.unchanged for s in _nightly(project))
    looser = replace(GATES, bootstrap_samples=300)
    decided, registered = _nightly(project, looser)
    assert (decided.unchanged, registered.unchanged, registered.version) == (False, False, "1")
    key = json.loads(Path(project.gate_report).read_text())["inputs"]
    assert key == gate.decision_key(looser, CFG, DATA, project, uri=_registry().uri)
    assert json.loads(_registry().model_version("1").tags[TAG_DECISION])["inputs"]["gate_key"] == key
    assert all(s.unchanged for s in _nightly(project, looser))
    assert not _nightly(project)[0].unchanged  # and back: the registry holds only the latest decision


def test_a_pending_change_or_an_unreadable_record_is_no_evidence(project) -> None:
    from alien.tracking.names import JOURNAL_TAG

    _nightly(project)
    key = json.loads(Path(project.gate_report).read_text())["inputs"]
    assert last_decision(_registry(), gate_key=key) is None  # it promoted v1: the next run compares with v1
    _nightly(project)
    assert last_decision(_registry(), gate_key=key) is not None
    registry = _registry()
    registry.client.set_registered_model_tag(MODEL_NAME, JOURNAL_TAG, '{"action": "x", "steps": []}')
    assert last_decision(registry, gate_key=key) is None  # an unfinished change: the next write recovers it
    registry.client.delete_registered_model_tag(MODEL_NAME, JOURNAL_TAG)
    assert last_decision(registry, gate_key=key) is not None
    registry.client.set_model_version_tag(MODEL_NAME, "1", TAG_DECISION, "{not json")
    assert last_decision(registry, gate_key=key) is None
    with pytest.raises(ValueError, match="give the inputs"):
        last_decision(registry)
