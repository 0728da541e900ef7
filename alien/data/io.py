"""JSONL reading/writing, atomic outputs, and readers for the prepared splits.

Every stage writes its outputs atomically with :func:`atomic_file` /
:func:`atomic_directory` (defined in :mod:`alien.assets.atomic`, re-exported
here): a stage that fails half-way leaves the previous outputs exactly as they were.

Prepared-directory layout (written by :mod:`alien.stages.prepare`)::

    <prepared>/train.jsonl  validation.jsonl  [alignment.jsonl]  test.jsonl
    <prepared>/labels.json   # ["rotten", "fresh"] — index = integer label
    <prepared>/summary.json  # rows per split and per class
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from alien.assets.atomic import atomic_directory, atomic_file

__all__ = [
    "SPLITS",
    "atomic_directory",
    "atomic_file",
    "read_json",
    "read_jsonl",
    "read_labels",
    "read_split",
    "read_summary",
    "write_json",
    "write_jsonl",
    "write_text",
]

SPLITS = ("train", "validation", "alignment", "test")


def write_jsonl(path: str | Path, records: Iterable[Mapping[str, Any]]) -> int:
    """Write ``records`` as JSON Lines (UTF-8, one object per line), atomically.

    Returns:
        The number of records written.
    """
    count = 0
    with atomic_file(path) as tmp, tmp.open("w", encoding="utf-8") as handle:
        for record in records:
            handle.write(json.dumps(record, ensure_ascii=False) + "\n")
            count += 1
    return count


def read_jsonl(path: str | Path) -> list[dict[str, Any]]:
    """Read a JSON Lines file; blank lines are skipped.

    Raises:
        FileNotFoundError: ``path`` does not exist.
        ValueError: a line is not a JSON object (the message gives the line number).
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"JSONL file not found: {path}")
    records: list[dict[str, Any]] = []
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                raise ValueError(f"{path}:{number} is not valid JSON: {exc}") from exc
            if not isinstance(record, dict):
                raise ValueError(f"{path}:{number} must be a JSON object, got {type(record).__name__}")
            records.append(record)
    return records


def write_json(path: str | Path, obj: Any) -> None:
    """Write ``obj`` as indented JSON, atomically."""
    write_text(path, json.dumps(obj, indent=2, ensure_ascii=False) + "\n")


def write_text(path: str | Path, text: str) -> None:
    """Write ``text`` (UTF-8), atomically."""
    with atomic_file(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def read_json(path: str | Path, *, what: str = "JSON file") -> dict[str, Any]:
    """Read a JSON object.

    Args:
        path: the file.
        what: what the file is, for error messages (e.g. ``"evaluation metrics"``).

    Raises:
        FileNotFoundError: no file at ``path``.
        ValueError: not valid JSON, or not a JSON object.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{what} not found at {path}")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ValueError(f"{what} {path} is not valid JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise ValueError(f"{what} {path} must hold a JSON object, got {type(data).__name__}")
    return data


def read_split(prepared_dir: str | Path, split: str) -> list[dict[str, Any]]:
    """Records of one prepared split.

    Sequence tasks: ``{"id": str, "text": str, "label": int}``; token tasks:
    ``{"id": str, "tokens": list[str], "tags": list[int]}``. Integer labels
    index :func:`read_labels`.

    Args:
        prepared_dir: the ``paths.prepared`` directory.
        split: one of ``train``, ``validation``, ``alignment``, ``test``.

    Raises:
        ValueError: unknown split name.
        FileNotFoundError: the split was not written (e.g. ``alignment`` when
            ``data.alignment_fraction`` is 0).
    """
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; allowed: {list(SPLITS)}")
    path = Path(prepared_dir) / f"{split}.jsonl"
    if not path.is_file():
        raise FileNotFoundError(
            f"split {split!r} not found at {path}; run the prepare stage"
            + (" with data.alignment_fraction > 0" if split == "alignment" else "")
        )
    return read_jsonl(path)


def read_labels(prepared_dir: str | Path) -> list[str]:
    """Ordered class names (or BIO tags) of a prepared dataset; index = integer label."""
    path = Path(prepared_dir) / "labels.json"
    if not path.is_file():
        raise FileNotFoundError(f"labels file not found at {path}; run the prepare stage")
    labels = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(labels, list) or not all(isinstance(x, str) for x in labels):
        raise ValueError(f"{path} must hold a JSON list of class names")
    return labels


def read_summary(prepared_dir: str | Path) -> dict[str, Any]:
    """The ``summary.json`` written by the prepare stage."""
    path = Path(prepared_dir) / "summary.json"
    return read_json(path, what="prepare summary")
