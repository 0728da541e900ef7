"""Fuzz the data table: CSV/JSONL files generated around a valid one.

Pre-flight's :func:`alien.pipeline.preflight.check_data` and the fetch stage's
:func:`alien.data.sources.load_source` must either accept a table or refuse it
with a ValueError/FileNotFoundError that names the file — never a KeyError,
TypeError, IndexError or AttributeError traceback. What loads is clean: every
text a non-blank string, every label a known class, at least two classes.
Pre-flight never refuses a table that the fetch stage would load.
"""

from __future__ import annotations

import csv
import json
import tempfile
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from alien.config import DataConfig, load_params
from alien.data.sources import load_source
from alien.pipeline.preflight import check_data
from tests.project import ROOT

SHIPPED = load_params(ROOT / "params.yaml").data
BASE_TEXTS = ["a good film", "a bad film", "great acting", "awful plot", "lovely", "boring", "fine", "dull"]
BASE_LABELS = ["pos", "neg", "pos", "neg", "pos", "neg", "pos", "neg"]
REFUSALS = (ValueError, FileNotFoundError)

TEXTS = st.one_of(
    st.sampled_from(BASE_TEXTS),
    st.sampled_from(
        ["", " ", "\t", "\n", "  \n ", 'say "hi", then go', "naïve café", "a,b;c", "null", "None"]
    ),
    st.none(),
    st.integers(min_value=-5, max_value=5),
    st.floats(allow_nan=False, allow_infinity=False, width=32),
    st.booleans(),
    st.text(max_size=15),
)
NESTED = st.lists(st.integers(0, 3), max_size=2) | st.dictionaries(st.sampled_from("ab"), st.integers(0, 3))
LABELS = st.one_of(
    st.sampled_from(["pos", "neg", "neu"]),
    st.sampled_from(["", " ", "Pos", "pos "]),
    st.none(),
    st.integers(min_value=-2, max_value=4),
    st.sampled_from([0.0, 1.0, 1.5]),
    st.booleans(),
)


@st.composite
def tables(draw: st.DrawFn) -> dict[str, Any]:
    """A table near the valid base: some cells changed, rows duplicated, columns dropped/renamed/added."""
    rows: list[dict[str, Any]] = [
        {"text": t, "label": lab} for t, lab in zip(BASE_TEXTS, BASE_LABELS, strict=True)
    ]
    rows = rows[: draw(st.integers(min_value=0, max_value=len(rows)))]
    for _ in range(draw(st.integers(min_value=0, max_value=4))):
        if rows:
            i = draw(st.integers(0, len(rows) - 1))
            column = draw(st.sampled_from(["text", "label"]))
            rows[i] = {**rows[i], column: draw(TEXTS if column == "text" else LABELS | NESTED)}
    if draw(st.booleans()) and rows:
        rows += [dict(rows[0])] * draw(st.integers(1, 3))  # duplicate rows
    if draw(st.booleans()):
        same = draw(st.sampled_from(["pos", 0, None]))
        rows = [{**r, "label": same} for r in rows]  # one class (or all null)
    columns = ["text", "label"]
    change = draw(st.sampled_from(["none", "none", "drop_text", "drop_label", "rename", "extra"]))
    if change == "drop_text":
        columns = ["label"]
    elif change == "drop_label":
        columns = ["text"]
    elif change == "rename":
        columns = ["Text", "label"]
        rows = [{"Text": r["text"], "label": r["label"]} for r in rows]
    elif change == "extra":
        columns = ["id", *columns]
        rows = [{"id": i, **r} for i, r in enumerate(rows)]
    return {
        "suffix": draw(st.sampled_from([".csv", ".jsonl"])),
        "columns": columns,
        "rows": rows,
        "ragged": draw(st.booleans()) and bool(rows),  # JSONL: the first row lacks a key
        "garbage_first_line": draw(st.sampled_from([None, None, None, "[1, 2]", '"text"', "{", "{}"])),
    }


def write_table(folder: Path, table: dict[str, Any]) -> Path:
    path = folder / f"data{table['suffix']}"
    columns, rows = table["columns"], table["rows"]
    if table["suffix"] == ".csv":
        with path.open("w", newline="", encoding="utf-8") as fh:
            writer = csv.writer(fh)
            writer.writerow(columns)
            for row in rows:
                writer.writerow(["" if row.get(c) is None else _cell(row.get(c)) for c in columns])
        return path
    lines = [json.dumps({c: row.get(c) for c in columns}) for row in rows]
    if table["ragged"]:
        lines[0] = json.dumps({c: rows[0].get(c) for c in columns[:-1]})
    if table["garbage_first_line"] is not None:
        lines.insert(0, table["garbage_first_line"])
    path.write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return path


