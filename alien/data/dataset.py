"""The raw, labelled dataset a source yields, and its on-disk form.

Raw JSONL schema (``paths.raw``, written by the fetch stage), one object per line:

- sequence classification: ``{"text": str, "label": str}`` — the class *name*;
- token classification: ``{"tokens": [str, ...], "tags": [str, ...]}`` — BIO tag names.

The sidecar ``<raw stem>.meta.json`` holds ``{"source", "task", "labels"
(ordered class names), "rows", "origin": {...}}``; ``origin`` is the provenance
(package, version, member, sha256, licence, url — or the local file's sha256).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from alien.data.io import read_jsonl, write_json, write_jsonl
from alien.task import TaskName as Task
from alien.task import get_task


@dataclass(frozen=True)
class RawDataset:
    """Labelled records with class names, before de-duplication and splitting.

    Attributes:
        task: ``sequence-classification`` or ``token-classification``.
        records: ``{"text", "label"}`` or ``{"tokens", "tags"}`` dicts; labels are names.
        labels: ordered class names (the integer label is the index).
        origin: provenance and licence of the data, JSON-able.
    """

    task: Task
    records: tuple[dict[str, Any], ...]
    labels: tuple[str, ...]
    origin: Mapping[str, Any] = field(default_factory=dict)


def meta_path(raw_path: str | Path) -> Path:
    """Sidecar metadata path of a raw JSONL file: ``data/raw/x.jsonl`` → ``data/raw/x.jsonl.meta.json``.

    Appending (rather than replacing the suffix) lets ``dvc.yaml`` name it as ``${paths.raw}.meta.json``.
    """
    raw_path = Path(raw_path)
    return raw_path.with_name(raw_path.name + ".meta.json")


def write_raw(dataset: RawDataset, path: str | Path, *, source: str) -> Path:
    """Write ``dataset`` as raw JSONL plus its ``.meta.json`` sidecar (each atomically).

    Returns:
        The sidecar's path.
    """
    write_jsonl(path, dataset.records)
    sidecar = meta_path(path)
    write_json(
        sidecar,
        {
            "source": source,
            "task": dataset.task,
            "labels": list(dataset.labels),
            "rows": len(dataset.records),
            "origin": dict(dataset.origin),
        },
    )
    return sidecar


def read_raw(path: str | Path, *, task: Task) -> RawDataset:
    """Read a raw JSONL file written by :func:`write_raw` (or by hand).

    Without a sidecar, class names are the sorted distinct labels (``O`` first
    for tags). Records are checked by :func:`alien.data.validate.validate_records`
    by the caller.

    Raises:
        FileNotFoundError: no file at ``path``.
        ValueError: the sidecar disagrees with ``task``.
    """
    records = [_label_names(record) for record in read_jsonl(path)]
    sidecar = meta_path(path)
    labels: tuple[str, ...] | None = None
    origin: dict[str, Any] = {}
    if sidecar.is_file():
        meta = json.loads(sidecar.read_text(encoding="utf-8"))
        if meta.get("task") not in (None, task):
            raise ValueError(
                f"{path} holds {meta['task']} data but data.task is {task!r}; re-run fetch or fix data.task"
            )
        if meta.get("labels"):
            labels = tuple(str(x) for x in meta["labels"])
        origin = dict(meta.get("origin") or {})
    if labels is None:
        key = get_task(task).label_key
        values: list[Any] = []
        for record in records:
            value = record.get(key)
            values.extend(value if isinstance(value, list) else [value])
        labels = order_labels((str(v) for v in values if v is not None), task=task)
    return RawDataset(task=task, records=tuple(records), labels=labels, origin=origin)


def order_labels(names: Iterable[str], *, task: Task) -> tuple[str, ...]:
    """Canonical order of class names: sorted; for tags ``O`` first, then by entity with ``B-`` before ``I-``.

    >>> order_labels(["I-per", "O", "B-loc", "B-per", "I-loc"], task="token-classification")
    ('O', 'B-loc', 'I-loc', 'B-per', 'I-per')
    >>> order_labels(["spam", "ham"], task="sequence-classification")
    ('ham', 'spam')
    """
    distinct = set(names)
    if not get_task(task).is_token:
        return tuple(sorted(distinct))

    def key(tag: str) -> tuple[int, str, str]:
        if tag == "O":
            return (0, "", "")
        prefix, sep, entity = tag.partition("-")
        if sep and len(prefix) == 1:
            return (1, entity, prefix)
        return (1, tag, "")

    return tuple(sorted(distinct, key=key))


def _label_names(record: dict[str, Any]) -> dict[str, Any]:
    """Labels as strings: raw JSONL written by hand may hold ``1`` where fetch writes ``"1"``."""
    out = dict(record)
    if out.get("label") is not None and not isinstance(out["label"], str):
        out["label"] = str(out["label"])
    if isinstance(out.get("tags"), list):
        out["tags"] = [t if isinstance(t, str) or t is None else str(t) for t in out["tags"]]
    return out
