"""Rule 1's baselines come from the calibration split alone: no test row reaches T or the choice."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch

from alien.baselines import TemperatureScaling
from alien.config import CalibrationConfig, EvaluateConfig, load_params
from alien.core.feature_set import FeatureSet
from alien.metrics.error_detection import roc_auc
from alien.stages import evaluate
from alien.stages.artifacts import TestScores

SHIPPED = load_params(Path(__file__).resolve().parents[3] / "params.yaml")
FREE_ONLY = EvaluateConfig(baselines=("softmax_response", "entropy", "temperature_scaling"))


def _split(seed: int, *, sharpness: float, n: int = 400, classes: int = 3) -> FeatureSet:
    """Rows whose labels follow ``softmax(logits / sharpness)``: the best T is about ``sharpness``."""
    gen = torch.Generator().manual_seed(seed)
    logits = 3 * torch.randn(n, classes, generator=gen)
    labels = torch.multinomial(torch.softmax(logits / sharpness, dim=1), 1, generator=gen).squeeze(1)
    return FeatureSet(torch.randn(n, 4, generator=gen), logits, labels)


@pytest.fixture
def splits(monkeypatch) -> dict[str, FeatureSet]:
    """Per-split features (calibration on ``alignment``), and the head stubbed out."""
    found = {
        "train": _split(0, sharpness=1.0),
        "validation": _split(1, sharpness=0.7),
        "alignment": _split(2, sharpness=2.0),
        "test": _split(3, sharpness=1.2),
    }
    monkeypatch.setattr(evaluate, "load_split_features", lambda paths, split: found[split])
    noise = np.random.default_rng(0)
    monkeypatch.setattr(evaluate, "served_and_raw", lambda _, *fs: [(noise.random(len(f)),) * 2 for f in fs])
    monkeypatch.setattr(evaluate, "deployable_label_names", lambda _: ["a", "b", "c"])
    monkeypatch.setattr(evaluate, "_write_plots", lambda *a, **k: None)
    return found


def _run(tmp_path: Path) -> TestScores:
    paths = replace(
        SHIPPED.paths, metrics=str(tmp_path / "metrics.json"), scores=str(tmp_path / "scores.npz")
    )
    evaluate.run(FREE_ONLY, CalibrationConfig(split="alignment"), paths)
    return TestScores.load(paths.scores)


def test_t_and_the_ranking_choice_come_from_the_calibration_split(splits, tmp_path):
    scores = _run(tmp_path)
    chosen = scores.free_baseline
    assert chosen is not None and chosen.split == "alignment"
    held_out = splits["alignment"]
    assert chosen.temperature == TemperatureScaling().fit(held_out, held_out).temperature
    assert chosen.temperature != pytest.approx(
        TemperatureScaling().fit(splits["validation"], splits["validation"]).temperature, rel=0.05
    )
    tempered = torch.softmax(splits["test"].logits.double() / chosen.temperature, dim=1)
    np.testing.assert_allclose(scores.method("temperature_scaling"), 1 - tempered.max(dim=1).values.numpy())
    # the choice's ROC-AUCs are the calibration rows', not the test rows'
    scaled = TemperatureScaling().fit(held_out, held_out).score(held_out)
    assert chosen.split_auroc["temperature_scaling"] == roc_auc(scaled, held_out.errors.numpy())
    on_test = roc_auc(scores.method("temperature_scaling"), scores.errors)
    assert chosen.split_auroc["temperature_scaling"] != on_test


def test_no_test_row_changes_t_or_the_choice(splits, tmp_path):
    before = _run(tmp_path / "a")
    test = splits["test"]
    splits["test"] = FeatureSet(test.features, -test.logits, (test.labels + 1) % 3)  # other rows entirely
    after = _run(tmp_path / "b")
    assert after.free_baseline == before.free_baseline
    assert not np.array_equal(after.errors, before.errors)
