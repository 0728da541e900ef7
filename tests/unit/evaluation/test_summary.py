"""The run summary says what the live registry says, and the gate verdict the JSON report holds."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from alien.config import load_params
from alien.evaluation.gates import GateReport, GateResult
from alien.evaluation.summary import experiment_warning, outcome_headline, render_run_summary

SHIPPED = load_params(Path(__file__).resolve().parents[3] / "params.yaml")
STAGES = [
    {"stage": "fetch", "skipped": False, "seconds": 1.0},
    {"stage": "align", "skipped": True, "seconds": 0.1},
    {"stage": "finetune", "skipped": True, "restored": True, "seconds": 1.5},
]
URI = "sqlite:////srv/mlflow.db"


def _paths(tmp_path):
    return replace(
        SHIPPED.paths,
        gate_report=str(tmp_path / "gate.json"),
        registration=str(tmp_path / "registration.json"),
    )


def _write_report(tmp_path, *, passed: bool, champion: str | None) -> None:
    gates = (
        GateResult(
            "vs_backbone",
            "pass",
            "ROC-AUC vs entropy Δ=+0.01",
            {"auroc_delta": 0.01},
            {"ranking": "entropy", "calibration": "temperature_scaling", "fitted_on": "validation"},
        ),
        GateResult("calibration", "pass" if passed else "fail", "ECE 0.05 (ceiling 0.10 or 0.01)"),
        GateResult("champion", "no champion" if champion is None else "pass", "vs champion"),
    )
    registry = {"tracking_uri": URI, "model_name": "m", "champion": champion}
    report = (
        GateReport(gates, None, registry) if champion is None else _with_champion(gates, champion, registry)
    )
    (tmp_path / "gate.json").write_text(json.dumps(report.to_dict()))


def _with_champion(gates, champion, registry) -> GateReport:
    from dataclasses import fields

    from alien.evaluation.gates import ChampionMetrics

    numbers = {f.name: 0.5 for f in fields(ChampionMetrics) if f.name != "version"}
    return GateReport(gates, ChampionMetrics(version=champion, **numbers), registry)


def _summary(tmp_path, **registry):
    state = {"champion": None, "version": None, "aliases": [], "tracking_uri": URI, **registry}
    return render_run_summary(
        _paths(tmp_path),
        stages=STAGES,
        data_version={"md5": "abc", "source": "dvc.lock"},
        registry=state,
        model_name="m",
    )


def test_summary_shows_stages_data_version_verdict_and_the_live_champion(tmp_path):
    _write_report(tmp_path, passed=True, champion=None)
    text = _summary(tmp_path, champion="4", version="4", aliases=["challenger", "champion"])
    assert "| align | skipped (unchanged) |" in text and "| fetch | yes |" in text
    assert "| finetune | restored (DVC run-cache) |" in text
    assert "`abc` (dvc.lock)" in text
    assert "Gate verdict: PASSED" in text
    assert "version 4 is the champion (@challenger, @champion)" in text
    assert "`models:/m@champion` = version 4" in text and f"Registry `{URI}`" in text
    assert "ranking: `entropy`, calibration: `temperature_scaling`, fitted_on: `validation`" in text


def test_after_a_rollback_the_summary_follows_the_registry_not_the_last_registration(tmp_path):
    # stale case: v5 had been promoted, then `alien rollback` restored v3; the next run reuses v5
    (tmp_path / "reg.json").write_text(
        json.dumps({"version": "5", "promoted": True, "champion_version": "5"})
    )
    _write_report(tmp_path, passed=True, champion="3")
    text = _summary(tmp_path, champion="3", version="5", aliases=["rolled-back"])
    assert "version 5 is not the champion (@rolled-back)" in text
    assert "`models:/m@champion` = version 3" in text
    assert "promoted" not in text and "version 5 is the champion" not in text


def test_the_verdict_comes_from_the_json_report_not_a_stale_markdown_file(tmp_path):
    # stale case: gate_report.md from an earlier run said PASSED while gate_report.json says failed
    (tmp_path / "gate.md").write_text("**Gate verdict: PASSED — promote**\n")
    _write_report(tmp_path, passed=False, champion="1")
    text = _summary(tmp_path, champion="1", version="2", aliases=["challenger"])
    assert "Gate verdict: FAILED — keep the current champion (v1)" in text
    assert "PASSED" not in text


def test_summary_without_champion_or_report_says_so(tmp_path):
    text = _summary(tmp_path, version="1", aliases=["challenger"])
    assert "version 1 is not the champion (@challenger)" in text
    assert "champion: none yet" in text
    assert "_no gate report_" in text


def test_summary_names_the_registry_the_gate_read(tmp_path):
    _write_report(tmp_path, passed=True, champion="2")
    text = _summary(tmp_path, champion="2", version="2", aliases=["champion"])
    assert f"Champion looked up in `{URI}`, model `m`: version 2." in text


def test_registry_state_must_have_every_key(tmp_path):
    with pytest.raises(ValueError, match="registry state lacks \\['tracking_uri'\\]"):
        render_run_summary(
            _paths(tmp_path),
            stages=STAGES,
            data_version={},
            model_name="m",
            registry={"champion": None, "version": None, "aliases": []},
        )


# issue 17 item 4: one outcome headline, from the register stage's result, the gate verdict beside it
REGISTERED = {"version": "7", "promoted": False, "gate_passed": True, "mode": "production", "reused": False}


@pytest.mark.parametrize(
    ("registration", "expected"),
    [
        (
            {**REGISTERED, "promoted": True, "reason": "gate passed: promoted to champion"},
            "promoted: version 7 is @champion · gate verdict: PASSED",
        ),
        (
            {**REGISTERED, "reason": "champion v3 is pinned since t by a (rollback: bad)"},
            "registered as challenger (version 7) because champion v3 is pinned since t by a (rollback: bad)"
            " · gate verdict: PASSED",
        ),
        (
            {**REGISTERED, "gate_passed": False, "reason": "gate failed"},
            "registered as challenger (version 7) because gate failed · gate verdict: FAILED",
        ),
        (
            {
                **REGISTERED,
                "reused": True,
                "reason": "this model and data are already registered as version 7",
            },
            "not promoted (version 7) because this model and data are already registered as version 7"
            " · gate verdict: PASSED",
        ),
        (
            {**REGISTERED, "mode": "experiment", "reason": "it ran as DVC experiment 'x'"},
            "not promoted (version 7) because it ran as DVC experiment 'x' · gate verdict: PASSED",
        ),
    ],
)
def test_outcome_headline_says_what_happened_to_the_registry(registration, expected):
    assert outcome_headline(registration) == expected


def test_the_summary_opens_with_the_outcome_and_keeps_the_verdict_beside_it(tmp_path):
    _write_report(tmp_path, passed=True, champion="3")
    pinned = {**REGISTERED, "reason": "champion v3 is pinned since t by a (rollback: bad)"}
    (tmp_path / "registration.json").write_text(json.dumps(pinned))
    text = _summary(tmp_path, champion="3", version="7", aliases=["challenger"])
    assert text.splitlines()[2] == f"**Registry: {outcome_headline(pinned)}**"
    assert "Gate verdict: PASSED — eligible for promotion" in text
    assert "WARNING" not in text


def test_params_left_in_experiment_mode_warn_in_the_summary(tmp_path):
    leftover = {**REGISTERED, "mode": "experiment", "experiment": None, "reason": "registry.mode is ..."}
    (tmp_path / "registration.json").write_text(json.dumps(leftover))
    text = _summary(tmp_path, champion=None, version="7", aliases=[])
    assert f"**{experiment_warning(leftover)}**" in text and "WARNING: params.yaml has registry.mode" in text
    assert experiment_warning({**leftover, "experiment": "ritzy-oafs"}) is None  # a real `dvc exp run`


def test_an_incomplete_registration_result_is_refused():
    with pytest.raises(ValueError, match="lacks \\['reason'\\]"):
        outcome_headline({"version": "1", "promoted": False, "gate_passed": True})
