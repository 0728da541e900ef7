"""Each promotion rule has a pass case and a fail case, on synthetic rows with a known truth."""

from __future__ import annotations

import json

import numpy as np
import pytest

from alien.evaluation.free_baseline import FREE_SCORES, FreeBaseline, choose_free_baseline
from alien.evaluation.rules import (
    Bootstrap,
    FreeScores,
    Margins,
    Scored,
    calibration_ceiling,
    vs_backbone,
    vs_champion,
)

BOOT = Bootstrap(samples=400, confidence=0.95, seed=0)
N = 2000


def _rows(seed=0):
    rng = np.random.default_rng(seed)
    p = rng.beta(1.2, 4.0, N)  # the true P(error) of each row
    return p, (rng.random(N) < p).astype(int)


def _free(entropy, softmax_response, ts, *, split_auroc=(0.8, 0.8, 0.8)) -> FreeScores:
    """Free scores on the test rows; the ranking arm's baseline follows ``split_auroc`` (calibration split)."""
    chosen = FreeBaseline("validation", 1.5, dict(zip(FREE_SCORES, split_auroc, strict=True)))
    return FreeScores(chosen, dict(zip(FREE_SCORES, (entropy, softmax_response, ts), strict=True)))


def test_ranking_arm_passes_a_better_ranking_and_fails_a_noisy_one():
    p, e = _rows()
    rng = np.random.default_rng(1)
    worse = np.clip(p + rng.normal(0, 0.25, N), 0, 1)  # every free score ranks worse than the truth
    free = _free(worse, worse**3, worse)  # TS: the free ranking, calibrated as well as it can be
    good = vs_backbone(Scored(p, e), free, BOOT)
    assert good.status == "pass", good.detail
    assert good.values["auroc_ci_low"] > 0 and good.baselines["ranking"] == "entropy"
    noisy = vs_backbone(Scored(rng.random(N), e), free, BOOT)
    assert noisy.status == "fail" and noisy.values["auroc_ci_high"] < 0


def test_calibration_arm_passes_a_better_probability_than_temperature_scaling_at_an_equal_ranking():
    p, e = _rows()
    ts = p**2  # temperature scaling: the same ranking, still miscalibrated
    res = vs_backbone(Scored(p, e), _free(ts, p**3, ts), BOOT)
    assert res.values["auroc_delta"] == 0 and res.values["brier_ci_high"] < 0
    assert res.status == "pass", res.detail
    assert res.baselines == {
        "ranking": "entropy",
        "calibration": "temperature_scaling",
        "fitted_on": "validation",
    }


def test_calibration_arm_fails_a_better_ranking_bought_with_a_worse_probability_than_temperature_scaling():
    p, e = _rows()
    rng = np.random.default_rng(5)
    worse = np.clip(p + rng.normal(0, 0.25, N), 0, 1)
    res = vs_backbone(Scored(np.sqrt(p), e), _free(worse, worse**3, p), BOOT)  # TS is well calibrated here
    assert res.values["auroc_ci_low"] > 0 and res.values["brier_ci_low"] > 0
    assert res.status == "fail"


def test_ranking_arm_fails_when_calibration_improves_but_ranking_gets_significantly_worse():
    p, e = _rows()
    rng = np.random.default_rng(2)
    base_rate = np.clip(p.mean() + rng.normal(0, 0.05, N), 0, 1)  # calibrated, no ranking
    res = vs_backbone(Scored(base_rate, e), _free(p, p**3, p**3), BOOT)
    assert res.values["brier_ci_high"] < 0 and res.values["auroc_ci_high"] < 0
    assert res.status == "fail"


def test_a_head_that_only_adds_calibration_is_refused():
    """u equal to temperature scaling's score: the old rule (vs entropy, vs uncalibrated 1 - max p) passed it."""
    p, e = _rows()
    rng = np.random.default_rng(6)
    ts = p  # the backbone, temperature-scaled: well calibrated
    entropy = np.clip(p + rng.normal(0, 0.1, N), 0, 1)  # an uncalibrated score that ranks a little worse
    res = vs_backbone(Scored(ts.copy(), e), _free(entropy, p**3, ts, split_auroc=(0.7, 0.8, 0.8)), BOOT)
    assert res.baselines["ranking"] == "softmax_response"  # chosen on the calibration split
    assert res.values["uncalibrated_brier_ci_high"] < 0  # the old calibration arm's "improvement"
    assert res.values["entropy_auroc_ci_low"] > 0  # and the old ranking arm's
    assert res.values["brier_delta"] == res.values["brier_ci_low"] == res.values["brier_ci_high"] == 0
    assert res.status == "fail", res.detail
    assert "Not deciding" in res.detail


