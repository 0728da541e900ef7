"""Feature extraction: one frozen, deterministic pass; per-word rows for token tasks; clear errors."""

from __future__ import annotations

import math
import sys

import pytest
import torch

from alien.core.capture import extract_features
from alien.core.head_builder import build_alien_head
from tests.tiny import tiny_model, tiny_texts_and_labels, tiny_tokenizer


@pytest.fixture(scope="module")
def bert():
    return tiny_model("bert", num_labels=3), tiny_tokenizer()


@pytest.fixture(scope="module")
def data():
    texts, labels = tiny_texts_and_labels(13)
    return texts, [y + (i % 3 == 0) for i, y in enumerate(labels)]  # three classes


def test_shapes_and_labels(bert, data):
    model, tok = bert
    texts, labels = data
    fs = extract_features(model, tok, texts, labels, batch_size=4, max_length=32, progress=False)
    assert fs.features.shape == (13, 32) and fs.logits.shape == (13, 3)
    assert fs.labels.tolist() == labels
    assert fs.example_ids is None
    assert fs.features.dtype == fs.logits.dtype == torch.float32


def test_progress_bar_only_on_a_terminal(bert, data, capsys, monkeypatch):
    model, tok = bert
    extract_features(model, tok, *data, batch_size=4, progress=True, desc="split-x")
    assert "split-x" not in capsys.readouterr().err  # a log or CI: no \r bar
    monkeypatch.setattr(type(sys.stderr), "isatty", lambda self: True, raising=False)
    extract_features(model, tok, *data, batch_size=4, progress=True, desc="split-x")
    assert "split-x" in capsys.readouterr().err  # a terminal: the bar is drawn
    extract_features(model, tok, *data, batch_size=4, progress=False, desc="split-x")
    assert "split-x" not in capsys.readouterr().err


def test_deterministic_across_runs(bert, data):
    model, tok = bert
    a = extract_features(model, tok, *data, batch_size=4, progress=False)
    b = extract_features(model, tok, *data, batch_size=4, progress=False)
    assert torch.equal(a.features, b.features) and torch.equal(a.logits, b.logits)


def test_batch_size_does_not_change_features(bert, data):
    model, tok = bert
    a = extract_features(model, tok, *data, batch_size=1, progress=False)
    b = extract_features(model, tok, *data, batch_size=13, progress=False)
    assert torch.allclose(a.features, b.features, atol=1e-5)


def test_model_mode_is_restored_and_features_are_trainable(data):
    model, tok = tiny_model("bert", num_labels=3), tiny_tokenizer()
    model.train()
    fs = extract_features(model, tok, *data, progress=False)
    assert model.training
    # Cached features feed the head's training: they must not be inference-mode tensors.
    head = build_alien_head(model)
    head(fs.features).sum().backward()
    assert next(head.parameters()).grad is not None


def test_token_task_one_row_per_word():
    model, tok = tiny_model("bert-token", num_labels=4), tiny_tokenizer()
    words = [["unbelievably", "charming", "film"], ["number", "7"], ["a", "dull", "boring", "film", "!"]]
    labels = [[1, 2, 3], [0, -100], [3, 2, 1, 0, 1]]
    fs = extract_features(
        model, tok, words, labels, task="token-classification", batch_size=2, progress=False
    )
    assert fs.labels.tolist() == [1, 2, 3, 0, 3, 2, 1, 0, 1]  # the -100 word is dropped
    assert fs.example_ids is not None
    assert fs.example_ids.tolist() == [0, 0, 0, 1, 2, 2, 2, 2, 2]
    assert fs.features.shape == (9, 32) and fs.logits.shape == (9, 4)


def test_token_task_drops_truncated_words():
    model, tok = tiny_model("bert-token", num_labels=2), tiny_tokenizer()
    words = [["number"] * 10]
    fs = extract_features(
        model, tok, words, [[1] * 10], task="token-classification", max_length=6, progress=False
    )
    assert len(fs) == 4  # [CLS] + 4 words + [SEP]


@pytest.mark.parametrize(
    ("texts", "labels", "error", "match"),
    [
        ([], [], ValueError, "empty"),
        (["a", "b"], [0], ValueError, "2 inputs but 1 labels"),
        (["a", "b"], [0, 3], ValueError, r"label 3 of example 1 is out of range; allowed \[0, 3\)"),
        (["a", "b"], [0, -1], ValueError, "out of range"),
        (["a", "b"], [0, math.nan], TypeError, "label 1 must be an integer class id, got nan"),
        (["a", "b"], [0, 1.0], TypeError, "label 1 must be an integer"),
        (["a", math.nan], [0, 1], TypeError, "text 1 must be a string, got nan"),
    ],
)
def test_bad_sequence_inputs(bert, texts, labels, error, match):
    model, tok = bert
    with pytest.raises(error, match=match):
        extract_features(model, tok, texts, labels, progress=False)


def test_bad_token_inputs():
    model, tok = tiny_model("bert-token", num_labels=2), tiny_tokenizer()
    kw = {"task": "token-classification", "progress": False}
    with pytest.raises(ValueError, match="example 0 has 2 words"):
        extract_features(model, tok, [["a", "b"]], [[0]], **kw)
    with pytest.raises(ValueError, match=r"label 2 of example 0 is out of range.*or -100"):
        extract_features(model, tok, [["a", "b"]], [[0, 2]], **kw)
    with pytest.raises(TypeError, match="list of word strings"):
        extract_features(model, tok, ["a b"], [[0, 1, 1]], **kw)


def test_task_must_match_model(bert, data):
    model, tok = bert
    with pytest.raises(ValueError, match="sequence-classification"):
        extract_features(model, tok, *data, task="token-classification", progress=False)
    with pytest.raises(ValueError, match="unknown task 'ner'"):
        extract_features(model, tok, *data, task="ner", progress=False)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="batch_size must be >= 1"):
        extract_features(model, tok, *data, batch_size=0, progress=False)
