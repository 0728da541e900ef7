"""The ALIEN head built from a fine-tuned classifier reproduces the model's own uncertainty."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
import torch
from torch import nn
from transformers import BertConfig, BertForMaskedLM

from alien.core.capture import extract_features
from alien.core.distance import DistanceTemperature
from alien.core.head_builder import FAMILIES, build_alien_head, detect_family
from alien.core.layers import LayerLogits
from alien.core.tokenization import first_subtoken_mask
from alien.core.uncertainty import normalized_entropy, smoothmax_uncertainty, uncertainty_from_logits
from tests.tiny import tiny_model, tiny_texts_and_labels, tiny_tokenizer

MAX_LENGTH = 24
BATCH = 5

# (tiny family, tokenizer padding side, expected ALIEN family)
CASES = [
    ("bert", "right", "bert"),
    ("roberta", "right", "classification-head"),
    ("electra", "right", "classification-head"),
    ("distilbert", "right", "distilbert"),
    ("llama", "left", "decoder"),
    ("llama", "right", "decoder"),
    ("bert-token", "right", "token"),
]


def sharpen(model: nn.Module, factor: float = 100.0) -> nn.Module:
    """Scale the last classifier layer so random tiny models give entropies across (0, 1), not all ~1."""
    last = [m for m in model.modules() if isinstance(m, nn.Linear)][-1]
    with torch.no_grad():
        last.weight.mul_(factor)
    return model


def _data(family: str) -> tuple[list, list]:
    texts, labels = tiny_texts_and_labels(17)
    if family != "bert-token":
        return texts, labels
    words = [t.split() for t in texts]
    return words, [[(i + j) % 3 for j in range(len(w))] for i, w in enumerate(words)]


def _reference_logits(model: nn.Module, tokenizer, inputs: list, *, token: bool) -> torch.Tensor:
    """The model's own logits from its normal forward, over the same batches, written independently."""
    out = []
    with torch.no_grad():
        for start in range(0, len(inputs), BATCH):
            chunk = inputs[start : start + BATCH]
            enc = tokenizer(
                chunk,
                is_split_into_words=token,
                padding=True,
                truncation=True,
                max_length=MAX_LENGTH,
                return_tensors="pt",
            )
            kwargs = {
                k: v
                for k, v in enc.items()
                if not (k == "token_type_ids" and "llama" in type(model).__name__.lower())
            }
            logits = model(**kwargs).logits
            if token:
                mask = torch.tensor([first_subtoken_mask(enc.word_ids(i)) for i in range(len(chunk))])
                logits = logits[mask]
            out.append(logits)
    return torch.cat(out)


@pytest.fixture(scope="module", params=CASES, ids=[f"{c[0]}-{c[1]}" for c in CASES])
def case(request):
    family, side, expected = request.param
    model = sharpen(tiny_model(family, num_labels=3))
    tokenizer = tiny_tokenizer(padding_side=side)
    inputs, labels = _data(family)
    task = "token-classification" if family == "bert-token" else "sequence-classification"
    fs = extract_features(
        model, tokenizer, inputs, labels, task=task, batch_size=BATCH, max_length=MAX_LENGTH, progress=False
    )
    reference = _reference_logits(model, tokenizer, inputs, token=family == "bert-token")
    with_layers = extract_features(
        model, tokenizer, inputs, labels, task=task, batch_size=BATCH, max_length=MAX_LENGTH,
        progress=False, layers=(-2,),
    )  # fmt: skip
    return SimpleNamespace(
        model=model, fs=fs, reference=reference, expected=expected, with_layers=with_layers
    )


def test_family_is_detected_from_structure(case):
    assert detect_family(case.model) == case.expected


def test_entropy_head_reproduces_model_entropy_at_init(case):
    head = build_alien_head(case.model)
    expected = normalized_entropy(case.reference)
    assert expected.max() < 0.99, "sharpen() must keep the entropies away from the clamp"
    with torch.no_grad():
        got_raw = normalized_entropy(head.logits(case.fs.features))
        got = head(case.fs.features)
    assert got_raw.shape == expected.shape
    assert torch.allclose(got_raw, expected, rtol=0, atol=1e-6)
    assert torch.allclose(got, expected.clamp(head.eps, 1 - head.eps), rtol=0, atol=1e-6)
    assert torch.allclose(head.logits(case.fs.features), case.reference, rtol=0, atol=1e-5)


def test_layer_inputs_keep_the_exact_start(case):
    """Zero-initialised weights on layer -2's state leave u at the backbone's entropy, for every family."""
    fs = case.with_layers
    assert torch.equal(fs.features, case.fs.features), "asking for layers must not change z"
    layers = LayerLogits.fit(fs.head_inputs, tap=fs.features.shape[1], layers=(-2,), classes=3)
    head = build_alien_head(case.model, layers=layers)
    expected = normalized_entropy(case.reference)
    with torch.no_grad():
        got = head(fs.head_inputs)
    assert fs.layers is not None and (fs.layers.std(dim=0) > 1e-4).all(), "the layer must vary across rows"
    assert torch.allclose(got, expected.clamp(head.eps, 1 - head.eps), rtol=0, atol=1e-6)
    with torch.no_grad():
        layers.weight.normal_(0.0, 0.5, generator=torch.Generator().manual_seed(0))
        moved = head(fs.head_inputs)
    assert not torch.allclose(moved, got, atol=1e-3), "a trained weight must change u"


