"""The prepare stage: stable stratified splits, schema, errors, atomicity, CLI."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
import yaml

from alien.config import DataConfig, PathsConfig
from alien.data.dataset import RawDataset, write_raw
from alien.data.io import read_labels, read_split, read_summary
from alien.stages import prepare

REPO = Path(__file__).resolve().parents[2]
SPLITS = ("train", "validation", "alignment", "test")


def reviews(n: int, *, start: int = 0) -> list[dict[str, str]]:
    rng = random.Random(start)
    return [
        {"text": f"review {i}: {rng.random():.5f}", "label": "fresh" if rng.random() < 0.6 else "rotten"}
        for i in range(start, start + n)
    ]


def write_reviews(tmp_path: Path, records: list[dict[str, str]]) -> PathsConfig:
    paths = PathsConfig(raw=str(tmp_path / "raw.jsonl"), prepared=str(tmp_path / "prepared"))
    dataset = RawDataset(task="sequence-classification", records=tuple(records), labels=("rotten", "fresh"))
    write_raw(dataset, paths.raw, source="test")
    return paths


def ids_by_split(prepared: str) -> dict[str, str]:
    return {r["id"]: split for split in SPLITS for r in read_split(prepared, split)}


def test_writes_integer_labelled_splits_in_the_documented_schema(tmp_path: Path) -> None:
    records = reviews(800)
    records += [{"text": records[0]["text"].upper(), "label": records[0]["label"]}]  # a duplicate
    paths = write_reviews(tmp_path, records)
    result = prepare.run(DataConfig(source="test", max_rows=None), paths)

    assert read_labels(paths.prepared) == ["rotten", "fresh"]  # the sidecar's order, not sorted
    rows = {split: read_split(paths.prepared, split) for split in SPLITS}
    assert sum(map(len, rows.values())) == 800 and result.duplicates_removed == 1
    for split_rows in rows.values():
        for row in split_rows:
            assert set(row) == {"id", "text", "label"} and row["label"] in (0, 1) and len(row["id"]) == 16
    texts = [row["text"].lower() for split_rows in rows.values() for row in split_rows]
    assert len(set(texts)) == len(texts)  # no text in two splits
    fresh = {r["text"] for r in records if r["label"] == "fresh"}
    assert all((row["label"] == 1) == (row["text"] in fresh) for row in rows["test"])

    summary = read_summary(paths.prepared)
    assert summary["rows"] == {split: len(rows[split]) for split in SPLITS} == result.rows
    assert summary["per_class"]["test"]["fresh"] == sum(row["label"] == 1 for row in rows["test"])
    assert summary["raw_rows"] == 801 and summary["selected_rows"] == 800
    assert len(rows["test"]) / 800 == pytest.approx(0.25, abs=0.05)


def test_max_rows_and_no_alignment_split(tmp_path: Path) -> None:
    paths = write_reviews(tmp_path, reviews(1000))
    result = prepare.run(DataConfig(source="test", max_rows=300, alignment_fraction=0.0), paths)
    assert sum(result.rows.values()) == 300 and "alignment" not in result.rows
    assert not (Path(paths.prepared) / "alignment.jsonl").exists()
    assert sorted(p.name for p in Path(paths.prepared).iterdir()) == [
        "labels.json",
        "summary.json",
        "test.jsonl",
        "train.jsonl",
        "validation.jsonl",
    ]


def test_new_data_never_moves_an_existing_example(tmp_path: Path) -> None:
    old = reviews(1000)
    paths = write_reviews(tmp_path, old)
    prepare.run(DataConfig(source="test", max_rows=None), paths)
    before = ids_by_split(paths.prepared)
    write_reviews(tmp_path, old + reviews(200, start=50_000))
    prepare.run(DataConfig(source="test", max_rows=None), paths)
    after = ids_by_split(paths.prepared)
    assert len(after) == 1200
    assert {i: after[i] for i in before} == before


def test_seed_determines_the_split(tmp_path: Path) -> None:
    paths = write_reviews(tmp_path, reviews(400))
    prepare.run(DataConfig(source="test", max_rows=None, seed=1), paths)
    first = ids_by_split(paths.prepared)
    prepare.run(DataConfig(source="test", max_rows=None, seed=1), paths)
    assert ids_by_split(paths.prepared) == first
    prepare.run(DataConfig(source="test", max_rows=None, seed=2), paths)
    assert sum(first[i] != s for i, s in ids_by_split(paths.prepared).items()) > 100


def test_token_classification_tags_become_indices(tmp_path: Path) -> None:
    rng = random.Random(0)
    records = [
        {
            "tokens": [f"w{i}", "lives", "in", "Paris"],
            "tags": ["B-per" if rng.random() < 0.5 else "O", "O", "O", "B-loc"],
        }
        for i in range(120)
    ]
    paths = PathsConfig(raw=str(tmp_path / "raw.jsonl"), prepared=str(tmp_path / "prepared"))
    write_raw(
        RawDataset(task="token-classification", records=tuple(records), labels=("O", "B-loc", "B-per")),
        paths.raw,
        source="test",
    )
    prepare.run(DataConfig(source="test", task="token-classification", max_rows=None), paths)
    assert read_labels(paths.prepared) == ["O", "B-loc", "B-per"]
    row = read_split(paths.prepared, "train")[0]
    assert set(row) == {"id", "tokens", "tags"} and row["tags"][1:] == [0, 0, 1]
    assert read_summary(paths.prepared)["per_class"]["train"]["B-loc"] == len(
        read_split(paths.prepared, "train")
    )


def test_an_empty_split_is_named(tmp_path: Path) -> None:
    records = [{"tokens": [f"t{i}"], "tags": ["O" if i % 2 else "B-x"]} for i in range(3)]
    paths = PathsConfig(raw=str(tmp_path / "raw.jsonl"), prepared=str(tmp_path / "prepared"))
    write_raw(
        RawDataset(task="token-classification", records=tuple(records), labels=("O", "B-x")),
        paths.raw,
        source="test",
    )
    with pytest.raises(ValueError, match=r"split '\w+' is empty .*raise data.max_rows"):
        prepare.run(DataConfig(source="test", task="token-classification", max_rows=None), paths)


def test_a_class_too_small_to_stratify_is_named(tmp_path: Path) -> None:
    records = reviews(300) + [{"text": f"odd {i}", "label": "plot"} for i in range(5)]
    paths = PathsConfig(raw=str(tmp_path / "raw.jsonl"), prepared=str(tmp_path / "prepared"))
    write_raw(
        RawDataset(
            task="sequence-classification", records=tuple(records), labels=("fresh", "plot", "rotten")
        ),
        paths.raw,
        source="test",
    )
    with pytest.raises(ValueError, match=r"\{'plot': 5\} .* fewer than 14 rows"):
        prepare.run(DataConfig(source="test", max_rows=None), paths)


def test_a_failing_prepare_leaves_the_previous_outputs_intact(tmp_path: Path) -> None:
    paths = write_reviews(tmp_path, reviews(300))
    prepare.run(DataConfig(source="test", max_rows=None), paths)
    before = {p.name: p.read_bytes() for p in Path(paths.prepared).iterdir()}
    with Path(paths.raw).open("a") as handle:
        handle.write(json.dumps({"text": "   ", "label": "fresh"}) + "\n")
    with pytest.raises(ValueError, match=r"empty or null text \(rows \[300\]\)"):
        prepare.run(DataConfig(source="test", max_rows=None), paths)
    assert {p.name: p.read_bytes() for p in Path(paths.prepared).iterdir()} == before


def test_raw_labels_outside_the_sidecar_are_rejected(tmp_path: Path) -> None:
    paths = write_reviews(tmp_path, reviews(100))
    with Path(paths.raw).open("a") as handle:
        handle.write(json.dumps({"text": "new", "label": "meh"}) + "\n")
    with pytest.raises(
        ValueError, match=r"labels \['meh'\] .* not among the class names \['rotten', 'fresh'\]"
    ):
        prepare.run(DataConfig(source="test", max_rows=None), paths)


def test_main_exits_2_when_raw_data_is_missing_and_0_after_fetch(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    params = yaml.safe_load((REPO / "params.yaml").read_text())
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    assert prepare.main(["--params", "params.yaml"]) == 2
    assert (
        "raw data not found at data/raw/dataset.jsonl; run the fetch stage first" in capsys.readouterr().err
    )
    write_reviews(tmp_path, reviews(500))
    Path("data/raw").mkdir(parents=True)
    Path(tmp_path / "raw.jsonl").rename("data/raw/dataset.jsonl")
    Path(tmp_path / "raw.jsonl.meta.json").rename("data/raw/dataset.jsonl.meta.json")
    assert prepare.main(["--params", "params.yaml"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["stage"] == "prepare" and sum(summary["rows"].values()) == 500


def test_main_exits_2_on_bad_params(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    params = yaml.safe_load((REPO / "params.yaml").read_text())
    params["data"]["alignment_fraction"] = 0.6
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    assert prepare.main(["--params", str(tmp_path / "params.yaml")]) == 2
    assert "must leave at least 10% for training" in capsys.readouterr().err
