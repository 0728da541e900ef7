"""Word-level labels land on the first sub-token of each word; everything else is -100."""

from __future__ import annotations

import pytest

from alien.core.tokenization import (
    IGNORE_INDEX,
    align_word_labels,
    first_subtoken_mask,
    pad_encoding,
    tokenize_and_align_labels,
)
from tests.tiny import tiny_tokenizer

X = IGNORE_INDEX


def test_align_word_labels_by_hand():
    # [CLS] w0 w0 w1 w2 w2 w2 [SEP]
    word_ids = [None, 0, 0, 1, 2, 2, 2, None]
    assert align_word_labels(word_ids, [4, 0, 7]) == [X, 4, X, 0, 7, X, X, X]
    assert first_subtoken_mask(word_ids) == [False, True, False, True, True, False, False, False]


def test_ignored_word_label_stays_ignored():
    assert align_word_labels([None, 0, 1, None], [X, 2]) == [X, X, 2, X]


def _expected(tok, words, labels):
    """Labels written out from each word's own sub-tokens: [CLS] w0... w1... [SEP]."""
    out = [X]
    for word, label in zip(words, labels, strict=True):
        out += [label] + [X] * (len(tok.tokenize(word)) - 1)
    return [*out, X]


def test_real_tokenizer_splits_words_and_aligns():
    tok = tiny_tokenizer()
    words = ["unbelievably", "gripping", "number"]
    assert [len(tok.tokenize(w)) > 1 for w in words] == [True, True, False]
    enc = tokenize_and_align_labels(tok, [words], [[1, 2, 0]], max_length=32)
    assert enc["labels"][0] == _expected(tok, words, [1, 2, 0])
    assert len(enc["labels"][0]) == len(enc["input_ids"][0])
    assert enc.word_ids(0)[1] == 0 and enc.word_ids(0)[-2] == 2


def test_truncation_drops_trailing_words():
    tok = tiny_tokenizer()
    assert len(tok.tokenize("unbelievably")) >= 4
    enc = tokenize_and_align_labels(tok, [["unbelievably", "film", "number"]], [[1, 2, 0]], max_length=5)
    # [CLS] + 3 sub-tokens of the first word + [SEP]: only the first word survives
    assert enc["labels"][0] == [X, 1, X, X, X]


@pytest.mark.parametrize("side", ["right", "left"])
def test_pad_encoding_pads_labels_with_ignore(side):
    tok = tiny_tokenizer(padding_side=side)
    short, long = ["number"], ["number", "unbelievably", "number"]
    enc = tokenize_and_align_labels(tok, [short, long], [[1], [0, 1, 0]], max_length=32)
    batch = pad_encoding(tok, enc)
    width = len(_expected(tok, long, [0, 1, 0]))
    assert batch["input_ids"].shape == batch["labels"].shape == (2, width)
    pad = [X] * (width - 3)
    unpadded = [X, 1, X]
    assert batch["labels"][0].tolist() == (pad + unpadded if side == "left" else unpadded + pad)
    mask = [0] * (width - 3)
    assert batch["attention_mask"][0].tolist() == (mask + [1] * 3 if side == "left" else [1] * 3 + mask)
    assert batch["labels"][1].tolist() == _expected(tok, long, [0, 1, 0])


def test_mismatched_counts_are_rejected():
    tok = tiny_tokenizer()
    with pytest.raises(ValueError, match="2 examples but 1 label lists"):
        tokenize_and_align_labels(tok, [["a"], ["b"]], [[0]], max_length=8)
    with pytest.raises(ValueError, match="example 0 has 2 words but 1 labels"):
        tokenize_and_align_labels(tok, [["a", "b"]], [[0]], max_length=8)


def test_text_instead_of_words_is_rejected():
    with pytest.raises(TypeError, match="list of word strings"):
        tokenize_and_align_labels(tiny_tokenizer(), ["a b"], [[0, 1, 2]], max_length=8)
