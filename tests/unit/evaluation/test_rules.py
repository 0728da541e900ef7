"""Each promotion rule has a pass case and a fail case, on synthetic rows with a known truth."""

from __future__ import annotations

import numpy as np
import pytest

from alien.evaluation.rules import Bootstrap, Margins, Scored, calibration_ceiling, vs_backbone, vs_champion

BOOT = Bootstrap(samples=400, confidence=0.95, seed=0)
N = 2000


def _rows(seed=0):
    rng = np.random.default_rng(seed)
    p = rng.beta(1.2, 4.0, N)  # the true P(error) of each row
    return p, (rng.random(N) < p).astype(int)


def test_vs_backbone_passes_a_calibrated_informative_alien_and_fails_a_noisy_one():
    p, e = _rows()
    rng = np.random.default_rng(1)
    entropy = np.clip(p + rng.normal(0, 0.25, N), 0, 1)  # a worse ranking than the truth
    overconfident = p**3  # backbone's 1 - max p: same ranking, badly calibrated
    good = vs_backbone(Scored(p, e), entropy, overconfident, BOOT)
    assert good.status == "pass", good.detail
    noisy = vs_backbone(Scored(rng.random(N), e), entropy, overconfident, BOOT)
    assert noisy.status == "fail" and noisy.values["auroc_ci_high"] < 0


def test_vs_backbone_fails_when_calibration_improves_but_ranking_gets_significantly_worse():
    p, e = _rows()
    rng = np.random.default_rng(2)
    worse_ranking = np.clip(
        p.mean() + rng.normal(0, 0.05, N), 0, 1
    )  # near the base rate: calibrated, no ranking
    res = vs_backbone(Scored(worse_ranking, e), p, p**3, BOOT)
    assert res.values["brier_ci_high"] < 0 and res.values["auroc_ci_high"] < 0
    assert res.status == "fail"


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
    noisy = vs_backbone(Scored(rng.random(N), e), p, p, Bootstrap(300, conf, 0))
    assert noisy.status == "fail"
