"""The gate report: every rule decided on the same rows, a verdict, and a faithful JSON round trip."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from alien.config import load_params
from alien.evaluation.free_baseline import FREE_SCORES, FreeBaseline
from alien.evaluation.gates import GateReport
from alien.evaluation.rules import FreeScores, Scored, decide

SHIPPED = load_params(Path(__file__).resolve().parents[3] / "params.yaml")
CFG = replace(SHIPPED.gates, bootstrap_samples=300)
N = 1500
RNG = np.random.default_rng(0)
P = RNG.beta(1.2, 4.0, N)  # true P(error) of each row
E = (RNG.random(N) < P).astype(np.int64)
ENTROPY = np.clip(P + RNG.normal(0, 0.25, N), 0, 1)  # the backbone ranks worse
OVERCONFIDENT = P**3  # the backbone's 1 - max p: same ranking, badly calibrated
# Rule 1's baselines: ranking vs entropy (ties on the calibration split), calibration vs TS
FREE = FreeScores(
    FreeBaseline("validation", 1.4, dict.fromkeys(FREE_SCORES, 0.75)),
    {"entropy": ENTROPY, "softmax_response": OVERCONFIDENT, "temperature_scaling": ENTROPY},
)


def _report(alien=None, champion=None, config=CFG):
    return decide(
        Scored(P, E) if alien is None else alien,
        free=FREE,
        champion=champion,
        config=config,
        n_bins=15,
        registry={"tracking_uri": "sqlite:///x.db", "model_name": "m", "champion": None},
    )


def test_first_run_without_champion_passes_and_says_no_champion():
    report = _report()
    assert report.passed
    assert {g.name: g.status for g in report.gates} == {
        "vs_backbone": "pass",
        "calibration": "pass",
        "champion": "no champion",
    }
    assert report.to_dict()["champion"] is None


def test_a_noise_score_fails_vs_backbone():
    report = _report(alien=Scored(np.random.default_rng(1).random(N), E))
    assert "vs_backbone" in [g.name for g in report.gates if not g.passed]


def test_require_backbone_improvement_false_reports_but_does_not_block():
    noise = Scored(np.random.default_rng(1).random(N), E)
    report = _report(alien=noise, config=replace(CFG, require_backbone_improvement=False, max_ece=1.0))
    gate = next(g for g in report.gates if g.name == "vs_backbone")
    assert gate.passed and "not required" in gate.detail


def test_ece_above_ceiling_fails():
    report = _report(alien=Scored(np.clip(P * 1.6, 0, 1), E))
    assert "calibration" in [g.name for g in report.gates if not g.passed]


def test_a_champion_much_better_than_the_challenger_keeps_its_place():
    worse_errors = np.where(np.random.default_rng(2).random(N) < 0.15, 1, E)
    report = _report(alien=Scored(np.clip(P + 0.1, 0, 1), worse_errors), champion=("3", Scored(P, E)))
    assert not report.passed
    assert "champion" in [g.name for g in report.gates if not g.passed]
    assert "keep the current champion (v3)" in report.to_markdown()
    assert report.champion is not None and report.champion.version == "3"


def test_an_equal_challenger_is_non_inferior():
    assert _report(champion=("3", Scored(P, E))).passed


def test_markdown_has_a_row_per_gate_and_names_the_registry_and_rule_1s_baselines():
    md = _report().to_markdown()
    assert md.count("\n| ") == 4  # header + 3 gates
    assert "sqlite:///x.db" in md
    assert (
        "vs_backbone baselines — ranking: `entropy`, calibration: `temperature_scaling`, fitted_on: `validation`"
        in md
    )


def test_a_waived_backbone_gate_keeps_its_baselines():
    noise = Scored(np.random.default_rng(1).random(N), E)
    report = _report(alien=noise, config=replace(CFG, require_backbone_improvement=False, max_ece=1.0))
    gate = next(g for g in report.gates if g.name == "vs_backbone")
    assert gate.baselines["calibration"] == "temperature_scaling"


@pytest.mark.parametrize("champion", [None, ("3", Scored(P, E))], ids=["none", "v3"])
def test_from_dict_reads_back_what_to_dict_wrote(champion):
    report = _report(champion=champion)
    again = GateReport.from_dict(json.loads(json.dumps(report.to_dict())))
    assert again == report
    assert again.to_markdown() == report.to_markdown()


def test_from_dict_refuses_a_passed_flag_that_contradicts_the_gates():
    data = _report(alien=Scored(np.random.default_rng(1).random(N), E)).to_dict()
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
        (lambda d: d["gates"][0].update(baselines={"ranking": 1}), "has baselines .*expected names"),
    ],
)
def test_from_dict_names_what_is_malformed(edit, message):
    data = _report().to_dict()
    edit(data)
    with pytest.raises(ValueError, match=message):
        GateReport.from_dict(data)
