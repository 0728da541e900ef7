"""Entity-level precision/recall/F1 against hand-computed values."""

from __future__ import annotations

import pytest

from alien.metrics.entity import entity_scores, tag_sequences


def test_hand_computed_scores() -> None:
    gold = [
        ["B-per", "I-per", "O", "B-loc"],  # 2 entities
        ["O", "B-loc", "I-loc", "O", "B-org"],  # 2 entities
    ]
    predicted = [
        ["B-per", "I-per", "O", "B-per"],  # per ok, loc typed wrong
        ["O", "B-loc", "O", "O", "B-org"],  # loc boundary wrong, org ok
    ]
    # 4 predicted entities, 4 gold, 2 exact matches
    scores = entity_scores(gold, predicted)
    assert scores == {"entity_precision": 0.5, "entity_recall": 0.5, "entity_f1": 0.5, "entity_support": 4.0}


def test_precision_and_recall_differ() -> None:
    gold = [["B-loc", "O", "O"]]
    predicted = [["B-loc", "B-per", "B-org"]]  # 1 of 3 predicted is right; the 1 gold is found
    scores = entity_scores(gold, predicted)
    assert scores["entity_precision"] == pytest.approx(1 / 3)
    assert scores["entity_recall"] == 1.0
    assert scores["entity_f1"] == pytest.approx(0.5)


def test_short_prediction_counts_missing_tail_as_outside() -> None:
    gold = [["B-loc", "O", "B-per", "I-per"]]
    scores = entity_scores(gold, [["B-loc", "O"]])  # the last two words were truncated away
    assert scores["entity_precision"] == 1.0
    assert scores["entity_recall"] == 0.5


def test_no_entities_anywhere_is_zero_not_nan() -> None:
    scores = entity_scores([["O", "O"]], [["O", "O"]])
    assert scores == {"entity_precision": 0.0, "entity_recall": 0.0, "entity_f1": 0.0, "entity_support": 0.0}


@pytest.mark.parametrize(
    ("gold", "predicted", "error", "message"),
    [
        ([], [], ValueError, "empty"),
        ([["O"]], [["O"], ["O"]], ValueError, "1 gold sequences but 2"),
        ([["O"]], [["O", "B-x"]], ValueError, "longer"),
        ("O", [["O"]], TypeError, "list of tag lists"),
        ([["O", 1]], [["O"]], TypeError, r"gold\[0\]"),
    ],
)
def test_invalid_input(gold, predicted, error, message) -> None:
    with pytest.raises(error, match=message):
        entity_scores(gold, predicted)


def test_tag_sequences_regroups_rows_by_example_keeping_order() -> None:
    names = ["O", "B-x", "I-x"]
    assert tag_sequences([1, 2, 0, 1, 2], [2, 2, 0, 0, 2], names) == [["O", "B-x"], ["B-x", "I-x", "I-x"]]
    with pytest.raises(ValueError, match="rows"):
        tag_sequences([0, 1], [0], names)
    with pytest.raises(ValueError, match=r"\[0, 3\)"):
        tag_sequences([5], [0], names)
