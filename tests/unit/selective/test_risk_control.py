"""Risk-controlled abstention on synthetic scores with a known error model.

Scores ``s ~ Beta(1, 4)`` are calibrated by construction: a row with score
``s`` is wrong with probability ``s`` (overall error rate 0.2). The population
risk of accepting ``s <= t`` is ``E[s | s <= t]``, so the oracle threshold for a
10% target is known.

The guarantee is on the risk of the *population* of future rows, so each draw's
test set is large (50,000 rows): its realised risk is that risk up to ~0.002.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from scipy.optimize import brentq
from scipy.stats import beta as beta_dist

from alien.selective import (
    ABSTAIN_ALL,
    abstain,
    choose_threshold,
    clopper_pearson_upper,
    default_candidates,
    default_min_accepted,
    min_certifiable,
    selective_risk,
)

A, B = 1.0, 4.0
TARGET, DELTA = 0.1, 0.1


def _draw(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    s = rng.beta(A, B, size=n)
    return s, (rng.uniform(size=n) < s).astype(int)


def _population_risk(t: float) -> float:
    """``E[s | s <= t]`` for ``s ~ Beta(A, B)``."""
    return A / (A + B) * beta_dist.cdf(t, A + 1, B) / beta_dist.cdf(t, A, B)


def _naive_threshold(s: np.ndarray, e: np.ndarray) -> float:
    """The largest candidate whose *empirical* calibration risk is <= target: no guarantee."""
    best = ABSTAIN_ALL
    for t in default_candidates(TARGET):
        accepted = s <= t
        if accepted.any() and e[accepted].mean() <= TARGET:
            best = float(t)
    return best


def _draws(
    n_draws: int = 200, n_cal: int = 1000, n_test: int = 50_000
) -> dict[str, list[tuple[float, float]]]:
    """Per draw and method: (realised test risk, test coverage)."""
    rng = np.random.default_rng(2026)
    out: dict[str, list[tuple[float, float]]] = {"ltt": [], "holm": [], "naive": []}
    for _ in range(n_draws):
        s_cal, e_cal = _draw(n_cal, rng)
        s_test, e_test = _draw(n_test, rng)
        thresholds = {
            "ltt": choose_threshold(s_cal, e_cal, target_risk=TARGET, delta=DELTA).threshold,
            "holm": choose_threshold(
                s_cal,
                e_cal,
                target_risk=TARGET,
                delta=DELTA,
                candidates=np.linspace(0.05, 1.0, 96),
                fwer_method="bonferroni_holm",
            ).threshold,
            "naive": _naive_threshold(s_cal, e_cal),
        }
        for name, t in thresholds.items():
            coverage, risk = selective_risk(s_test, e_test, t)
            out[name].append((risk, coverage))
    return out


@pytest.fixture(scope="module")
def draws() -> dict[str, list[tuple[float, float]]]:
    return _draws()


def test_guarantee_holds_in_at_least_1_minus_delta_of_draws(draws: dict) -> None:
    oracle = brentq(lambda t: _population_risk(t) - TARGET, 0.01, 0.99)
    oracle_coverage = beta_dist.cdf(oracle, A, B)
    for name in ("ltt", "holm"):
        risks, _ = np.array(draws[name]).T
        assert (risks <= TARGET).mean() >= 1 - DELTA, name
    ltt_coverage = np.mean([c for _, c in draws["ltt"]])
    holm_coverage = np.mean([c for _, c in draws["holm"]])
    # Not a trivial "abstain on everything": most of the oracle's coverage is kept...
    assert ltt_coverage > 0.8 * oracle_coverage
    # ...and fixed-sequence testing, paying no multiplicity correction, keeps more than Holm.
    assert ltt_coverage > holm_coverage + 0.1


def test_naive_empirical_threshold_breaks_the_guarantee(draws: dict) -> None:
    risks = np.array([r for r, _ in draws["naive"]])
    assert (risks <= TARGET).mean() < 1 - DELTA - 0.2


def test_certified_bound_and_calibration_coverage() -> None:
    s, e = _draw(2000, np.random.default_rng(0))
    result = choose_threshold(s, e, target_risk=TARGET, delta=DELTA)
    assert result.controlled
    assert result.empirical_risk <= result.risk_bound <= TARGET
    coverage, risk = selective_risk(s, e, result.threshold)
    assert coverage == pytest.approx(result.coverage) and risk == pytest.approx(result.empirical_risk)
    assert result.n_accepted == int((s <= result.threshold).sum())
    # The next candidate up is not certified (fixed sequence stopped there).
    looser = result.threshold + 0.001
    n = int((s <= looser).sum())
    assert clopper_pearson_upper(int(e[s <= looser].sum()), n, DELTA) > TARGET
    assert json.loads(json.dumps(result.to_dict()))["threshold"] == result.threshold


def test_nothing_certified_abstains_on_everything() -> None:
    s = np.full(50, 0.05)
    e = np.ones(50, dtype=int)
    result = choose_threshold(s, e, target_risk=TARGET, delta=DELTA)
    assert not result.controlled and result.threshold == ABSTAIN_ALL and result.coverage == 0.0
    assert abstain(s, result.threshold).all()


def test_few_rows_cannot_be_certified_but_enough_clean_rows_can() -> None:
    # 0 errors in n accepted rows certifies risk <= 0.1 at delta = 0.1 only for n >= 22 (0.9^22 < 0.1).
    for n, expected in ((21, False), (22, True)):
        result = choose_threshold(
            np.full(n, 0.01), np.zeros(n, dtype=int), target_risk=TARGET, delta=DELTA, min_accepted=1
        )
        assert result.controlled is expected
    # By default the sequence only starts where 38 rows are accepted (1 error in 38 is still certified).
    for n, expected in ((37, False), (38, True)):
        errors = np.r_[1, np.zeros(n - 1, dtype=int)]
        result = choose_threshold(np.full(n, 0.01), errors, target_risk=TARGET, delta=DELTA)
        assert result.controlled is expected


def test_clopper_pearson_matches_closed_form_for_zero_errors() -> None:
    # With k = 0 the upper bound solves (1 - p)^n = delta.
    assert clopper_pearson_upper(0, 50, 0.05) == pytest.approx(1 - 0.05 ** (1 / 50))
    assert clopper_pearson_upper(0, 0, 0.05) == 1.0


def test_abstain_is_strictly_above_threshold() -> None:
    assert abstain([0.0, 0.3, 0.30001, 1.0], 0.3).tolist() == [False, False, True, True]
    assert abstain([0.0, 1.0], ABSTAIN_ALL).all()


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"target_risk": 0.0, "delta": 0.1}, "target_risk must lie in"),
        ({"target_risk": 0.1, "delta": 1.0}, "delta must lie in"),
        ({"target_risk": 0.1, "delta": 0.1, "fwer_method": "bh"}, "unknown fwer_method 'bh'.*fixed_sequence"),
        ({"target_risk": 0.1, "delta": 0.1, "candidates": [0.2, 1.5]}, r"candidates must lie in \[0, 1\]"),
    ],
)
def test_bad_arguments_raise(kwargs: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        choose_threshold([0.1, 0.2], [0, 1], **kwargs)


def test_bad_scores_and_errors_raise() -> None:
    with pytest.raises(ValueError, match="scores must lie in"):
        choose_threshold([0.1, 2.0], [0, 1], target_risk=0.1, delta=0.1)
    with pytest.raises(ValueError, match="errors must be 0/1"):
        choose_threshold([0.1, 0.2], [0, 3], target_risk=0.1, delta=0.1)
    with pytest.raises(ValueError, match="disagree on the number of rows"):
        selective_risk([0.1, 0.2], [0], 0.5)
    with pytest.raises(TypeError, match="threshold must be a number"):
        abstain([0.1], None)  # type: ignore[arg-type]


def _shifted_draw(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """No score below 0.15 (like 1 - max p of a temperature-scaled model), yet low scores are rarely wrong."""
    s = 0.15 + 0.85 * rng.beta(A, B, size=n)
    return s, (rng.uniform(size=n) < 1.2 * (s - 0.15)).astype(int)


def test_sequence_starts_where_enough_rows_are_accepted_and_the_guarantee_still_holds() -> None:
    rng = np.random.default_rng(11)
    held, coverage = [], []
    for _ in range(200):
        s_cal, e_cal = _shifted_draw(1000, rng)
        result = choose_threshold(s_cal, e_cal, target_risk=TARGET, delta=DELTA)
        # Without the skip the first candidate (t = 0.1) accepts nothing and the sequence stops there.
        assert result.threshold > 0.15 or not result.controlled
        s_test, e_test = _shifted_draw(50_000, rng)
        c, r = selective_risk(s_test, e_test, result.threshold)
        held.append(r <= TARGET)
        coverage.append(c)
    assert np.mean(held) >= 1 - DELTA
    assert np.mean(coverage) > 0.5  # the oracle's is about 0.64
    unskipped = choose_threshold(s_cal, e_cal, target_risk=TARGET, delta=DELTA, min_accepted=1)
    assert not unskipped.controlled  # one row at the first non-empty candidate certifies nothing


def test_min_certifiable_and_min_accepted_validation() -> None:
    assert min_certifiable(0.1, 0.1) == 22 and 0.9**22 <= 0.1 < 0.9**21
    assert min_certifiable(0.05, 0.1) == 45
    assert default_min_accepted(0.1, 0.1) == 38 and default_min_accepted(0.05, 0.1) == 77
    with pytest.raises(ValueError, match="min_accepted must be a positive integer"):
        choose_threshold([0.1, 0.2], [0, 1], target_risk=0.1, delta=0.1, min_accepted=0)
