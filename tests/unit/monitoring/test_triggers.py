"""Each retrain trigger fires on evidence and stays quiet without it; no window fires twice."""

from __future__ import annotations

from dataclasses import replace

import pytest

from alien.monitoring.drift import DriftResult
from alien.monitoring.estimate import WindowReport
from alien.monitoring.triggers import RetrainPolicy, evaluate_triggers, evaluate_windows

ONLY_ERROR = RetrainPolicy(error_above_champion=0.01, drift=None, guarantee_violation=None)
ONLY_DRIFT = RetrainPolicy(error_above_champion=None, drift=0.01, guarantee_violation=None)
ONLY_GUARANTEE = RetrainPolicy(error_above_champion=None, drift=None, guarantee_violation=0.05)
ONLY_LABELS = RetrainPolicy(
    error_above_champion=None, drift=None, guarantee_violation=None, min_new_labels=100
)


def _report(**fields: object) -> WindowReport:
    base = WindowReport(
        model_version="3",
        window="rows 0-199",
        index=0,
        n=200,
        status="ok",
        note="",
        target_risk=0.1,
        confidence=0.95,
        estimated_error=0.12,
        u_sd=0.1,
    )
    return replace(base, **fields)  # type: ignore[arg-type]


def _drift(p: float | None) -> DriftResult:
    return DriftResult(
        "u", "ks", 0.2 if p is not None else None, p, 0.05, p is not None and p < 0.05, 1000, 200
    )


def test_feature_drift_joins_the_drift_trigger_and_names_what_moved() -> None:
    features = DriftResult(
        "features",
        "ks_bonferroni",
        0.4,
        1e-5,
        0.05,
        True,
        1000,
        200,
        note="largest shift in principal component 2",
    )
    fired = evaluate_triggers(_report(drift=(_drift(0.5), features)), ONLY_DRIFT, champion_test_error=None)
    assert [(t.name, t.numbers["p_value"]) for t in fired] == [("drift_features", 1e-5)]
    assert fired[0].reason == (
        "ks_bonferroni drift of features: p = 1e-05 < 0.01 (largest shift in principal component 2)"
    )
    quiet = replace(features, p_value=0.02, significant=True)  # significant at 0.05, not at the policy's 0.01
    assert evaluate_triggers(_report(drift=(quiet,)), ONLY_DRIFT, champion_test_error=None) == []


def test_error_above_champion_fires_on_a_significant_excess_only() -> None:
    # se = 0.1 / sqrt(200) ~ 0.0071: 0.12 vs 0.10 is t ~ 2.8 (p ~ 0.003); 0.105 vs 0.10 is t ~ 0.7
    [fired] = evaluate_triggers(_report(), ONLY_ERROR, champion_test_error=0.10)
    assert fired.name == "error_above_champion" and fired.window_key == "3/rows 0-199"
    assert fired.numbers["estimated_error"] == 0.12 and fired.numbers["champion_test_error"] == 0.10
    assert 0.001 < fired.numbers["p_value"] < 0.005
    assert "0.120 > champion's test error 0.100" in fired.reason
    assert evaluate_triggers(_report(estimated_error=0.105), ONLY_ERROR, champion_test_error=0.10) == []
    assert evaluate_triggers(_report(estimated_error=0.05), ONLY_ERROR, champion_test_error=0.10) == []


def test_drift_fires_below_the_policy_level_only() -> None:
    [fired] = evaluate_triggers(_report(drift=(_drift(0.001),)), ONLY_DRIFT, champion_test_error=None)
    assert fired.name == "drift_u" and fired.numbers["p_value"] == 0.001
    # significant at the test's own 0.05, but not at the policy's 0.01
    assert evaluate_triggers(_report(drift=(_drift(0.03),)), ONLY_DRIFT, champion_test_error=None) == []
    assert evaluate_triggers(_report(drift=(_drift(None),)), ONLY_DRIFT, champion_test_error=None) == []


