"""BIO decoding and entity-level uncertainty."""

from __future__ import annotations

import random

import numpy as np
import pytest
from seqeval.metrics.sequence_labeling import get_entities

from alien.core.entities import (
    Entity,
    aggregate_uncertainty,
    bio_spans,
    entities_per_example,
    extract_entities,
    is_bio_scheme,
)
from alien.core.model import AlienClassifier
from tests.tiny import tiny_model, tiny_tokenizer

TAGS = ["O", "B-loc", "I-loc", "B-per", "I-per"]


@pytest.mark.parametrize(
    ("tags", "spans"),
    [
        (["O", "O"], []),
        (["B-loc", "I-loc", "I-loc"], [("loc", 0, 2)]),
        (["I-loc", "I-loc", "O"], [("loc", 0, 1)]),  # I- after O opens an entity (conlleval)
        (["B-loc", "B-loc"], [("loc", 0, 0), ("loc", 1, 1)]),
        (["B-loc", "I-per", "I-per"], [("loc", 0, 0), ("per", 1, 2)]),  # type change splits
        (["O", "B-per"], [("per", 1, 1)]),  # entity at the very end
    ],
)
def test_bio_spans_hand_cases(tags: list[str], spans: list[tuple[str, int, int]]) -> None:
    assert bio_spans(tags) == spans


def test_bio_spans_agree_with_seqeval_on_random_sequences() -> None:
    rng = random.Random(0)
    for _ in range(500):
        tags = [rng.choice(TAGS) for _ in range(rng.randint(1, 12))]
        assert bio_spans(tags) == get_entities(tags), tags


def test_bad_tags_are_rejected() -> None:
    with pytest.raises(ValueError, match="not BIO"):
        bio_spans(["O", "NOUN"])
    with pytest.raises(TypeError):
        bio_spans("B-loc")  # type: ignore[arg-type]


def test_is_bio_scheme() -> None:
    assert is_bio_scheme(TAGS)
    assert not is_bio_scheme(["B-loc", "I-loc"])  # no O
    assert not is_bio_scheme(["O", "NOUN"])
    assert not is_bio_scheme(["O", "B-"])  # empty type


def test_aggregate_uncertainty_max_and_mean() -> None:
    assert aggregate_uncertainty([0.2, 0.9, 0.1]) == 0.9
    assert aggregate_uncertainty([0.2, 0.9, 0.1], how="mean") == pytest.approx(0.4)
    with pytest.raises(ValueError, match="how must be one of"):
        aggregate_uncertainty([0.1], how="median")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="empty"):
        aggregate_uncertainty([])


def test_extract_entities_text_positions_and_uncertainty() -> None:
    words = ["alice", "flew", "to", "new", "york", "city"]
    tags = ["B-per", "O", "O", "B-loc", "I-loc", "I-loc"]
    u = [0.3, 0.05, 0.1, 0.2, 0.6, 0.4]
    found = extract_entities(words, tags, u)
    assert found == [
        Entity(text="alice", type="per", start_word=0, end_word=0, uncertainty=0.3),
        Entity(text="new york city", type="loc", start_word=3, end_word=5, uncertainty=0.6),
    ]
    assert extract_entities(words, tags, u, aggregate="mean")[1].uncertainty == pytest.approx(0.4)
    assert found[1].to_dict()["end_word"] == 5
    with pytest.raises(ValueError, match="6 words, 5 tags"):
        extract_entities(words, tags[:5], u)


def test_entities_per_example_reads_missing_words_as_outside() -> None:
    inputs = [["paris", "is", "big"], ["bob", "smith", "left"]]
    # rows out of order across examples; example 1's last word has no row (truncated)
    labels = np.array([3, 1, 4, 0, 0])
    u = np.array([0.5, 0.2, 0.7, 0.1, 0.3])
    example_ids = np.array([1, 0, 1, 0, 0])
    word_ids = np.array([0, 0, 1, 1, 2])
    found = entities_per_example(inputs, labels, u, example_ids, word_ids, TAGS)
    assert [[(e.text, e.type, e.uncertainty) for e in row] for row in found] == [
        [("paris", "loc", 0.2)],
        [("bob smith", "per", 0.7)],
    ]


def test_entities_per_example_validates_rows() -> None:
    with pytest.raises(ValueError, match="BIO"):
        entities_per_example(
            [["a"]], np.array([0]), np.array([0.1]), np.array([0]), np.array([0]), ["X", "Y"]
        )
    with pytest.raises(ValueError, match="outside"):
        entities_per_example([["a"]], np.array([0]), np.array([0.1]), np.array([0]), np.array([3]), TAGS)
    with pytest.raises(ValueError, match="differ in length"):
        entities_per_example([["a"]], np.array([0, 1]), np.array([0.1]), np.array([0]), np.array([0]), TAGS)


def test_classifier_predict_entities_matches_its_word_predictions() -> None:
    classifier = AlienClassifier.from_model(
        tiny_model("bert-token", num_labels=len(TAGS), seed=3),
        tiny_tokenizer(),
        max_length=8,
        label_names=TAGS,
        task="token-classification",
    )
    inputs = [["a", "warm", "funny", "film"], ["one", "of", "the", "best", "movies", "of", "the", "year"]]
    pred = classifier.predict(inputs)
    found = classifier.predict_entities(inputs)
    assert len(found) == 2
    for e, row in enumerate(found):
        rows = pred.example_ids == e
        tags = ["O"] * len(inputs[e])
        u = np.zeros(len(inputs[e]))
        for w, label, value in zip(
            pred.word_ids[rows], pred.labels[rows], pred.uncertainty[rows], strict=True
        ):
            tags[w], u[w] = TAGS[label], value
        expected = [(k, s, t, float(u[s : t + 1].max())) for k, s, t in bio_spans(tags)]
        assert [(x.type, x.start_word, x.end_word, x.uncertainty) for x in row] == expected
    assert sum(map(len, found)) > 0  # the random model does predict entities, so the check has teeth
    assert int((pred.example_ids == 1).sum()) < 8  # max_length=8 truncated the second input
    with pytest.raises(ValueError, match="token-classification"):
        AlienClassifier.from_model(tiny_model("bert"), tiny_tokenizer(), max_length=8).predict_entities(
            [["a"]]
        )
