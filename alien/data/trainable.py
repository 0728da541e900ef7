"""Can this data train under this config? Everything prepare refuses before it splits, in one place.

Three callers share :func:`select_trainable`, so they refuse the same data with the same message:

* the prepare stage, on ``paths.raw`` (the rows it then splits);
* pre-flight (:mod:`alien.pipeline.preflight`), on a local ``data.source``, seconds before a run;
* the fetch stage, on the loaded source *before* it replaces ``paths.raw``, so a
  source that can never train does not overwrite the versioned raw data (or ``dvc.lock``).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from alien.config.data import DataConfig
from alien.data.split import Example, deduplicate, select_rows
from alien.data.validate import check_stratifiable, min_rows_per_class, validate_records
from alien.task import get_task


@dataclass(frozen=True)
class Selection:
    """The de-duplicated, sub-sampled examples prepare splits, and what de-duplication did."""

    examples: list[Example]
    duplicates_removed: int
    label_conflicts: int


def split_fractions(data: DataConfig) -> dict[str, float]:
    """The configured ``test``/``validation``/``alignment`` fractions (train takes the rest)."""
    return {
        "test": data.test_fraction,
        "validation": data.validation_fraction,
        "alignment": data.alignment_fraction,
    }


def select_trainable(
    records: Sequence[Mapping[str, Any]],
    *,
    labels: Sequence[str],
    data: DataConfig,
    source: str,
    whole: bool = False,
) -> Selection:
    """Validate ``records``, de-duplicate and sub-sample them, and check every class can be stratified.

    Args:
        records: raw records with label names (see :func:`alien.data.validate.validate_records`).
        labels: the ordered class names.
        data: the ``data`` section (task, seed, ``max_rows``, split fractions).
        source: what the records came from, for the messages.
        whole: ignore ``data.max_rows`` (fetch judges the full source it writes, not the sample).

    Raises:
        ValueError: no rows, null/empty texts or labels, fewer than 2 classes, too few rows,
            or a class with too few rows for the configured splits (the message names the classes).
    """
    validate_records(records, task=data.task, labels=labels, source=source)
    examples, removed, conflicts = deduplicate(records, task=data.task)
    max_rows = None if whole else data.max_rows
    selected = select_rows(examples, max_rows=max_rows, seed=data.seed, task=data.task)
    if not get_task(data.task).is_token:  # tags are not stratified
        fractions = split_fractions(data)
        min_rows = min_rows_per_class([*fractions.values(), 1.0 - sum(fractions.values())])
        context = f"{source} ({len(selected)} rows after de-duplication and max_rows={max_rows})"
        if len(selected) < 2 * min_rows:
            raise ValueError(
                f"{context} has too few rows: the splits {fractions} need at least {min_rows} rows "
                f"per class, {len(labels) * min_rows} for its {len(labels)} classes; add data"
            )
        counts = Counter(e.record["label"] for e in selected)
        check_stratifiable({name: counts.get(name, 0) for name in labels}, min_rows=min_rows, context=context)
    return Selection(selected, removed, conflicts)
