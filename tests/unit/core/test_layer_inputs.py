"""Earlier layers' states as head input (align.layers): extraction, checks, storage and save/load."""

from __future__ import annotations

import pytest
import torch

from alien.core.capture import extract_features
from alien.core.feature_set import FeatureSet
from alien.core.head_builder import build_alien_head
from alien.core.layers import LayerLogits, head_inputs
from alien.core.model import AlienClassifier
from alien.options.align import check_layers
from tests.tiny import tiny_model, tiny_texts_and_labels, tiny_tokenizer

MAX_LENGTH = 24


def _plain_states(model, tokenizer, texts, layer: int, *, side: str) -> torch.Tensor:
    """One layer's state from a plain forward with ``output_hidden_states``, pooled by hand."""
    enc = tokenizer(texts, padding=True, truncation=True, max_length=MAX_LENGTH, return_tensors="pt")
    kwargs = {k: v for k, v in enc.items() if not (k == "token_type_ids" and side == "left")}
    with torch.no_grad():
        state = model(**kwargs, output_hidden_states=True).hidden_states[layer]
    if side == "left":  # a decoder: its last token (left padding keeps it in the last position)
        return state[:, -1]
    return state[:, 0]


@pytest.mark.parametrize(("family", "side"), [("bert", "right"), ("distilbert", "right"), ("llama", "left")])
def test_layer_states_equal_those_of_a_plain_forward(family, side):
    model = tiny_model(family, num_labels=2).eval()
    tokenizer = tiny_tokenizer(padding_side=side)
    texts, labels = tiny_texts_and_labels(11)
    fs = extract_features(
        model, tokenizer, texts, labels, batch_size=11, max_length=MAX_LENGTH, progress=False, layers=(-2, -3)
    )
    hidden = model.config.hidden_size
    assert fs.layer_ids == (-2, -3) and fs.layers is not None
    assert fs.layers.shape == (11, 2 * hidden)
    for k, layer in enumerate((-2, -3)):
        plain = _plain_states(model, tokenizer, texts, layer, side=side)
        assert torch.allclose(fs.layers[:, k * hidden : (k + 1) * hidden], plain, rtol=0, atol=1e-6)


def test_layer_indices_are_checked_before_any_forward():
    assert check_layers([-2, -4], 6) == (-2, -4)
    for bad in ([-1], [-2, -2], [0], [3]):
        with pytest.raises(ValueError, match="distinct indices counted from the top"):
            check_layers(bad)
    with pytest.raises(ValueError, match=r"layers \[-7\] do not exist: the backbone has 6 layers"):
        check_layers([-2, -7], 6)


def test_feature_sets_keep_their_layers_through_save_load_and_subset(tmp_path):
    fs = FeatureSet(
        torch.randn(5, 4), torch.randn(5, 2), torch.tensor([0, 1, 0, 1, 1]),
        layers=torch.randn(5, 6), layer_ids=(-2, -3),
    )  # fmt: skip
    fs.save(tmp_path / "split.safetensors")
    back = FeatureSet.load(tmp_path / "split.safetensors")
    assert back.layer_ids == (-2, -3) and torch.equal(back.head_inputs, fs.head_inputs)
    assert back.head_inputs.shape == (5, 10)
    sub = back.subset(torch.tensor([1, 3]))
    assert sub.layer_ids == (-2, -3) and torch.equal(sub.layers, fs.layers[[1, 3]])
    with pytest.raises(ValueError, match="K=4 equal states"):
        FeatureSet(fs.features, fs.logits, fs.labels, layers=torch.randn(5, 6), layer_ids=(-2, -3, -4, -5))


def _layered(rows: int):
    """A tiny BERT, its tokenizer, ``rows`` texts, their features with layer -2, and a zero layer head input."""
    model, tokenizer = tiny_model("bert", num_labels=2), tiny_tokenizer()
    texts, labels = tiny_texts_and_labels(rows)
    fs = extract_features(
        model, tokenizer, texts, labels, max_length=MAX_LENGTH, progress=False, layers=(-2,)
    )
    layers = LayerLogits.fit(fs.head_inputs, tap=fs.features.shape[1], layers=(-2,), classes=2)
    return model, tokenizer, texts, labels, fs, layers


def test_a_head_refuses_features_without_its_layers():
    model, tokenizer, texts, labels, fs, layers = _layered(8)
    head = build_alien_head(model, layers=layers)
    plain = extract_features(model, tokenizer, texts, labels, max_length=MAX_LENGTH, progress=False)
    with pytest.raises(ValueError, match=r"reads layers \[-2\] but the features hold none"):
        head_inputs(head, plain)
    assert torch.equal(head_inputs(build_alien_head(model), fs), fs.features)


def test_the_served_model_reads_the_same_layers_after_save_and_load(tmp_path):
    """predict (capture at serving) gives the u of the head on the cached features, before and after save."""
    model, tokenizer, texts, _, fs, layers = _layered(9)
    with torch.no_grad():
        layers.weight.normal_(0.0, 0.3, generator=torch.Generator().manual_seed(1))
    head = build_alien_head(model, layers=layers)
    clf = AlienClassifier(model, tokenizer, head, label_names=["neg", "pos"], max_length=MAX_LENGTH)
    with torch.no_grad():
        cached = head(fs.head_inputs).numpy()
    served = clf.predict(texts).uncertainty
    assert abs(served - cached).max() <= 1e-6
    loaded = AlienClassifier.load(clf.save(tmp_path / "deployable"))
    assert loaded.metadata()["layers"] == {"layers": [-2], "tap": 32, "hidden": 32, "classes": 2}
    assert abs(loaded.predict(texts).uncertainty - cached).max() <= 1e-6
