"""Late labels from a file (``alien feedback labels.csv``), and labelled rows back into the data source.

The labels file is a CSV with the columns ``id`` (a request id the served model
returned) and ``label`` (the true label's name). ``--append-to-source`` adds each
labelled input to the data source (a local ``.csv`` or ``.jsonl`` file), so the
next retrain versions it with DVC: prepare's split is a hash of the text, so every
old row stays in the split it was in and only the new rows are assigned.
"""

from __future__ import annotations

import csv
from collections.abc import Mapping
from pathlib import Path

import pandas as pd

from alien.monitoring.jsonl import append_records

ID_COLUMN = "id"
LABEL_COLUMN = "label"
SOURCE_SUFFIXES = (".csv", ".jsonl")
_SHOWN = 5


def read_label_file(path: str | Path) -> dict[str, str]:
    """``{request id: label}`` from a CSV with the columns ``id`` and ``label``.

    Raises:
        FileNotFoundError: no such file.
        ValueError: a missing column, a blank id or label, or an id given twice (named).
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"labels file not found: {path}")
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    missing = [c for c in (ID_COLUMN, LABEL_COLUMN) if c not in frame.columns]
    if missing:
        raise ValueError(f"{path}: missing column(s) {missing}; expected {ID_COLUMN},{LABEL_COLUMN}")
    ids = frame[ID_COLUMN].str.strip()
    labels = frame[LABEL_COLUMN].str.strip()
    blank = [int(i) + 2 for i in frame.index[(ids == "") | (labels == "")]]  # +2: header, 1-based
    if blank:
        raise ValueError(f"{path}: blank id or label on line(s) {blank[:_SHOWN]}; nothing written")
    twice = sorted(set(ids[ids.duplicated()]))
    if twice:
        raise ValueError(f"{path}: {len(twice)} id(s) given twice: {twice[:_SHOWN]}; nothing written")
    return dict(zip(ids, labels, strict=True))


def check_file_source(source: str, *, columns: tuple[str, str]) -> Path:
    """The data source as a local ``.csv``/``.jsonl`` file that labelled rows can be appended to.

    Args:
        source: ``data.source``.
        columns: ``(data.text_column, data.label_column)``; a CSV's header must hold both.

    Raises:
        ValueError: a packaged dataset, a hub id, a folder, another format, or a CSV
            header without the columns (named).
    """
    path = Path(source)
    if source.startswith("package:") or path.suffix.lower() not in SOURCE_SUFFIXES or not path.is_file():
        raise ValueError(
            f"--append-to-source needs data.source to be a local .csv or .jsonl file; it is {source!r} "
            "(copy the data to such a file and point data.source at it)"
        )
    if path.suffix.lower() == ".csv":
        missing = [c for c in columns if c not in _csv_header(path)]
        if missing:
            raise ValueError(f"{path}: header lacks column(s) {missing}; nothing written")
    return path


def _csv_header(path: Path) -> list[str]:
    with path.open(newline="", encoding="utf-8") as handle:
        return next(csv.reader(handle), [])


def labelled_texts(frame: pd.DataFrame, labels: Mapping[str, str]) -> list[tuple[str, str]]:
    """``(text, label)`` of each labelled request id, from the log's frame.

    Raises:
        ValueError: rows logged without their text (``monitor.log_text: false``), named.
    """
    rows = frame[frame["request_id"].isin(list(labels))]
    no_text = rows.loc[rows["text"].isna(), "request_id"].tolist()
    if no_text:
        raise ValueError(
            f"--append-to-source needs the inputs' texts, but {len(no_text)} labelled row(s) were logged "
            f"without them (monitor.log_text: false): {no_text[:_SHOWN]}; nothing written"
        )
    return [(str(t), labels[str(r)]) for r, t in zip(rows["request_id"], rows["text"], strict=True)]


def append_to_source(path: Path, rows: list[tuple[str, str]], *, text_column: str, label_column: str) -> int:
    """Append ``(text, label)`` rows to the CSV or JSONL source; return how many.

    Raises:
        ValueError: a CSV whose header lacks ``text_column`` or ``label_column``
            (:func:`check_file_source` checks it before anything is written).
    """
    if not rows:
        return 0
    if path.suffix.lower() == ".jsonl":
        append_records(path, [{text_column: t, label_column: lab} for t, lab in rows])
        return len(rows)
    header = _csv_header(path)
    missing = [c for c in (text_column, label_column) if c not in header]
    if missing:
        raise ValueError(f"{path}: header lacks column(s) {missing}; nothing written")
    lines = []
    for text, label in rows:
        values = {text_column: text, label_column: label}
        lines.append([values.get(column, "") for column in header])
    with path.open("rb") as handle:
        handle.seek(max(path.stat().st_size - 1, 0))
        ends_cleanly = handle.read(1) in (b"", b"\n")
    with path.open("a", newline="", encoding="utf-8") as handle:
        if not ends_cleanly:
            handle.write("\n")
        csv.writer(handle).writerows(lines)
    return len(rows)
