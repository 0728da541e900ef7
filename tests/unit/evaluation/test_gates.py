from __future__ import annotations

import pytest

from alien.config import GatesConfig
from alien.evaluation.gates import ChampionMetrics, evaluate_gates

CFG = GatesConfig(
    min_auroc_gain=0.01,
    max_ece=0.1,
    champion_auroc_tolerance=0.005,
    champion_ece_tolerance=0.005,
    max_accuracy_drop=0.02,
)
GOOD = {"roc_auc": 0.80, "ece": 0.03}
ENT = {"roc_auc": 0.75, "ece": 0.08}
CI_GOOD = {"delta": 0.05, "low": 0.02, "high": 0.08}


def _report(**overrides):
    kwargs = {
        "alien": GOOD,
        "entropy": ENT,
        "auroc_ci": CI_GOOD,
        "accuracy": 0.85,
        "champion": None,
        "config": CFG,
    }
    kwargs.update(overrides)
    return evaluate_gates(**kwargs)


def test_first_run_without_champion_passes_and_says_no_champion():
    report = _report()
    assert report.passed
    status = {g.name: g.status for g in report.gates}
    assert status == {
        "auroc_vs_entropy": "pass",
        "calibration": "pass",
        "champion": "no champion",
        "accuracy": "no champion",
    }
    assert report.to_dict()["champion"] is None


def test_ci_touching_zero_fails_even_with_positive_delta():
    report = _report(auroc_ci={"delta": 0.05, "low": -0.001, "high": 0.1})
    assert not report.passed
    assert [g.name for g in report.gates if not g.passed] == ["auroc_vs_entropy"]


def test_gain_below_margin_fails():
    assert not _report(auroc_ci={"delta": 0.005, "low": 0.001, "high": 0.01}).passed


def test_ece_worse_than_entropy_fails_even_below_ceiling():
    report = _report(alien={"roc_auc": 0.8, "ece": 0.09})
    assert [g.name for g in report.gates if not g.passed] == ["calibration"]


def test_ece_above_ceiling_fails():
    report = _report(alien={"roc_auc": 0.8, "ece": 0.11}, entropy={"roc_auc": 0.75, "ece": 0.2})
    assert [g.name for g in report.gates if not g.passed] == ["calibration"]


def test_champion_within_tolerance_passes_beyond_fails():
    near = ChampionMetrics(version="3", roc_auc=0.804, ece=0.034, accuracy=0.86)
    assert _report(champion=near).passed
    better = ChampionMetrics(version="3", roc_auc=0.81, ece=0.03, accuracy=0.86)
    report = _report(champion=better)
    assert [g.name for g in report.gates if not g.passed] == ["champion"]
    assert "v3" in report.to_markdown()


def test_accuracy_drop_gate():
    champ = ChampionMetrics(version="1", roc_auc=0.7, ece=0.05, accuracy=0.88)
    assert _report(champion=champ, accuracy=0.865).passed
    report = _report(champion=champ, accuracy=0.85)
    assert [g.name for g in report.gates if not g.passed] == ["accuracy"]


def test_missing_metric_names_it():
    with pytest.raises(ValueError, match="'ece'"):
        _report(alien={"roc_auc": 0.8})


def test_markdown_has_a_row_per_gate_and_verdict():
    md = _report(auroc_ci={"delta": 0.0, "low": -0.1, "high": 0.1}).to_markdown()
    assert "FAILED" in md
    assert md.count("\n| ") == 5  # header + 4 gates
