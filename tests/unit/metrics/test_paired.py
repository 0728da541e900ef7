"""Paired bootstrap of a metric difference: matches a plain loop, and the interval means something."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from alien.metrics.paired import paired_bootstrap


def _data(n=300, seed=0):
    rng = np.random.default_rng(seed)
    e = (rng.random(n) < 0.3).astype(int)
    good = np.clip(0.3 + 0.4 * e + rng.normal(0, 0.15, n), 0, 1)  # informative
    bad = rng.random(n)  # noise
    return good, bad, e


@pytest.mark.parametrize("metric", ["roc_auc", "brier", "accuracy"])
def test_matches_a_plain_reference_loop(metric):
    good, bad, e = _data(120)
    e2 = np.roll(e, 3)
    res = paired_bootstrap(metric, good, e, bad, e2, n_samples=200, seed=7)
    rng = np.random.default_rng(7)
    fns = {
        "roc_auc": lambda u, y: roc_auc_score(y, u),
        "brier": lambda u, y: np.mean((u - y) ** 2),
        "accuracy": lambda u, y: 1 - y.mean(),
    }
    ref = []
    for _ in range(200):
        i = rng.integers(0, e.size, e.size)
        ref.append(fns[metric](good[i], e[i]) - fns[metric](bad[i], e2[i]))
    lo, hi = np.percentile(ref, [2.5, 97.5])
    assert res.low == pytest.approx(lo, abs=1e-9) and res.high == pytest.approx(hi, abs=1e-9)
    assert res.delta == pytest.approx(fns[metric](good, e) - fns[metric](bad, e2), abs=1e-12)


def test_an_informative_score_beats_noise_and_a_tie_straddles_zero():
    good, bad, e = _data()
    win = paired_bootstrap("roc_auc", good, e, bad, e, n_samples=500)
    assert win.low > 0
    tie = paired_bootstrap("roc_auc", good, e, good + 1e-9, e, n_samples=500)
    assert tie.low <= 0 <= tie.high
    brier = paired_bootstrap("brier", good, e, bad, e, n_samples=500)
    assert brier.high < 0  # lower Brier is better: the informative score wins


def test_bad_input_is_named():
    with pytest.raises(ValueError, match="unknown paired metric 'ece'"):
        paired_bootstrap("ece", [0.1], [0], [0.1], [0])  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="both errors and correct rows in errors_b"):
        paired_bootstrap("roc_auc", [0.1, 0.2], [0, 1], [0.1, 0.2], [0, 0])
