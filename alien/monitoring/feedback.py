"""Late labels: attach the true label of a served prediction by its request id.

Labels go to their own append-only files (``<directory>/labels/<writer>.jsonl``),
so prediction files are written once and never rewritten; readers join the two
on ``request_id``. A batch is checked whole before anything is written: one
unknown id or one label outside the model's label set refuses the batch.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from alien.monitoring.jsonl import append_records, iter_records
from alien.monitoring.schema import LABELS_DIR, PARTITION_PREFIX, now_utc

_SHOWN = 5


def logged_request_ids(directory: str | Path) -> set[str]:
    """Every request id in the local log's prediction files."""
    root = Path(directory)
    skipped = [0]
    return {
        str(record["request_id"])
        for path in sorted(root.glob(f"{PARTITION_PREFIX}*/*.jsonl"))
        for record in iter_records(path, skipped)
    }


def check_labels(
    labels: Mapping[str, Any], *, label_names: Sequence[str], known_ids: set[str]
) -> dict[str, str]:
    """``labels`` as ``{request id: label name}``, every id known and every label in the set.

    Args:
        labels: request id -> label name (an int is read as its decimal string).
        label_names: the model's label set.
        known_ids: the request ids the log holds.

    Raises:
        ValueError: unknown ids and/or labels outside ``label_names``; the message
            names them (the first few) and how many there are.
        TypeError: a label that is neither a string nor an int.
    """
    names = [str(n) for n in label_names]
    if not names:
        raise ValueError("label_names is empty; pass the model's label set")
    out: dict[str, str] = {}
    for rid, label in labels.items():
        if isinstance(label, bool) or not isinstance(label, str | int):
            raise TypeError(f"label of request {rid!r} must be a string, got {label!r:.80}")
        out[str(rid)] = str(label)
    unknown = sorted(i for i in out if i not in known_ids)
    outside = {i: v for i, v in out.items() if v not in names}
    problems = []
    if unknown:
        problems.append(f"{len(unknown)} unknown request id(s): {unknown[:_SHOWN]}")
    if outside:
        shown = dict(list(outside.items())[:_SHOWN])
        problems.append(f"{len(outside)} label(s) outside {names}: {shown}")
    if problems:
        raise ValueError("feedback refused, nothing written: " + "; ".join(problems))
    return out


def attach_labels(
    directory: str | Path,
    labels: Mapping[str, Any],
    *,
    label_names: Sequence[str],
    writer: str = "feedback",
) -> int:
    """Attach late labels to logged predictions, all or none.

    Args:
        directory: the local prediction log's folder.
        labels: request id -> true label name.
        label_names: the model's label set; any other label is refused.
        writer: the labels file's name (``labels/<writer>.jsonl``).

    Returns:
        How many labels were written (0 for an empty mapping).

    Raises:
        ValueError: an unknown request id or a label outside ``label_names``
            (named in the message); nothing is written then.
    """
    if not labels:
        return 0
    checked = check_labels(labels, label_names=label_names, known_ids=logged_request_ids(directory))
    time = now_utc().isoformat(timespec="microseconds")
    records = [{"request_id": rid, "label": label, "time": time} for rid, label in checked.items()]
    append_records(Path(directory) / LABELS_DIR / f"{writer}.jsonl", records)
    return len(records)


def read_labels(directory: str | Path, skipped: list[int] | None = None) -> dict[str, str]:
    """request id -> late label; where an id was labelled twice, the later label wins.

    Args:
        directory: the local prediction log's folder.
        skipped: optional one-element counter of unreadable lines.
    """
    skipped = skipped if skipped is not None else [0]
    folder = Path(directory) / LABELS_DIR
    paths = sorted(folder.glob("*.jsonl")) if folder.is_dir() else []
    records = [r for path in paths for r in iter_records(path, skipped)]
    records.sort(key=lambda r: str(r.get("time", "")))
    return {str(r["request_id"]): str(r["label"]) for r in records if "label" in r}
