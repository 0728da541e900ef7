"""Stable hashing: de-duplication, stratified sub-sampling and splits that never move."""

from __future__ import annotations

import random

import pytest

from alien.data.split import (
    assign_split,
    deduplicate,
    example_id,
    normalise_text,
    select_rows,
    split_examples,
)

FRACTIONS = {"test": 0.25, "validation": 0.15, "alignment": 0.15}


def make_records(n: int, *, start: int = 0, spam_share: float = 0.3) -> list[dict[str, str]]:
    rng = random.Random(start)
    return [
        {
            "text": f"message number {i} {rng.random():.6f}",
            "label": "spam" if rng.random() < spam_share else "ham",
        }
        for i in range(start, start + n)
    ]


def assignment(records: list[dict[str, str]], *, seed: int = 42) -> dict[str, str]:
    examples, _, _ = deduplicate(records, task="sequence-classification")
    return {
        e.record["text"]: split
        for split, rows in split_examples(examples, seed=seed, fractions=FRACTIONS).items()
        for e in rows
    }


def test_adding_twenty_percent_new_rows_moves_no_existing_example() -> None:
    old = make_records(2000)
    new = old + make_records(400, start=10_000)
    random.Random(0).shuffle(new)  # order must not matter either
    before, after = assignment(old), assignment(new)
    assert len(before) == 2000 and len(after) == 2400
    assert {text: after[text] for text in before} == before


def test_split_sizes_and_class_proportions_hold_within_tolerance() -> None:
    records = make_records(4000)
    examples, _, _ = deduplicate(records, task="sequence-classification")
    splits = split_examples(examples, seed=42, fractions=FRACTIONS)
    overall = sum(e.record["label"] == "spam" for e in examples) / len(examples)
    expected = {**FRACTIONS, "train": 0.45}
    for name, rows in splits.items():
        assert abs(len(rows) / len(examples) - expected[name]) < 0.03, name
        share = sum(e.record["label"] == "spam" for e in rows) / len(rows)
        assert abs(share - overall) < 0.05, (name, share, overall)


def test_same_seed_same_split_other_seed_different_split() -> None:
    records = make_records(500)
    assert assignment(records, seed=7) == assignment(list(records), seed=7)
    other = assignment(records, seed=8)
    moved = sum(assignment(records, seed=7)[t] != other[t] for t in other)
    assert moved > 100  # independent draws: ~63% of examples change bucket


def test_assign_split_buckets_by_cumulative_fractions() -> None:
    fractions = {"test": 0.5, "validation": 0.0, "alignment": 0.0}
    keys = [f"k{i}" for i in range(2000)]
    splits = {assign_split(k, seed=1, fractions=fractions) for k in keys}
    assert splits == {"test", "train"}  # zero-width buckets receive nothing


def test_duplicates_collapse_with_majority_label_and_count_conflicts() -> None:
    records = [
        {"text": "Win a prize!", "label": "spam"},
        {"text": "hello", "label": "ham"},
        {"text": "  win a   PRIZE! ", "label": "ham"},
        {"text": "win a prize!", "label": "ham"},
        {"text": "Hello", "label": "ham"},
    ]
    examples, removed, conflicts = deduplicate(records, task="sequence-classification")
    assert removed == 3 and conflicts == 1
    assert [(e.record["text"], e.record["label"]) for e in examples] == [
        ("Win a prize!", "ham"),
        ("hello", "ham"),
    ]
    assert examples[0].id == example_id("win a prize!")


def test_duplicate_tie_goes_to_the_first_label() -> None:
    records = [{"text": "x", "label": "b"}, {"text": "X", "label": "a"}]
    examples, _, conflicts = deduplicate(records, task="sequence-classification")
    assert examples[0].record["label"] == "b" and conflicts == 1


def test_token_duplicates_keep_the_first_copy() -> None:
    records = [
        {"tokens": ["Ann", "sings"], "tags": ["B-per", "O"]},
        {"tokens": ["ann", "sings"], "tags": ["O", "O"]},
    ]
    examples, removed, conflicts = deduplicate(records, task="token-classification")
    assert removed == 1 and conflicts == 1 and examples[0].record["tags"] == ["B-per", "O"]


def test_max_rows_keeps_class_proportions_exactly_and_is_stable() -> None:
    examples, _, _ = deduplicate(make_records(3000), task="sequence-classification")
    chosen = select_rows(examples, max_rows=600, seed=42, task="sequence-classification")
    assert len(chosen) == 600
    spam = sum(e.record["label"] == "spam" for e in examples)
    assert sum(e.record["label"] == "spam" for e in chosen) == pytest.approx(600 * spam / 3000, abs=1)
    again = select_rows(list(reversed(examples)), max_rows=600, seed=42, task="sequence-classification")
    assert {e.key for e in again} == {e.key for e in chosen}
    other_seed = select_rows(examples, max_rows=600, seed=43, task="sequence-classification")
    assert {e.key for e in other_seed} != {e.key for e in chosen}


def test_max_rows_subset_is_not_biased_towards_a_split() -> None:
    examples, _, _ = deduplicate(make_records(4000), task="sequence-classification")
    chosen = select_rows(examples, max_rows=1000, seed=42, task="sequence-classification")
    sizes = {k: len(v) for k, v in split_examples(chosen, seed=42, fractions=FRACTIONS).items()}
    assert sizes["test"] == pytest.approx(250, abs=45)
    assert sizes["train"] == pytest.approx(450, abs=50)


def test_max_rows_above_the_data_keeps_everything() -> None:
    examples, _, _ = deduplicate(make_records(50), task="sequence-classification")
    assert select_rows(examples, max_rows=100, seed=1, task="sequence-classification") == examples
    assert select_rows(examples, max_rows=None, seed=1, task="sequence-classification") == examples


def test_normalise_text_ignores_case_width_and_spacing() -> None:
    assert normalise_text("Ｈｅｌｌｏ\tWorld ") == normalise_text("hello world") == "hello world"
