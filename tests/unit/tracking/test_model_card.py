"""The model card a reviewer decides from."""

from __future__ import annotations

import pytest

from alien.evaluation.model_card import render_model_card
from tests.unit.tracking.fixtures import METRICS, gate_report

CHAMPION = {"version": "4", "roc_auc": 0.79, "ece": 0.05, "accuracy": 0.86}


def _card(**overrides) -> str:
    kwargs = {
        "data_version": {"md5": "0123abcd", "source": "dvc.lock", "path": "data/raw/dataset.jsonl"},
        "params": {"backbone": {"name": "package:minilm"}, "align": {"alphas": [0.1]}, "other": {"x": 1}},
        "champion": CHAMPION,
        "plot_uris": {"reliability.png": "runs:/abc/plots/reliability.png"},
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
    assert "[reliability.png](runs:/abc/plots/reliability.png)" in card


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
