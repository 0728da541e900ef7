"""The gate decides on evaluate's per-row scores, names the registry it read, leaves one report."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from alien.config import load_params
from alien.core.model import AlienClassifier
from alien.evaluation.free_baseline import FREE_SCORES, FreeBaseline
from alien.stages import gate
from alien.stages.artifacts import TestScores
from tests.tiny import TEXTS
from tests.unit.tracking.fixtures import deployable  # noqa: F401  (pytest fixture)

SHIPPED = load_params(Path(__file__).resolve().parents[2] / "params.yaml")


FREE = FreeBaseline("validation", 1.3, dict(zip(FREE_SCORES, (0.70, 0.72, 0.71), strict=True)))


def _workspace(root: Path, *, n_bins: int = 15, free: FreeBaseline | None = FREE) -> tuple[Any, Any]:
    rng = np.random.default_rng(1)
    errors = rng.integers(0, 2, 80)
    weights = (("alien", 0.3), ("entropy", 0.1), ("softmax_response", 0.1), ("temperature_scaling", 0.1))
    u = {m: np.clip(w * errors + (1 - w) * rng.random(80), 0, 1) for m, w in weights}
    scores = TestScores(
        u, dict.fromkeys(u, True), errors, rng.integers(0, 2, 80), rng.integers(0, 2, 80), n_bins, free
    )
    paths = replace(
        SHIPPED.paths,
        metrics=str(root / "reports/metrics.json"),
        scores=str(root / "reports/scores.npz"),
        gate_report=str(root / "reports/gate_report.json"),
        deployable=str(root / "models/not-there"),  # the gate must not need the model
        prepared=str(root / "data/prepared"),
    )
    scores.save(paths.scores)
    registry = replace(SHIPPED.registry, tracking_uri=f"sqlite:///{root / 'mlflow.db'}")
    return paths, registry


def test_gate_decides_on_the_written_scores_and_names_the_registry(tmp_path):
    paths, registry = _workspace(tmp_path)
    stale = Path(paths.gate_report).with_suffix(".md")
    stale.write_text("**Gate verdict: PASSED — promote**\n")  # left by an older run
    result = gate.run(SHIPPED.gates, registry, SHIPPED.data, paths)
    report = json.loads(Path(paths.gate_report).read_text())
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    assert report["registry"] == {"tracking_uri": uri, "model_name": registry.model_name, "champion": None}
    assert report["inputs"] == gate.decision_key(SHIPPED.gates, registry, SHIPPED.data, paths, uri=uri)
    assert result.champion_version is None and not result.unchanged
    rule_1 = next(g for g in report["gates"] if g["name"] == "vs_backbone")
    # the ranking baseline evaluate chose on the calibration split, not the one best on test
    assert rule_1["baselines"] == {
        "ranking": "softmax_response",
        "calibration": "temperature_scaling",
        "fitted_on": "validation",
    }
    assert {"auroc_ci_low", "brier_ci_high", "entropy_auroc_delta", "uncalibrated_brier_delta"} <= set(
        rule_1["values"]
    )
    assert not stale.exists()  # no second file that could contradict the JSON
    assert not (tmp_path / "mlflow.db").exists()  # reading the registry created nothing


def test_gate_refuses_scores_without_rule_1s_baselines(tmp_path):
    paths, registry = _workspace(tmp_path, free=None)  # written by an older evaluate
    with pytest.raises(ValueError, match=r"name no Rule 1 baselines.*run the evaluate stage again"):
        gate.run(SHIPPED.gates, registry, SHIPPED.data, paths)


def test_gate_without_scores_points_to_evaluate(tmp_path):
    paths, registry = _workspace(tmp_path)
    Path(paths.scores).unlink()
    with pytest.raises(FileNotFoundError, match="run the evaluate stage"):
        gate.run(SHIPPED.gates, registry, SHIPPED.data, paths)


def test_champion_is_scored_on_the_same_rows_with_what_it_serves(tmp_path, deployable):  # noqa: F811
    prepared = tmp_path / "prepared"
    prepared.mkdir()
    texts = TEXTS[:40]
    rows = [{"id": str(i), "text": t, "label": i % 2} for i, t in enumerate(texts)]
    (prepared / "test.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    (prepared / "labels.json").write_text(json.dumps(["negative", "positive"]))
    paths = replace(SHIPPED.paths, prepared=str(prepared))
    champion = AlienClassifier.load(deployable)
    pred = champion.predict(texts)
    scored = gate.champion_scored("4", champion, paths, SHIPPED.data)
    np.testing.assert_array_equal(scored.uncertainty, pred.uncertainty)
    np.testing.assert_array_equal(scored.errors, (pred.labels != np.arange(len(texts)) % 2).astype(np.int64))
    (prepared / "labels.json").write_text(json.dumps(["neg", "pos"]))
    with pytest.raises(ValueError, match="not comparable"):
        gate.champion_scored("4", champion, paths, SHIPPED.data)


def test_the_decision_key_changes_with_each_input_and_only_then(tmp_path):
    paths, registry = _workspace(tmp_path)
    uri = "sqlite:///x.db"

    def key(gates=SHIPPED.gates, registry=registry, data=SHIPPED.data, paths=paths):
        return gate.decision_key(gates, registry, data, paths, uri=uri)

    base = key()
    assert key() == base and len(base) == 64
    assert key(gates=replace(SHIPPED.gates, bootstrap_samples=SHIPPED.gates.bootstrap_samples + 1)) != base
    assert key(registry=replace(registry, promote=not registry.promote)) != base
    assert gate.decision_key(SHIPPED.gates, registry, SHIPPED.data, paths, uri="sqlite:///y.db") != base
    assert key(data=replace(SHIPPED.data, task="token-classification")) != base
    Path(paths.prepared, "test.jsonl").parent.mkdir(parents=True)
    Path(paths.prepared, "test.jsonl").write_text('{"id": "0", "text": "a", "label": 0}\n')
    with_split = key()
    assert with_split != base  # the test rows the champion is scored on
    scores = Path(paths.scores)
    scores.write_bytes(scores.read_bytes() + b"\0")
    assert key() != with_split
