from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from alien.config import load_params
from alien.evaluation.gates import ChampionMetrics, GateReport, evaluate_gates

SHIPPED = load_params(Path(__file__).resolve().parents[3] / "params.yaml")
CFG = replace(
    SHIPPED.gates,
    min_auroc_gain=0.01,
    ci_lower_bound=0.0,
    ece_vs_entropy_tolerance=0.0,
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


@pytest.mark.parametrize(
    "champion",
    [None, ChampionMetrics(version="3", roc_auc=0.81, ece=0.03, accuracy=0.86)],
    ids=["none", "v3"],
)
def test_from_dict_reads_back_what_to_dict_wrote(champion):
    report = _report(champion=champion)
    again = GateReport.from_dict(json.loads(json.dumps(report.to_dict())))
    assert again == report
    assert again.to_markdown() == report.to_markdown()


def test_from_dict_refuses_a_passed_flag_that_contradicts_the_gates():
    data = _report(champion=ChampionMetrics(version="3", roc_auc=0.81, ece=0.03, accuracy=0.86)).to_dict()
    assert data["passed"] is False
    with pytest.raises(ValueError, match="says passed=True but its gates give False"):
        GateReport.from_dict({**data, "passed": True}, where="gate report x.json")


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (
            lambda d: d["gates"][0].update(status="ok"),
            "status 'ok'; allowed: \\['pass', 'fail', 'no champion'\\]",
        ),
        (lambda d: d.update(gates="all good"), "must have a list 'gates'"),
        (lambda d: d.update(champion={"version": "1"}), "champion must have version, roc_auc"),
    ],
)
def test_from_dict_names_what_is_malformed(edit, message):
    data = _report().to_dict()
    edit(data)
    with pytest.raises(ValueError, match=message):
        GateReport.from_dict(data)
