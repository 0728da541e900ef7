"""The model card a reviewer decides from."""

from __future__ import annotations

import pytest

from alien.evaluation.model_card import identity_warnings, render_model_card
from tests.unit.tracking.fixtures import METRICS, gate_report

CHAMPION = {"version": "4", "roc_auc": 0.79, "ece": 0.05, "accuracy": 0.86}


def _card(**overrides) -> str:
    kwargs = {
        "data_version": {"md5": "0123abcd", "source": "dvc.lock", "path": "data/raw/dataset.jsonl"},
        "params": {"backbone": {"name": "package:minilm"}, "align": {"alphas": [0.1]}, "other": {"x": 1}},
        "champion": CHAMPION,
        "plot_uris": {"reliability.png": "get-artifact?path=plots/reliability.png&run_uuid=abc"},
    }
    kwargs.update(overrides)
    report = kwargs.pop("report", gate_report(passed=False, champion=CHAMPION))
    return render_model_card(report, METRICS, **kwargs)


def test_card_has_verdict_gate_table_every_method_and_champion() -> None:
    card = _card()
    assert "FAILED" in card and "PASSED" not in card
    assert "| auroc_vs_entropy | ❌ fail | delta=0.0310, ci_low=-0.0100 | delta 0.031 |" in card
    assert "| ece | ✅ pass | ece=0.0410 |" in card
    for method in ("**ALIEN** (this version)", "entropy", "mahalanobis"):
        assert f"| {method} |" in card
    # ALIEN has the best ROC-AUC (bold); mahalanobis has no calibration metrics
    assert "| **ALIEN** (this version) | **0.8100** | **0.5200** |" in card
    assert "| mahalanobis | 0.6600 | 0.3100 | 0.2000 | 0.1010 | — | — | 0.8700 |" in card
    assert "| champion v4 (ALIEN, same test split) | 0.7900 |" in card
    assert "md5 `0123abcd` (from dvc.lock)" in card
    assert "| backbone.name | package:minilm |" in card and "other.x" not in card
    link = "get-artifact?path=plots/reliability.png&run_uuid=abc"
    assert f"![reliability.png]({link})" in card and f"([open]({link}))" in card  # inline and as a link
    assert "runs:/" not in card  # MLflow's UI strips that scheme


def test_card_names_the_baseline_each_arm_of_rule_1_used() -> None:
    report = gate_report(passed=True)
    report["gates"][0]["baselines"] = {"ranking": "softmax_response", "calibration": "temperature_scaling"}
    card = _card(report=report, champion=None, plot_uris={})
    assert "ranking=softmax_response, calibration=temperature_scaling, delta=0.0310" in card


def test_first_model_card_passes_without_champion_row() -> None:
    card = _card(report=gate_report(passed=True), champion=None, plot_uris={})
    assert "PASSED" in card and "| champion | ➖ no champion |" in card
    assert "champion v" not in card and "## Plots" not in card


def test_card_requires_a_boolean_verdict() -> None:
    with pytest.raises(ValueError, match="passed"):
        _card(report={"gates": []})


def test_status_block_is_replaced_in_place_and_warnings_come_first() -> None:
    from alien.evaluation.model_card import with_status

    card = _card(warnings=["the label set (a,b) differs from champion v4's (x,y)"])
    assert card.index("**Warning:** the label set (a,b)") < card.index("**Gate verdict:**")
    once = with_status(card, "serving as champion")
    twice = with_status(once, "not eligible for promotion — rolled back")
    assert once.count("Registry status") == twice.count("Registry status") == 1
    assert "rolled back" in twice and "serving as champion" not in twice
    assert twice.replace(twice[twice.index("<!--") : twice.index("status -->\n\n") + 12], "") == card
    with pytest.raises(ValueError, match="status"):
        with_status(card, "")


def test_label_set_or_task_differing_from_the_champion_is_warned_first() -> None:
    ours = {"task": "sequence-classification", "labels": ["neg", "pos"]}
    same = {"version": "4", "task": "sequence-classification", "labels": "neg,pos"}
    assert identity_warnings(ours, same) == [] and identity_warnings(ours, None) == []
    other = {"version": "4", "task": "token-classification", "labels": "ABBR,DESC,ENTY,HUM,LOC,NUM"}
    card = _card(identity=ours, champion_identity=other, warnings=["extra"])
    warned = [line for line in card.splitlines() if line.startswith("> ⚠️")]
    assert len(warned) == 3 and "extra" in warned[2]
    assert "the label set (neg,pos) differs from champion v4's (ABBR,DESC,ENTY,HUM,LOC,NUM)" in warned[0]
    assert "the task (sequence-classification) differs" in warned[1]
    assert card.index("Warning:") < card.index("**Gate verdict:**")


def test_provenance_lines_are_listed() -> None:
    card = _card(
        provenance={"git commit": "`abc` (uncommitted changes: true)", "Prefect flow run": "[x](http://p/r)"}
    )
    assert (
        "## Provenance\n\n- git commit: `abc` (uncommitted changes: true)\n- Prefect flow run: [x](http://p/r)"
        in card
    )
    assert "## Provenance" not in _card()