def _cell(value: Any) -> str:
    return json.dumps(value) if isinstance(value, list | dict) else str(value)


def run_both(path: Path, config: DataConfig) -> tuple[Exception | None, Any, Exception | None]:
    """Pre-flight's check, then the fetch stage's load; only the product's refusals are caught."""
    try:
        check_data(config)
        preflight_error = None
    except REFUSALS as exc:
        preflight_error = exc
    try:
        return preflight_error, load_source(config), None
    except REFUSALS as exc:
        return preflight_error, None, exc


def assert_names_the_file(exc: Exception, path: Path) -> None:
    message = str(exc)
    assert message.strip() and "\n" not in message.strip()[:1], repr(message)
    assert path.name in message, f"{type(exc).__name__}: {message!r} does not name {path.name}"


def test_the_valid_base_table_loads_in_both_formats() -> None:
    for suffix in (".csv", ".jsonl"):
        table: dict[str, Any] = {
            "suffix": suffix,
            "columns": ["text", "label"],
            "ragged": False,
            "garbage_first_line": None,
        }
        table["rows"] = [{"text": t, "label": lab} for t, lab in zip(BASE_TEXTS, BASE_LABELS, strict=True)]
        with tempfile.TemporaryDirectory() as folder:
            path = write_table(Path(folder), table)
            preflight_error, dataset, error = run_both(path, replace(SHIPPED, source=str(path)))
        assert preflight_error is None and error is None
        assert [r["text"] for r in dataset.records] == BASE_TEXTS
        assert dataset.labels == ("neg", "pos")


@given(table=tables())
def test_tables_load_clean_or_are_refused_with_a_message_naming_the_file(table: dict[str, Any]) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = write_table(Path(folder), table)
        preflight_error, dataset, error = run_both(path, replace(SHIPPED, source=str(path)))
    if preflight_error is not None:
        assert_names_the_file(preflight_error, path)
        assert error is not None, f"pre-flight refused a table the fetch stage loads: {preflight_error}"
    if error is not None:
        assert_names_the_file(error, path)
        return
    texts = [r["text"] for r in dataset.records]
    labels = [r["label"] for r in dataset.records]
    assert all(isinstance(t, str) and t.strip() for t in texts), texts
    assert set(labels) <= set(dataset.labels) and len(set(labels)) >= 2, (labels, dataset.labels)
    assert len(dataset.records) == len(table["rows"])


@pytest.mark.parametrize("first_line", ["7", "null", "true"])
def test_a_jsonl_whose_first_line_is_a_json_scalar_is_refused(tmp_path: Path, first_line: str) -> None:
    path = tmp_path / "data.jsonl"
    rows = [json.dumps({"text": t, "label": lab}) for t, lab in zip(BASE_TEXTS, BASE_LABELS, strict=True)]
    path.write_text("\n".join([first_line, *rows]) + "\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"data\.jsonl"):
        check_data(replace(SHIPPED, source=str(path)))


def test_a_jsonl_with_a_blank_first_line_passes_preflight_as_it_loads(tmp_path: Path) -> None:
    path = tmp_path / "data.jsonl"
    rows = [json.dumps({"text": t, "label": lab}) for t, lab in zip(BASE_TEXTS, BASE_LABELS, strict=True)]
    path.write_text("\n".join(["", *rows]) + "\n", encoding="utf-8")
    config = replace(SHIPPED, source=str(path))
    assert len(load_source(config).records) == len(BASE_TEXTS)
    check_data(config)


@given(
    name=st.sampled_from(["missing.csv", "nowhere.jsonl", "sub/dir/x.parquet", "package:nope", "package:"])
)
def test_a_missing_source_is_refused_by_both(name: str) -> None:
    with tempfile.TemporaryDirectory() as folder:
        source = name if name.startswith("package:") else str(Path(folder) / name)
        config = replace(SHIPPED, source=source)
        preflight_error, _, error = run_both(Path(source), config)
    assert preflight_error is not None and error is not None
    assert source in str(preflight_error) or name.removeprefix("package:") in str(preflight_error)
