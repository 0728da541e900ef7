"""The deployable AlienClassifier: one forward, faithful outputs, exact save/load, honest overhead."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from alien.core.capture import extract_features
from alien.core.head_builder import build_alien_head
from alien.core.model import AlienClassifier, Prediction
from alien.core.uncertainty import uncertainty_from_logits
from tests.tiny import VOCAB_SIZE, tiny_model, tiny_texts_and_labels, tiny_tokenizer

MAX_LENGTH = 32
TEXTS, LABELS = tiny_texts_and_labels(11)
WORDS = [t.split() for t in TEXTS[:5]]


def _classifier(family: str = "bert", *, side: str = "right", perturb: bool = True) -> AlienClassifier:
    task = "token-classification" if family == "bert-token" else "sequence-classification"
    clf = AlienClassifier.from_model(
        tiny_model(family, num_labels=3), tiny_tokenizer(padding_side=side), max_length=MAX_LENGTH, task=task
    )
    if perturb:  # a "trained" head whose uncertainty differs from the backbone's entropy
        torch.manual_seed(1)
        with torch.no_grad():
            for p in clf.head.parameters():
                p.add_(torch.randn_like(p))
    return clf


@pytest.mark.parametrize(("family", "side"), [("bert", "right"), ("llama", "left"), ("roberta", "right")])
def test_predict_matches_features_and_model(family, side):
    clf = _classifier(family, side=side)
    pred = clf.predict(TEXTS, batch_size=4)
    fs = extract_features(
        clf.model, clf.tokenizer, TEXTS, LABELS, batch_size=4, max_length=MAX_LENGTH, progress=False
    )
    with torch.no_grad():
        u = clf.head(fs.features).numpy()
    assert isinstance(pred, Prediction) and len(pred) == len(TEXTS)
    np.testing.assert_allclose(pred.probabilities, torch.softmax(fs.logits, -1).numpy(), atol=1e-6)
    np.testing.assert_array_equal(pred.labels, fs.logits.argmax(-1).numpy())
    np.testing.assert_allclose(pred.uncertainty, u, atol=1e-6)
    assert not np.allclose(pred.uncertainty, uncertainty_from_logits(fs.logits).numpy(), atol=1e-3)
    assert pred.label_strings == [clf.label_names[i] for i in pred.labels]


def test_untrained_head_gives_backbone_entropy():
    clf = _classifier(perturb=False)
    pred = clf.predict(TEXTS)
    entropy = uncertainty_from_logits(torch.log(torch.from_numpy(pred.probabilities)))
    np.testing.assert_allclose(pred.uncertainty, entropy.numpy(), atol=1e-6)


def test_one_backbone_forward_per_batch():
    clf = _classifier()
    calls = []
    handle = clf.model.register_forward_hook(lambda *_: calls.append(1))
    clf.predict(TEXTS, batch_size=4)
    handle.remove()
    assert len(calls) == 3  # ceil(11 / 4)


def test_token_predictions_are_per_word():
    clf = _classifier("bert-token")
    pred = clf.predict(WORDS, batch_size=2)
    n_words = [len(w) for w in WORDS]
    assert pred.example_ids is not None and pred.word_ids is not None
    assert pred.example_ids.tolist() == [i for i, n in enumerate(n_words) for _ in range(n)]
    assert pred.word_ids.tolist() == [j for n in n_words for j in range(n)]
    fs = extract_features(
        clf.model,
        clf.tokenizer,
        WORDS,
        [[0] * n for n in n_words],
        task="token-classification",
        batch_size=2,
        max_length=MAX_LENGTH,
        progress=False,
    )
    with torch.no_grad():
        np.testing.assert_allclose(pred.uncertainty, clf.head(fs.features).numpy(), atol=1e-6)
    assert pred.probabilities.shape == (sum(n_words), 3)


@pytest.mark.parametrize(("family", "side"), [("bert", "right"), ("llama", "left"), ("bert-token", "right")])
def test_save_load_round_trip_is_exact(tmp_path, family, side):
    clf = _classifier(family, side=side)
    inputs = WORDS if family == "bert-token" else TEXTS
    before = clf.predict(inputs, batch_size=4)
    target = clf.save(tmp_path / "deployable")
    suffixes = {p.suffix for p in target.rglob("*") if p.is_file()}
    assert suffixes <= {".json", ".safetensors", ".txt", ".jinja"}, suffixes  # no pickle anywhere
    meta = json.loads((target / "alien.json").read_text())
    assert meta["family"] == clf.head.family and meta["max_length"] == MAX_LENGTH
    loaded = AlienClassifier.load(target)
    after = loaded.predict(inputs, batch_size=4)
    np.testing.assert_array_equal(before.uncertainty, after.uncertainty)
    np.testing.assert_array_equal(before.probabilities, after.probabilities)
    np.testing.assert_array_equal(before.labels, after.labels)
    assert after.label_names == before.label_names and loaded.task == clf.task


def test_save_replaces_existing_folder_without_leftovers(tmp_path):
    clf = _classifier()
    (tmp_path / "deployable").mkdir()
    (tmp_path / "deployable" / "stale.txt").write_text("old")
    clf.save(tmp_path / "deployable")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["deployable"]
    assert not (tmp_path / "deployable" / "stale.txt").exists()
    assert (tmp_path / "deployable" / "alien_head.safetensors").exists()


def test_load_of_incomplete_folder_names_missing_file(tmp_path):
    clf = _classifier()
    clf.save(tmp_path / "d")
    (tmp_path / "d" / "alien_head.safetensors").unlink()
    with pytest.raises(FileNotFoundError, match=r"alien_head\.safetensors"):
        AlienClassifier.load(tmp_path / "d")


def test_parameter_overhead_counted_by_hand():
    clf = _classifier(perturb=False)
    h, layers, ff, vocab, pos, c = 32, 2, 64, VOCAB_SIZE, 64, 3
    embeddings = vocab * h + pos * h + 2 * h + 2 * h  # word, position, token type, LayerNorm
    layer = 4 * (h * h + h) + 2 * h + (h * ff + ff) + (ff * h + h) + 2 * h
    pooler, classifier = h * h + h, h * c + c
    backbone = embeddings + layers * layer + pooler + classifier
    overhead = clf.parameter_overhead()
    assert overhead["head_parameters"] == pooler + classifier == 1155
    assert overhead["backbone_parameters"] == backbone
    assert overhead["overhead_percent"] == pytest.approx(100 * 1155 / backbone)
    llama = _classifier("llama", side="left", perturb=False).parameter_overhead()
    assert llama["head_parameters"] == h * c  # score has no bias


def test_constructor_rejects_mismatches():
    model, tok = tiny_model("bert", num_labels=3), tiny_tokenizer()
    with pytest.raises(ValueError, match="does not fit"):
        AlienClassifier(
            model,
            tok,
            build_alien_head(tiny_model("roberta", num_labels=3)),
            label_names=["a", "b", "c"],
            max_length=16,
        )
    with pytest.raises(ValueError, match="label_names must be 3 strings"):
        AlienClassifier(model, tok, build_alien_head(model), label_names=["a", "b"], max_length=16)
    with pytest.raises(ValueError, match="token-classification"):
        AlienClassifier(
            model,
            tok,
            build_alien_head(model),
            label_names=["a", "b", "c"],
            max_length=16,
            task="token-classification",
        )


def test_predict_rejects_bad_inputs():
    clf = _classifier(perturb=False)
    with pytest.raises(ValueError, match="no inputs"):
        clf.predict([])
    with pytest.raises(TypeError, match="single string"):
        clf.predict("a film")
    with pytest.raises(TypeError, match="input 1 must be a string"):
        clf.predict(["a film", None])  # type: ignore[list-item]
    with pytest.raises(ValueError, match="batch_size"):
        clf.predict(["a film"], batch_size=0)
