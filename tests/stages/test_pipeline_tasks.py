"""The whole pipeline, stage by stage, for the other task and backbone shapes.

(a) a tiny BERT tagging a tiny CoNLL NER set (``data.task: token-classification``);
(b) a tiny Llama sequence classifier fine-tuned with ``finetune.method: lora``.
Only params.yaml differs from the default project. Each runs fetch → … → register
once (a module fixture) and the tests check what the stages left behind.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import torch

from alien.config import Params, load_params
from alien.core.head_builder import build_alien_head
from alien.core.uncertainty import normalized_entropy
from alien.data.io import read_labels, read_split
from alien.pipeline.table import ORDER, stage_runner
from alien.stages import gate
from alien.stages.artifacts import load_split_features
from alien.task import get_task
from tests.project import make_tiny_project

GATES = {"vs_backbone", "calibration", "champion"}


@dataclass
class PipelineRun:
    root: Path
    params: Params
    results: dict[str, Any]


def run_pipeline(params: Params, root: Path) -> dict[str, Any]:
    """Every stage in dvc.yaml's order, as the flow calls them (through the stage table)."""
    return {name: stage_runner(name)(params, root=root) for name in ORDER}


def _project(tmp_path_factory: pytest.TempPathFactory, name: str, **kwargs: Any):
    root = make_tiny_project(tmp_path_factory.mktemp(name) / "project", dvc=False, **kwargs)
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(root)
        mp.delenv("MLFLOW_TRACKING_URI", raising=False)
        params = load_params("params.yaml")
        yield PipelineRun(root, params, run_pipeline(params, root))


@pytest.fixture(scope="module")
def ner(tmp_path_factory):
    yield from _project(
        tmp_path_factory, "ner", task="token-classification", overrides={"backbone": {"max_length": 24}}
    )


@pytest.fixture(scope="module")
def decoder(tmp_path_factory):
    yield from _project(
        tmp_path_factory,
        "decoder",
        family="llama",
        # n_bins other than 15: the gate must score the champion with the bins the challenger had
        overrides={"finetune": {"method": "lora", "epochs": 2}, "evaluate": {"n_bins": 7}},
    )


def _served(run: PipelineRun, texts: list[str]) -> pd.DataFrame:
    import mlflow

    registration = json.loads(Path(run.params.paths.registration).read_text())
    alias = "champion" if registration["promoted"] else "challenger"
    from alien.tracking.setup import pointed_at

    with pointed_at(f"sqlite:///{run.root / 'mlflow.db'}"):  # restored after: no leak into later tests
        model = mlflow.pyfunc.load_model(f"models:/{run.params.registry.model_name}@{alias}")
        return model.predict(pd.DataFrame({"text": texts}))


def _assert_exact_entropy_init(run: PipelineRun) -> None:
    """A head copied from the pipeline's fine-tuned backbone reproduces its entropy on the cached features."""
    from alien.backbones.loading import load_finetuned

    model, _ = load_finetuned(run.params.paths.backbone, task=run.params.data.task)
    head = build_alien_head(model)
    test = load_split_features(run.params.paths, "test")
    with torch.no_grad():
        torch.testing.assert_close(head.logits(test.features), test.logits, atol=1e-5, rtol=1e-5)
        u = head(test.features)
    expected = normalized_entropy(test.logits).clamp(head.eps, 1 - head.eps)
    assert float((u - expected).abs().max()) <= 1e-6


def _assert_common(run: PipelineRun) -> None:
    grid = json.loads(Path(run.params.paths.grid).read_text())
    assert len(grid["trials"]) == 2  # SHRINK's 2-config grid ran
    report = json.loads(Path(run.params.paths.gate_report).read_text())
    assert {g["name"] for g in report["gates"]} == GATES
    registration = run.results["register"]
    assert registration.version == "1"
    assert registration.promoted == report["passed"]


# --- (a) NER ------------------------------------------------------------------------------