def test_the_ranking_baseline_is_the_best_free_score_on_the_calibration_split_not_on_test():
    p, e = _rows()
    rng = np.random.default_rng(7)
    good_on_test = np.clip(p + rng.normal(0, 0.05, N), 0, 1)
    poor_on_test = np.clip(p + rng.normal(0, 0.4, N), 0, 1)
    # on the calibration split entropy was best, although on test softmax_response ranks better
    free = _free(poor_on_test, good_on_test, poor_on_test, split_auroc=(0.83, 0.81, 0.82))
    res = vs_backbone(Scored(p, e), free, BOOT)
    assert (
        res.baselines["ranking"] == "entropy"
        and "ROC-AUC vs entropy (best free score on validation)" in res.detail
    )
    assert res.values["auroc_delta"] == res.values["entropy_auroc_delta"]
    assert res.values["split_auroc_entropy"] == 0.83 and res.values["temperature"] == 1.5


def test_free_baseline_ties_go_to_entropy_and_its_record_round_trips():
    tie = FreeBaseline("alignment", 1.2, dict.fromkeys(FREE_SCORES, 0.7))
    assert tie.ranking == "entropy" and tie.calibration == "temperature_scaling"
    assert FreeBaseline.from_dict(json.loads(json.dumps(tie.to_dict()))) == tie
    with pytest.raises(ValueError, match="never on test"):
        FreeBaseline("test", 1.2, dict.fromkeys(FREE_SCORES, 0.7))
    with pytest.raises(
        ValueError, match="says ranking='softmax_response' but its split_auroc gives 'entropy'"
    ):
        FreeBaseline.from_dict({**tie.to_dict(), "ranking": "softmax_response"})
    with pytest.raises(ValueError, match="free baseline must have"):
        FreeBaseline.from_dict({"split": "validation"})


def test_choose_free_baseline_scores_the_calibration_rows():
    p, e = _rows()
    rng = np.random.default_rng(8)
    on_split = {"entropy": rng.random(N), "softmax_response": p, "temperature_scaling": p**2}
    chosen = choose_free_baseline("validation", 1.3, on_split, e)
    assert chosen.ranking == "softmax_response"  # ties with TS (same ranking): the first wins
    assert chosen.split_auroc["softmax_response"] == chosen.split_auroc["temperature_scaling"]
    with pytest.raises(ValueError, match="cannot choose Rule 1's ranking baseline on 'validation'"):
        choose_free_baseline("validation", 1.3, on_split, np.zeros(N, dtype=int))


def test_calibration_ceiling():
    p, e = _rows()
    assert calibration_ceiling(Scored(p, e), max_ece=0.05, n_bins=15).status == "pass"
    assert calibration_ceiling(Scored(p**3, e), max_ece=0.05, n_bins=15).status == "fail"


def test_vs_champion_non_inferiority():
    p, e = _rows()
    margins = Margins(auroc=0.02, brier=0.01, accuracy=0.02)
    same = vs_champion(Scored(p, e), Scored(p, e), "3", margins, BOOT)
    assert same.status == "pass", same.detail
    rng = np.random.default_rng(3)
    worse_e = np.where(rng.random(N) < 0.1, 1, e)  # ten points more errors
    worse = vs_champion(Scored(rng.random(N), worse_e), Scored(p, e), "3", margins, BOOT)
    assert worse.status == "fail" and "v3" in worse.detail


def test_no_champion_is_said_plainly():
    p, e = _rows()
    res = vs_champion(Scored(p, e), None, None, Margins(0.02, 0.01, 0.02), BOOT)
    assert res.status == "no champion" and res.passed


@pytest.mark.parametrize("conf", [0.9, 0.99])
def test_a_wider_interval_never_turns_a_fail_into_a_pass(conf):
    p, e = _rows()
    rng = np.random.default_rng(4)
    noisy = vs_backbone(Scored(rng.random(N), e), _free(p, p, p), Bootstrap(300, conf, 0))
    assert noisy.status == "fail"
