"""Error-detection metrics against hand-computed values and scikit-learn."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import torch
from sklearn.metrics import average_precision_score, roc_auc_score

from alien.metrics import aurc, pr_auc, prediction_rejection_ratio, roc_auc

Metric = Callable[[Any, Any], float]


@pytest.fixture
def random_scores() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    errors = rng.integers(0, 2, size=300)
    # Rounding creates ties, which sklearn and our code must treat alike.
    u = np.round(errors * 0.3 + rng.random(300), 1)
    return u, errors


def test_roc_auc_and_pr_auc_match_sklearn(random_scores: tuple[np.ndarray, np.ndarray]) -> None:
    u, e = random_scores
    assert roc_auc(u, e) == pytest.approx(roc_auc_score(e, u), abs=1e-12)
    assert pr_auc(u, e) == pytest.approx(average_precision_score(e, u), abs=1e-12)


def test_torch_tensors_and_bool_errors_are_accepted(random_scores: tuple[np.ndarray, np.ndarray]) -> None:
    u, e = random_scores
    assert roc_auc(torch.tensor(u), torch.tensor(e).bool()) == pytest.approx(roc_auc_score(e, u))


def test_aurc_by_hand_on_four_points() -> None:
    # Sorted by u the errors are 0,1,0,1: risks 0, 1/2, 1/3, 1/2.
    assert aurc([0.1, 0.2, 0.3, 0.4], [0, 1, 0, 1]) == pytest.approx((0 + 1 / 2 + 1 / 3 + 1 / 2) / 4)


def test_prr_by_hand_on_four_points() -> None:
    # AURC = 1/3, random = 1/2, oracle = (0 + 0 + 1/3 + 1/2) / 4 = 5/24 -> (1/6) / (7/24) = 4/7.
    assert prediction_rejection_ratio([0.1, 0.2, 0.3, 0.4], [0, 1, 0, 1]) == pytest.approx(4 / 7)


def test_prr_is_one_for_the_oracle_and_minus_one_for_the_reverse() -> None:
    errors = [0, 0, 1, 1]
    assert prediction_rejection_ratio([0.1, 0.2, 0.3, 0.4], errors) == pytest.approx(1.0)
    assert prediction_rejection_ratio([0.4, 0.3, 0.2, 0.1], errors) == pytest.approx(-1.0)


def test_constant_score_gets_the_random_aurc_and_zero_prr() -> None:
    errors = np.array([0, 1, 0, 0, 1, 0, 0, 0])
    u = np.full(errors.size, 0.5)
    assert aurc(u, errors) == pytest.approx(errors.mean())
    assert prediction_rejection_ratio(u, errors) == pytest.approx(0.0)


def test_aurc_with_ties_is_the_mean_over_tie_orders() -> None:
    u = np.array([0.1, 0.5, 0.5, 0.5, 0.9])
    e = np.array([0, 1, 0, 0, 1])
    tied = [1, 2, 3]
    values = []
    for perm in itertools.permutations(tied):
        order = [0, *perm, 4]  # an explicit order with strictly increasing scores
        values.append(aurc(np.arange(5.0), e[order]))
    assert aurc(u, e) == pytest.approx(np.mean(values))


def test_aurc_is_defined_without_errors() -> None:
    assert aurc([0.2, 0.1], [0, 0]) == 0.0
    assert aurc([0.2, 0.1], [1, 1]) == 1.0


@pytest.mark.parametrize("metric", [roc_auc, pr_auc, prediction_rejection_ratio])
@pytest.mark.parametrize(
    ("errors", "case"), [([0, 0, 0], "no errors"), ([1, 1, 1], "every prediction is an error")]
)
def test_single_class_raises_naming_the_case(metric: Metric, errors: list[int], case: str) -> None:
    with pytest.raises(ValueError, match=case):
        metric([0.1, 0.2, 0.3], errors)


@pytest.mark.parametrize("metric", [roc_auc, pr_auc, prediction_rejection_ratio, aurc])
def test_bad_inputs_raise_naming_the_problem(metric: Metric) -> None:
    with pytest.raises(ValueError, match="empty"):
        metric([], [])
    with pytest.raises(ValueError, match="disagree on the number of rows"):
        metric([0.1, 0.2, 0.3], [0, 1])
    with pytest.raises(ValueError, match="NaN"):
        metric([0.1, float("nan")], [0, 1])
    with pytest.raises(ValueError, match="only 0 and 1"):
        metric([0.1, 0.2], [0, 2])
    with pytest.raises(ValueError, match="1-D"):
        metric([[0.1, 0.2]], [[0, 1]])
