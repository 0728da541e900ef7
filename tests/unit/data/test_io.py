"""Atomic outputs and the prepared-split readers."""

from __future__ import annotations

from pathlib import Path

import pytest

from alien.data.io import atomic_directory, read_jsonl, read_labels, read_split, write_json, write_jsonl


def test_atomic_directory_replaces_on_success_and_keeps_the_old_on_failure(tmp_path: Path) -> None:
    target = tmp_path / "out"
    with atomic_directory(target) as tmp:
        (tmp / "a.txt").write_text("one")
    assert (target / "a.txt").read_text() == "one"
    with pytest.raises(RuntimeError), atomic_directory(target) as tmp:
        (tmp / "a.txt").write_text("two")
        raise RuntimeError("boom")
    assert (target / "a.txt").read_text() == "one"
    with atomic_directory(target) as tmp:
        (tmp / "b.txt").write_text("three")
    assert sorted(p.name for p in target.iterdir()) == ["b.txt"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]  # no temporaries left behind


def test_jsonl_round_trip_and_bad_line(tmp_path: Path) -> None:
    path = tmp_path / "x.jsonl"
    assert write_jsonl(path, [{"text": "é", "label": 1}, {"text": "b", "label": 0}]) == 2
    assert read_jsonl(path) == [{"text": "é", "label": 1}, {"text": "b", "label": 0}]
    path.write_text('{"a": 1}\n[1, 2]\n')
    with pytest.raises(ValueError, match=r"x\.jsonl:2 must be a JSON object"):
        read_jsonl(path)


def test_readers_name_missing_splits_and_unknown_names(tmp_path: Path) -> None:
    write_json(tmp_path / "labels.json", ["neg", "pos"])
    write_jsonl(tmp_path / "train.jsonl", [{"id": "1", "text": "x", "label": 1}])
    assert read_labels(tmp_path) == ["neg", "pos"]
    assert read_split(tmp_path, "train") == [{"id": "1", "text": "x", "label": 1}]
    with pytest.raises(ValueError, match=r"unknown split 'dev'; allowed: \['train', 'validation'"):
        read_split(tmp_path, "dev")
    with pytest.raises(FileNotFoundError, match="alignment_fraction > 0"):
        read_split(tmp_path, "alignment")