def test_ner_pipeline_aligns_gates_and_registers(ner: PipelineRun) -> None:
    _assert_common(ner)
    assert ner.results["prepare"].task == "token-classification"
    assert set(read_labels(ner.params.paths.prepared)) == {"O", "B-per", "I-per", "B-loc", "I-loc"}
    _assert_exact_entropy_init(ner)


def test_ner_entity_metrics_match_the_deployed_models_entities(ner: PipelineRun) -> None:
    from alien.core.model import AlienClassifier
    from alien.metrics.entity import entity_scores

    task = json.loads(Path(ner.params.paths.metrics).read_text())["task"]
    assert {"entity_precision", "entity_recall", "entity_f1", "entity_support"} <= set(task)
    records = read_split(ner.params.paths.prepared, "test")
    words, gold = get_task("token-classification").split_inputs(records)
    names = read_labels(ner.params.paths.prepared)
    classifier = AlienClassifier.load(ner.params.paths.deployable)
    pred = classifier.predict(words)
    surviving = np.bincount(pred.example_ids, minlength=len(words))
    assert surviving.sum() < sum(map(len, words))  # max_length=24 cut some words off
    gold_tags = [[names[t] for t in tags[:n]] for tags, n in zip(gold, surviving, strict=True)]
    pred_tags: list[list[str]] = [[] for _ in words]
    for e, label in zip(pred.example_ids, pred.labels, strict=True):
        pred_tags[e].append(names[label])
    expected = entity_scores(gold_tags, pred_tags)
    for key, value in expected.items():
        assert task[key] == pytest.approx(value, abs=1e-9), key
    assert task["entity_support"] > 0


def _assert_champion_scores_like_itself(run: PipelineRun, monkeypatch: pytest.MonkeyPatch) -> None:
    """The gate scores the registered champion (= this very model) on test: identical numbers,
    whether it reads the row scores the champion's run logged (same test rows) or predicts them."""
    import alien.tracking.champion_scores as champion_scores

    p = run.params
    assert run.results["register"].promoted
    metrics = json.loads(Path(p.paths.metrics).read_text())
    for how in ("logged by its run (same test rows)", "predicted on the test rows"):
        if how.startswith("predicted"):  # as for a champion logged before this, or other test rows
            monkeypatch.setattr(champion_scores, "logged_test_scores", lambda *args: None)
        result = gate.run(p.gates, p.registry, p.data, p.paths)
        assert result.champion_version == "1"
        report = json.loads(Path(p.paths.gate_report).read_text())
        assert report["registry"]["champion_scores"] == how
        champion = report["champion"]
        assert champion["accuracy"] == pytest.approx(metrics["task"]["accuracy"], abs=1e-9)
        assert champion["roc_auc"] == pytest.approx(metrics["methods"]["alien"]["roc_auc"], abs=1e-6)
        assert champion["ece"] == pytest.approx(metrics["methods"]["alien"]["ece"], abs=1e-6)
        assert {g["name"]: g["status"] for g in report["gates"]}["champion"] == "pass"


def test_ner_champion_is_matched_word_by_word_despite_truncation(ner: PipelineRun, monkeypatch) -> None:
    _assert_champion_scores_like_itself(ner, monkeypatch)


def test_ner_pyfunc_from_registry_matches_in_process_model(ner: PipelineRun) -> None:
    from alien.core.model import AlienClassifier

    records = read_split(ner.params.paths.prepared, "test")[:6]
    texts = [" ".join(r["tokens"]) for r in records]
    served = _served(ner, texts)
    local = AlienClassifier.load(ner.params.paths.deployable)
    words = [t.split() for t in texts]
    pred = local.predict(words)
    for i in range(len(texts)):
        np.testing.assert_allclose(
            served["uncertainty"][i], pred.uncertainty[pred.example_ids == i], atol=1e-6
        )
    expected = [[e.to_dict() for e in row] for row in local.predict_entities(words)]
    for got, want in zip(served["entities"], expected, strict=True):
        assert [(e["text"], e["type"], e["start_word"], e["end_word"]) for e in got] == [
            (e["text"], e["type"], e["start_word"], e["end_word"]) for e in want
        ]
        np.testing.assert_allclose(
            [e["uncertainty"] for e in got], [e["uncertainty"] for e in want], atol=1e-6
        )