def test_guarantee_violation_fires_when_the_binomial_test_rejects() -> None:
    bad = _report(guarantee_p_value=0.002, realised_risk_accepted=0.2, n_labelled_accepted=80)
    [fired] = evaluate_triggers(bad, ONLY_GUARANTEE, champion_test_error=None)
    assert fired.name == "guarantee_violation"
    assert fired.numbers == {
        "realised_risk_accepted": 0.2,
        "target_risk": 0.1,
        "n_labelled_accepted": 80.0,
        "p_value": 0.002,
    }
    ok = _report(guarantee_p_value=0.4, realised_risk_accepted=0.11, n_labelled_accepted=80)
    assert evaluate_triggers(ok, ONLY_GUARANTEE, champion_test_error=None) == []
    assert evaluate_triggers(_report(), ONLY_GUARANTEE, champion_test_error=None) == []  # no labels


def test_min_new_labels_fires_at_the_threshold() -> None:
    [fired] = evaluate_triggers(_report(n_labelled=100), ONLY_LABELS, champion_test_error=None)
    assert fired.name == "min_new_labels" and fired.numbers == {"new_labels": 100.0, "min": 100.0}
    assert evaluate_triggers(_report(n_labelled=99), ONLY_LABELS, champion_test_error=None) == []
    assert (
        len(evaluate_triggers(_report(n_labelled=0), ONLY_LABELS, champion_test_error=None, new_labels=150))
        == 1
    )


def test_a_fired_window_fires_nothing_again() -> None:
    report = _report(drift=(_drift(0.001),), n_labelled=500)
    policy = RetrainPolicy(min_new_labels=100)
    first = evaluate_triggers(report, policy, champion_test_error=0.10)
    assert {t.name for t in first} == {"error_above_champion", "drift_u", "min_new_labels"}
    assert evaluate_triggers(report, policy, champion_test_error=0.10, already_fired={report.key}) == []
    other = replace(report, window="rows 200-399")
    assert evaluate_triggers(other, policy, champion_test_error=0.10, already_fired={report.key}) != []


def test_evaluate_windows_fires_each_key_once() -> None:
    report = _report(drift=(_drift(0.001),))
    fired = evaluate_windows(
        [report, report, replace(report, model_version="4")], ONLY_DRIFT, champion_test_error=None
    )
    assert [t.window_key for t in fired] == ["3/rows 0-199", "4/rows 0-199"]


@pytest.mark.parametrize("status", ["empty", "one_row"])
def test_tiny_windows_never_fire(status: str) -> None:
    report = _report(status=status, drift=(_drift(1e-9),), n_labelled=10_000, guarantee_p_value=1e-9)
    assert evaluate_triggers(report, RetrainPolicy(min_new_labels=1), champion_test_error=0.0) == []


def test_champion_error_is_required_while_its_trigger_is_on() -> None:
    with pytest.raises(ValueError, match="champion_test_error"):
        evaluate_triggers(_report(), RetrainPolicy(), champion_test_error=None)
    with pytest.raises(ValueError, match=r"1\.5"):
        evaluate_triggers(_report(), RetrainPolicy(), champion_test_error=1.5)


def test_policy_from_params_mapping() -> None:
    policy = RetrainPolicy.from_dict({"drift": True, "error_above_champion": False, "min_new_labels": 500})
    assert policy == RetrainPolicy(
        error_above_champion=None, drift=0.01, guarantee_violation=0.01, min_new_labels=500
    )
    with pytest.raises(ValueError, match=r"unknown retrain_when key\(s\) \['drfit'\]"):
        RetrainPolicy.from_dict({"drfit": 0.01})


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"drift": 0.0}, "drift"),
        ({"guarantee_violation": 2}, "guarantee_violation"),
        ({"min_new_labels": 0}, "min_new_labels"),
    ],
)
def test_bad_policy_values_are_named(kwargs: dict[str, object], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        RetrainPolicy(**kwargs)  # type: ignore[arg-type]