@pytest.mark.parametrize("inputs", [("mahalanobis",), ("mahalanobis", "relative_mahalanobis")])
def test_distance_inputs_keep_the_exact_start(case, inputs):
    """Zero-initialised distance inputs leave u at the backbone's entropy, for every family."""
    temperature = DistanceTemperature.fit(case.fs.features, case.fs.labels, case.fs.features, inputs)
    head = build_alien_head(case.model, temperature=temperature)
    expected = normalized_entropy(case.reference)
    with torch.no_grad():
        got = head(case.fs.features)
        phi = (temperature.raw_distances(case.fs.features) - temperature.shift) / temperature.scale
    assert phi.std() > 0.1, "the inputs must carry signal, or the test proves nothing"
    assert torch.allclose(got, expected.clamp(head.eps, 1 - head.eps), rtol=0, atol=1e-6)
    with torch.no_grad():
        temperature.weight.fill_(0.5)
    with torch.no_grad():
        moved = head(case.fs.features)
    assert not torch.allclose(moved, got, atol=1e-3), "a trained weight must change u"


def test_smoothmax_head_reproduces_model_smoothmax_at_init(case):
    head = build_alien_head(case.model, kind="smoothmax")
    with torch.no_grad():
        got_raw = smoothmax_uncertainty(head.logits(case.fs.features))
        got = head(case.fs.features)
    assert torch.allclose(got_raw, smoothmax_uncertainty(case.reference), rtol=0, atol=1e-6)
    expected = uncertainty_from_logits(case.reference, kind="smoothmax", eps=head.eps)
    assert torch.allclose(got, expected, rtol=0, atol=1e-6)


def test_head_is_an_independent_copy(case):
    head = build_alien_head(case.model)
    model_ptrs = {p.data_ptr() for p in case.model.parameters()}
    assert not model_ptrs & {p.data_ptr() for p in head.parameters()}
    before = {k: v.clone() for k, v in case.model.state_dict().items()}
    with torch.no_grad():
        for p in head.parameters():
            p.add_(1.0)
    assert all(torch.equal(before[k], v) for k, v in case.model.state_dict().items())
    assert not torch.allclose(head.logits(case.fs.features), case.reference, atol=1e-3)


def test_head_trains_only_its_own_parameters(case):
    head = build_alien_head(case.model)
    head.train()
    loss = head(case.fs.features).sum()
    loss.backward()
    assert all(p.grad is not None for p in head.parameters())
    assert all(p.grad is None for p in case.model.parameters())


def test_bert_core_is_pooler_plus_classifier():
    model = tiny_model("bert")
    head = build_alien_head(model)
    types = [type(m).__name__ for m in head.core.modules()]
    assert "BertPooler" in types and "Linear" in types
    # pooler dense (32*32 + 32) + classifier (32*2 + 2)
    assert head.num_parameters() == 32 * 32 + 32 + 32 * 2 + 2


class PoolerFreeForSequenceClassification(nn.Module):
    """A custom classifier without a pooler: the classifier's input is the feature itself."""

    def __init__(self) -> None:
        super().__init__()
        self.config = SimpleNamespace(num_labels=3, pad_token_id=0)
        self.embed = nn.Embedding(120, 16)
        self.pooler = None
        self.classifier = nn.Linear(16, 3)

    @property
    def base_model(self) -> nn.Module:
        return self

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> SimpleNamespace:
        mask = attention_mask.unsqueeze(-1).float()
        pooled = torch.tanh((self.embed(input_ids) * mask).sum(1) / mask.sum(1))
        return SimpleNamespace(logits=self.classifier(pooled))


def test_model_without_pooler_uses_classifier_input():
    torch.manual_seed(0)
    model = sharpen(PoolerFreeForSequenceClassification().eval())
    texts, labels = tiny_texts_and_labels(9)
    fs = extract_features(model, tiny_tokenizer(), texts, labels, batch_size=4, progress=False)
    head = build_alien_head(model)
    assert detect_family(model) == "bert"
    assert isinstance(head.core, nn.Linear)
    assert fs.features.shape == (9, 16)
    assert torch.allclose(head.logits(fs.features), fs.logits, rtol=0, atol=1e-5)


def test_unsupported_model_names_class_and_families():
    model = BertForMaskedLM(
        BertConfig(
            vocab_size=120, hidden_size=32, num_hidden_layers=1, num_attention_heads=2, intermediate_size=64
        )
    )
    with pytest.raises(ValueError, match="BertForMaskedLM") as err:
        build_alien_head(model)
    assert all(f in str(err.value) for f in FAMILIES)


def test_non_module_is_a_type_error():
    with pytest.raises(TypeError, match=r"nn\.Module"):
        detect_family("bert-base-uncased")  # type: ignore[arg-type]


def test_unknown_kind_is_rejected():
    with pytest.raises(ValueError, match="smoothmax"):
        build_alien_head(tiny_model("bert"), kind="variance")  # type: ignore[arg-type]
