"""Checks on labelled data, with errors that name the problem and the fix.

Sources call :func:`check_columns` and :func:`names_from_values`; the prepare
stage calls :func:`validate_records` (raw JSONL may have been edited by hand)
and :func:`check_stratifiable`.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from numbers import Integral, Real
from typing import Any

from alien.data.dataset import Task, order_labels
from alien.task import get_task

_SHOWN = 5


def check_columns(columns: Iterable[str], required: Mapping[str, str], *, source: str) -> None:
    """Raise if a required column is missing.

    Args:
        columns: the columns the source has.
        required: config key → column name, e.g. ``{"data.text_column": "text"}``.
        source: the data source, for the message.
    """
    present = list(columns)
    for key, name in required.items():
        if name not in present:
            raise ValueError(
                f"column {name!r} ({key}) not found in {source}; columns present: {present}. "
                f"Set {key} in params.yaml to one of them."
            )


def names_from_values(
    values: Sequence[Any], *, class_names: Sequence[str] | None, task: Task, source: str
) -> tuple[list[Any], tuple[str, ...]]:
    """Turn raw label values (ints or strings; lists of them for tags) into class names.

    Integer labels index ``class_names`` when given (e.g. a ``datasets``
    ``ClassLabel``); otherwise class ``i`` is named ``str(i)`` for
    ``i in range(max + 1)``. String labels keep their text; the class order is
    :func:`alien.data.dataset.order_labels`.

    Returns:
        The per-record names (a list of names per record for tags) and the ordered class names.

    Raises:
        ValueError: null labels, mixed int/str labels, negative ints, or ints
            outside ``[0, len(class_names))``.
    """
    flat = get_task(task).flat_labels(values)
    if any(_is_null(v) for v in flat):
        rows = [
            i for i, v in enumerate(values) if _is_null(v) or (isinstance(v, list) and any(map(_is_null, v)))
        ]
        raise ValueError(f"{len(rows)} row(s) of {source} have a null label (rows {rows[:_SHOWN]})")
    ints = [_as_int(v) for v in flat]
    if all(i is not None for i in ints):
        numbers = [i for i in ints if i is not None]
        bad = sorted({i for i in numbers if i < 0 or (class_names is not None and i >= len(class_names))})
        if bad:
            size = len(class_names) if class_names is not None else "C"
            raise ValueError(
                f"integer labels {bad[:_SHOWN]} in {source} lie outside [0, {size})"
                + (f"; class names: {list(class_names)}" if class_names is not None else "")
            )
        names = (
            tuple(class_names) if class_names is not None else tuple(str(i) for i in range(max(numbers) + 1))
        )

        def convert(value: Any) -> str:
            return names[_as_int(value) or 0]

    elif any(i is not None for i in ints) and any(isinstance(v, str) for v in flat):
        raise ValueError(f"labels of {source} mix integers and strings; use one kind")
    else:
        names = order_labels((str(v) for v in flat), task=task)
        convert = str  # type: ignore[assignment]
    if get_task(task).is_token:
        return [[convert(v) for v in value] for value in values], names
    return [convert(v) for v in values], names


def validate_records(
    records: Sequence[Mapping[str, Any]], *, task: Task, labels: Sequence[str], source: str
) -> None:
    """Check raw records (``{"text", "label"}`` or ``{"tokens", "tags"}`` with label names).

    Raises:
        ValueError: empty dataset, missing keys, empty/null texts or tokens,
            tags and tokens of different lengths, labels not among ``labels``,
            or fewer than 2 classes present.
    """
    if not records:
        raise ValueError(f"{source} holds no rows; check data.source")
    known = set(labels)
    text_key, label_key = get_task(task).input_key, get_task(task).label_key
    empty: list[int] = []
    unknown: Counter[str] = Counter()
    for i, record in enumerate(records):
        if text_key not in record or label_key not in record:
            raise ValueError(
                f"row {i} of {source} lacks {text_key!r}/{label_key!r} (has {sorted(record)}); "
                f"{task} records need both"
            )
        content, label = record[text_key], record[label_key]
        if not get_task(task).is_token:
            if not isinstance(content, str) or not content.strip():
                empty.append(i)
            values = [label]
        else:
            if not isinstance(content, list) or not content or not isinstance(label, list):
                empty.append(i)
                continue
            if any(not isinstance(t, str) or not t.strip() for t in content):
                empty.append(i)
            if len(content) != len(label):
                raise ValueError(f"row {i} of {source} has {len(content)} tokens but {len(label)} tags")
            values = label
        unknown.update(str(v) for v in values if v not in known)
    if empty:
        what = "no tokens or an empty token" if get_task(task).is_token else "empty or null text"
        raise ValueError(
            f"{len(empty)} row(s) of {source} have {what} (rows {empty[:_SHOWN]}); remove or fill them"
        )
    if unknown:
        raise ValueError(
            f"labels {sorted(unknown)[:_SHOWN]} in {source} are not among the class names {list(labels)}"
        )
    used = {str(v) for v in get_task(task).flat_labels(r[label_key] for r in records)}
    if len(used) < 2:
        raise ValueError(
            f"{source} has {len(used)} class(es) {sorted(used)}; classification needs at least 2"
        )


def min_rows_per_class(fractions: Iterable[float]) -> int:
    """Rows a class needs so that its expected count in the smallest split is at least 2.

    >>> min_rows_per_class([0.25, 0.15, 0.15])
    14
    """
    smallest = min(f for f in fractions if f > 0)
    return math.ceil(2 / smallest - 1e-9)


def check_stratifiable(counts: Mapping[str, int], *, min_rows: int, context: str) -> None:
    """Raise if a class has fewer than ``min_rows`` rows.

    Args:
        counts: class name → rows (classes with 0 rows included).
        min_rows: see :func:`min_rows_per_class`.
        context: what was counted, e.g. ``"rotten_tomatoes after max_rows=3000"``.
    """
    small = {name: n for name, n in counts.items() if n < min_rows}
    if small:
        raise ValueError(
            f"class(es) {small} of {context} have fewer than {min_rows} rows, too few to stratify into "
            "train/validation/alignment/test; raise data.max_rows, enlarge the split fractions, "
            "or merge/drop the rare classes"
        )


def _is_null(value: Any) -> bool:
    if value is None:
        return True
    return isinstance(value, float) and math.isnan(value)


def _as_int(value: Any) -> int | None:
    """``value`` as an int if it is an integral number (not a bool), else ``None``."""
    if isinstance(value, bool):
        return None
    if isinstance(value, Integral):
        return int(value)
    if isinstance(value, Real) and float(value).is_integer():
        return int(float(value))
    return None