# --- (b) decoder + LoRA -------------------------------------------------------------------


def test_decoder_lora_pipeline_aligns_gates_and_registers(decoder: PipelineRun) -> None:
    _assert_common(decoder)
    tuned = decoder.results["finetune"]
    assert tuned.method == "lora" and tuned.lora_target_modules == ("q_proj", "v_proj")
    assert 0 < tuned.trainable_params < tuned.total_params / 2
    _assert_exact_entropy_init(decoder)


def test_decoder_champion_scores_like_itself(decoder: PipelineRun, monkeypatch) -> None:
    _assert_champion_scores_like_itself(decoder, monkeypatch)


def test_the_champions_logged_scores_are_used_only_for_the_very_test_rows(
    decoder: PipelineRun, tmp_path
) -> None:
    import shutil

    from alien.tracking.champion_scores import logged_test_scores
    from alien.tracking.store import Store

    store = Store.from_config(decoder.params.registry)
    prepared = Path(decoder.params.paths.prepared)
    found = logged_test_scores(store, "1", prepared, tmp_path / "same")
    assert found is not None and found.read_bytes() == Path(decoder.params.paths.scores).read_bytes()
    other = shutil.copytree(prepared, tmp_path / "other")
    rows = (other / "test.jsonl").read_text().splitlines(keepends=True)
    (other / "test.jsonl").write_text("".join(rows[1:] + rows[:1]))  # the same rows, in another order
    assert logged_test_scores(store, "1", other, tmp_path / "moved") is None


def test_decoder_pyfunc_from_registry_matches_in_process_model(decoder: PipelineRun) -> None:
    from alien.core.model import AlienClassifier

    texts = [r["text"] for r in read_split(decoder.params.paths.prepared, "test")[:8]]
    texts.append("a much longer review than the others that will be padded in its batch " * 2)
    served = _served(decoder, texts)
    local = AlienClassifier.load(decoder.params.paths.deployable).predict(texts)
    np.testing.assert_allclose(served["uncertainty"].to_numpy(), local.uncertainty, atol=1e-6)
    assert served["label_id"].tolist() == local.labels.tolist()


def test_no_test_row_reaches_the_head_the_map_or_the_threshold(decoder: PipelineRun, monkeypatch) -> None:
    """Align again with the test split's features gone and unreadable: the same head, map and rule."""
    from alien.core.deployable import CALIBRATION_FILE
    from alien.stages import align
    from alien.stages.artifacts import feature_path

    paths = decoder.params.paths
    deployable = Path(paths.deployable)
    before = {p.name: p.read_bytes() for p in deployable.iterdir() if p.is_file()}
    assert CALIBRATION_FILE in before
    asked: list[str] = []
    real = align.load_split_features
    monkeypatch.setattr(
        align, "load_split_features", lambda p, split: (asked.append(split), real(p, split))[1]
    )
    test_features = feature_path(paths, "test")
    hidden = test_features.with_name("test.hidden")
    monkeypatch.chdir(decoder.root)
    test_features.rename(hidden)
    try:
        stage_runner("align")(decoder.params, root=decoder.root)
    finally:
        hidden.rename(test_features)
    assert "test" not in asked and {"validation"} <= set(asked)
    after = {p.name: p.read_bytes() for p in deployable.iterdir() if p.is_file()}
    assert after.keys() == before.keys()
    assert after[CALIBRATION_FILE] == before[CALIBRATION_FILE]  # the map and the abstention rule
    assert all(after[name] == before[name] for name in before if name.endswith(".safetensors"))
