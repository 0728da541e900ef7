"""Backbones that must be refused before work starts: no tokenizer, a degenerate one, pickle weights."""

from __future__ import annotations

import hashlib
import time
from pathlib import Path

import pytest
import torch
from tokenizers import Tokenizer, models, pre_tokenizers
from transformers import PreTrainedTokenizerFast

from alien.assets import backbones as packaged
from alien.assets.catalogue import CATALOGUE, BackboneAsset
from alien.backbones.checks import MIN_VOCAB, check_folder, check_tokenizer
from alien.backbones.loading import check_backbone, load_backbone, resolve_backbone
from tests.tiny import save_tiny_backbone, tiny_model, tiny_tokenizer

LABELS = ["neg", "pos"]


def without_tokenizer(folder: Path) -> Path:
    tiny_model("bert").save_pretrained(folder)  # config.json + model.safetensors
    return folder


def pickled(folder: Path) -> Path:
    model = tiny_model("bert")
    model.config.save_pretrained(folder)
    torch.save(model.state_dict(), folder / "pytorch_model.bin")
    tiny_tokenizer().save_pretrained(folder)
    return folder


def test_a_complete_folder_passes_in_well_under_two_seconds(tmp_path: Path) -> None:
    folder = save_tiny_backbone(tmp_path / "tiny", "bert")
    start = time.perf_counter()
    check_backbone(str(folder))
    assert time.perf_counter() - start < 2.0


def test_missing_tokenizer_files_are_named_with_the_folder(tmp_path: Path) -> None:
    folder = without_tokenizer(tmp_path / "bare")
    message = r"'.*bare' has no tokenizer files \(needs one of \['tokenizer\.json', 'vocab\.txt'.*holds \['config\.json', 'model\.safetensors'\]"
    with pytest.raises(ValueError, match=message):
        check_backbone(str(folder))
    with pytest.raises(ValueError, match=message):  # what transformers would have accepted silently
        load_backbone(str(folder), task="sequence-classification", label_names=LABELS)


def test_pickle_weights_are_refused_unless_the_caller_opts_in(tmp_path: Path) -> None:
    folder = pickled(tmp_path / "pickled")
    with pytest.raises(ValueError, match=r"only pickle weights \['pytorch_model\.bin'\].*allow_pickle=True"):
        check_backbone(str(folder))
    with pytest.raises(ValueError, match=r"only pickle weights"):
        load_backbone(str(folder), task="sequence-classification", label_names=LABELS)
    check_backbone(str(folder), allow_pickle=True)
    model, _ = load_backbone(
        str(folder), task="sequence-classification", label_names=LABELS, allow_pickle=True
    )
    reference = tiny_model("bert")
    torch.testing.assert_close(
        model.bert.embeddings.word_embeddings.weight, reference.bert.embeddings.word_embeddings.weight
    )


def test_safetensors_win_over_a_pickle_next_to_them(tmp_path: Path) -> None:
    folder = save_tiny_backbone(tmp_path / "both", "bert")
    torch.save({"bert.embeddings.word_embeddings.weight": torch.zeros(1)}, folder / "pytorch_model.bin")
    check_backbone(str(folder))
    model, _ = load_backbone(str(folder), task="sequence-classification", label_names=LABELS)
    assert model.bert.embeddings.word_embeddings.weight.abs().sum() > 0  # read from model.safetensors


def test_a_folder_without_weights_is_refused(tmp_path: Path) -> None:
    folder = tmp_path / "empty-weights"
    tiny_model("bert").config.save_pretrained(folder)
    tiny_tokenizer().save_pretrained(folder)
    with pytest.raises(ValueError, match=r"has no weights"):
        check_folder(folder)


def _word_level(vocab: dict[str, int]) -> PreTrainedTokenizerFast:
    tokenizer = Tokenizer(models.WordLevel(vocab=vocab, unk_token="[UNK]"))
    tokenizer.pre_tokenizer = pre_tokenizers.Whitespace()
    return PreTrainedTokenizerFast(tokenizer_object=tokenizer, unk_token="[UNK]")


def test_degenerate_tokenizers_are_refused() -> None:
    tiny = _word_level({"[UNK]": 0, "[PAD]": 1, "a": 2})
    with pytest.raises(ValueError, match=rf"has 3 tokens \(fewer than {MIN_VOCAB}\)"):
        check_tokenizer(tiny, source="tiny")
    # big enough, but knows no English word: every word of the sample is unknown
    foreign = _word_level({"[UNK]": 0, **{f"w{i}": i + 1 for i in range(200)}})
    with pytest.raises(ValueError, match=r"into 9 unknown tokens"):
        check_tokenizer(foreign, source="foreign")
    check_tokenizer(tiny_tokenizer(), source="tiny test tokenizer")


def test_a_degenerate_tokenizer_in_a_folder_is_refused_by_check_and_load(tmp_path: Path) -> None:
    folder = tmp_path / "degenerate"
    tiny_model("bert").save_pretrained(folder)
    _word_level({"[UNK]": 0, "[PAD]": 1, "a": 2}).save_pretrained(folder)
    with pytest.raises(ValueError, match=r"has 3 tokens"):
        check_backbone(str(folder))
    with pytest.raises(ValueError, match=r"has 3 tokens"):
        load_backbone(str(folder), task="sequence-classification", label_names=LABELS)


def test_packaged_names_are_checked_against_the_catalogue_and_cache_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ALIEN_CACHE_DIR", str(tmp_path / "cache"))
    with pytest.raises(ValueError, match=r"unknown packaged backbone 'package:nope'"):
        check_backbone("package:nope")
    monkeypatch.setattr(packaged, "_download_wheel", lambda a, d: pytest.fail("check_backbone downloaded"))
    start = time.perf_counter()
    check_backbone("package:minilm")  # not cached: nothing to check beyond the catalogue, nothing fetched
    assert time.perf_counter() - start < 2.0
    # a cached folder is checked like any folder
    source = save_tiny_backbone(tmp_path / "src", "bert")
    weights = hashlib.sha256((source / "model.safetensors").read_bytes()).hexdigest()
    asset = BackboneAsset(
        name="cached", package="p", version="1", member="m", sha256=weights, origin="o", licence="l"
    )
    monkeypatch.setitem(CATALOGUE, "cached", asset)
    folder = packaged.backbone_folder(asset)
    folder.parent.mkdir(parents=True)
    source.rename(folder)
    (folder / packaged.VERIFIED_MARKER).write_text("verified")
    (folder / "tokenizer.json").unlink()
    (folder / "tokenizer_config.json").unlink()
    with pytest.raises(ValueError, match="no tokenizer files"):
        check_backbone("package:cached")
    assert resolve_backbone("package:cached") == str(folder)


@pytest.mark.parametrize(
    ("name", "error"), [(42, TypeError), ("  ", ValueError), ("/no/such/folder", ValueError)]
)
def test_bad_names_are_refused(name: object, error: type[Exception]) -> None:
    with pytest.raises(error):
        check_backbone(name)  # type: ignore[arg-type]


def test_hub_ids_offline_and_uncached_are_refused() -> None:
    with pytest.raises(ValueError, match=r"offline"):
        check_backbone("someone/some-model")  # conftest sets HF_HUB_OFFLINE=1
    with pytest.raises(TypeError, match="allow_pickle"):
        check_backbone("someone/some-model", allow_pickle="yes")  # type: ignore[arg-type]
