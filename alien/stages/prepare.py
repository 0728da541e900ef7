"""Stage ``prepare``: de-duplicate, sub-sample and split the raw data, stably.

Reads ``paths.raw`` (and its ``.meta.json`` for the class order); writes
``paths.prepared/`` atomically:

- ``train.jsonl``, ``validation.jsonl``, ``test.jsonl`` and, when
  ``data.alignment_fraction > 0``, ``alignment.jsonl``. One record per line:
  ``{"id": str, "text": str, "label": int}``, or for token classification
  ``{"id": str, "tokens": [str, ...], "tags": [int, ...]}``;
- ``labels.json``: the ordered class names (BIO tags for NER), index = label;
- ``summary.json``: rows per split and per class, duplicates, provenance.

How examples are identified, de-duplicated, sub-sampled and assigned is
described in :mod:`alien.data.split`: an example's split depends only on its
own text and the seed, so adding data never moves an existing example.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from hashlib import sha256
from pathlib import Path
from typing import Any

from alien.config.data import DataConfig
from alien.config.paths import PathsConfig
from alien.data.dataset import read_raw
from alien.data.io import atomic_directory, write_json, write_jsonl
from alien.data.split import Example, split_examples
from alien.data.trainable import select_trainable, split_fractions
from alien.pipeline.cli import StageResult, stage_cli
from alien.task import get_task


@dataclass(frozen=True)
class PrepareResult(StageResult):
    """What ``prepare`` wrote."""

    prepared_dir: str
    task: str
    labels: tuple[str, ...]
    rows: dict[str, int]
    raw_rows: int
    duplicates_removed: int
    label_conflicts: int


def run(data: DataConfig, paths: PathsConfig) -> PrepareResult:
    """Split ``paths.raw`` into the prepared directory ``paths.prepared``.

    Raises:
        FileNotFoundError: ``paths.raw`` is missing (run fetch first).
        ValueError: invalid records, a class too small to stratify, or an empty
            split (the message names it and suggests a larger ``data.max_rows``
            or fraction). The previous prepared outputs are then left intact.
    """
    if not Path(paths.raw).is_file():
        raise FileNotFoundError(f"raw data not found at {paths.raw}; run the fetch stage first")
    raw = read_raw(paths.raw, task=data.task)
    # the same refusals as pre-flight and fetch: one implementation (alien.data.trainable)
    selection = select_trainable(raw.records, labels=raw.labels, data=data, source=str(paths.raw))
    selected, removed, conflicts = selection.examples, selection.duplicates_removed, selection.label_conflicts
    fractions = split_fractions(data)
    train_fraction = 1.0 - sum(fractions.values())
    splits = split_examples(selected, seed=data.seed, fractions=fractions)
    if data.alignment_fraction == 0:
        del splits["alignment"]
    _check_splits(splits, data=data, labels=raw.labels)

    index = {name: i for i, name in enumerate(raw.labels)}
    per_class = {split: _class_counts(rows, data=data) for split, rows in splits.items()}
    summary: dict[str, Any] = {
        "source": data.source,
        "task": data.task,
        "seed": data.seed,
        "fractions": {**fractions, "train": round(train_fraction, 10)},
        "max_rows": data.max_rows,
        "labels": list(raw.labels),
        "raw_rows": len(raw.records),
        "raw_sha256": sha256(Path(paths.raw).read_bytes()).hexdigest(),
        "duplicates_removed": removed,
        "label_conflicts": conflicts,
        "selected_rows": len(selected),
        "rows": {split: len(rows) for split, rows in splits.items()},
        "per_class": per_class,
        "origin": dict(raw.origin),
    }
    with atomic_directory(paths.prepared) as tmp:
        for split, rows in splits.items():
            write_jsonl(tmp / f"{split}.jsonl", (_encode(e, index=index, data=data) for e in rows))
        write_json(tmp / "labels.json", list(raw.labels))
        write_json(tmp / "summary.json", summary)
    return PrepareResult(
        prepared_dir=str(paths.prepared),
        task=data.task,
        labels=raw.labels,
        rows=summary["rows"],
        raw_rows=len(raw.records),
        duplicates_removed=removed,
        label_conflicts=conflicts,
    )


def _check_splits(splits: dict[str, list[Example]], *, data: DataConfig, labels: tuple[str, ...]) -> None:
    for split, rows in splits.items():
        if not rows:
            raise ValueError(
                f"split {split!r} is empty ({sum(map(len, splits.values()))} examples in all); "
                f"raise data.max_rows (now {data.max_rows}) or data.{split}_fraction, or add data"
            )
    if not get_task(data.task).is_token:
        missing = sorted(set(labels) - {e.record["label"] for e in splits["train"]})
        if missing:
            raise ValueError(
                f"class(es) {missing} have no example in the train split; raise data.max_rows "
                f"(now {data.max_rows}) or add data for them"
            )


def _class_counts(rows: list[Example], *, data: DataConfig) -> dict[str, int]:
    """Rows per class (sequence tasks) or tokens per tag (token tasks)."""
    task = get_task(data.task)
    return dict(sorted(Counter(task.flat_labels(e.record[task.label_key] for e in rows)).items()))


def _encode(example: Example, *, index: dict[str, int], data: DataConfig) -> dict[str, Any]:
    task = get_task(data.task)
    label = example.record[task.label_key]
    encoded = [index[t] for t in label] if task.is_token else index[label]
    return {"id": example.id, task.input_key: example.record[task.input_key], task.label_key: encoded}


main = stage_cli(__name__)

if __name__ == "__main__":
    raise SystemExit(main())
