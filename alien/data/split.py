"""Stable, hash-based de-duplication, sub-sampling and splitting.

Every decision about an example depends only on its own content and the
seed, never on the other rows:

- **Identity.** An example's key is its normalised text (NFKC, whitespace
  collapsed, case-folded; tokens joined by spaces for token tasks). Its id is
  the first 16 hex digits of sha256(key) — seed-free, so ids survive re-runs.
- **Duplicates.** Rows with the same key collapse into one example, so the
  same text can never sit in train and test. Its label is the majority label
  among the copies, ties going to the first seen (for tags: the first copy).
- **Split.** ``u = sha256("split", seed, key)`` mapped to [0, 1); buckets by
  cumulative fractions: ``[0, test)`` → test, then validation, alignment, and
  the rest → train. Adding rows therefore never moves an existing example.
  Stratification is by expectation: each class's rows are bucketed by the
  same independent uniform draws, so each split holds every class in the
  configured proportion up to binomial noise (≈ ``sqrt(f(1-f)/n_class)``);
  exact per-class quotas would need ranks, which would move examples when
  data is added.
- **max_rows.** Each class keeps a quota proportional to its share (largest
  remainder), filled with its rows of smallest ``sha256("select", seed, key)``
  — a draw independent of the split draw, so the subset is not biased towards
  any split, and an example that stays selected keeps its split.
"""

from __future__ import annotations

import unicodedata
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from hashlib import sha256
from typing import Any

from alien.data.dataset import Task
from alien.task import get_task

SPLIT_ORDER = ("test", "validation", "alignment", "train")  # bucket order along [0, 1)


def normalise_text(text: str) -> str:
    """The identity of a text: NFKC, case-folded, whitespace collapsed.

    >>> normalise_text("  Great\\u00a0 MOVIE ")
    'great movie'
    """
    return " ".join(unicodedata.normalize("NFKC", text).casefold().split())


def example_key(record: Mapping[str, Any], *, task: Task) -> str:
    """The normalised content that identifies ``record`` (labels excluded)."""
    if get_task(task).is_token:
        return normalise_text(" ".join(record["tokens"]))
    return normalise_text(record["text"])


def example_id(key: str) -> str:
    """Seed-free stable id of an example: 16 hex digits of sha256(key)."""
    return sha256(key.encode("utf-8")).hexdigest()[:16]


def stable_uniform(key: str, *, seed: int, salt: str) -> float:
    """A deterministic uniform draw in [0, 1) from ``(salt, seed, key)``.

    >>> stable_uniform("a", seed=1, salt="split") == stable_uniform("a", seed=1, salt="split")
    True
    """
    digest = sha256(f"{salt}\x1f{seed}\x1f{key}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2.0**64


@dataclass(frozen=True)
class Example:
    """A de-duplicated example: its key, id, label name(s) and content."""

    key: str
    id: str
    record: dict[str, Any]


def deduplicate(records: Sequence[Mapping[str, Any]], *, task: Task) -> tuple[list[Example], int, int]:
    """Collapse rows with the same normalised content into one example (first-seen order).

    Returns:
        The examples, the number of rows removed, and the number of collapsed
        groups whose copies disagreed on the label.
    """
    groups: dict[str, list[Mapping[str, Any]]] = defaultdict(list)
    for record in records:
        groups[example_key(record, task=task)].append(record)
    examples, conflicts = [], 0
    for key, copies in groups.items():
        first = dict(copies[0])
        if not get_task(task).is_token:
            votes = Counter(c["label"] for c in copies)
            if len(votes) > 1:
                conflicts += 1
                top = max(votes.values())
                # Counter keeps first-seen order, so ties go to the first label seen.
                first["label"] = next(label for label, n in votes.items() if n == top)
        elif any(c["tags"] != first["tags"] for c in copies[1:]):
            conflicts += 1
        examples.append(Example(key=key, id=example_id(key), record=first))
    return examples, len(records) - len(examples), conflicts


def select_rows(examples: Sequence[Example], *, max_rows: int | None, seed: int, task: Task) -> list[Example]:
    """A stable, class-proportional subset of at most ``max_rows`` examples (input order kept)."""
    if max_rows is None or len(examples) <= max_rows:
        return list(examples)
    strata: dict[str, list[Example]] = defaultdict(list)
    for example in examples:
        strata[_stratum(example, task)].append(example)
    total = len(examples)
    exact = {name: max_rows * len(rows) / total for name, rows in strata.items()}
    quota = {name: int(value) for name, value in exact.items()}
    by_remainder = sorted(exact, key=lambda name: (quota[name] - exact[name], name))
    for name in by_remainder[: max_rows - sum(quota.values())]:
        quota[name] += 1
    keep: set[str] = set()
    for name, rows in strata.items():
        ranked = sorted(rows, key=lambda e: stable_uniform(e.key, seed=seed, salt="select"))
        keep.update(e.key for e in ranked[: quota[name]])
    return [e for e in examples if e.key in keep]


def assign_split(key: str, *, seed: int, fractions: Mapping[str, float]) -> str:
    """The split of the example with ``key``: bucket of its uniform draw by cumulative fractions.

    Args:
        key: see :func:`example_key`.
        seed: the data seed.
        fractions: ``test``, ``validation``, ``alignment`` fractions (train takes the rest).
    """
    u = stable_uniform(key, seed=seed, salt="split")
    edge = 0.0
    for split in SPLIT_ORDER[:-1]:
        edge += fractions.get(split, 0.0)
        if u < edge:
            return split
    return "train"


def split_examples(
    examples: Sequence[Example], *, seed: int, fractions: Mapping[str, float]
) -> dict[str, list[Example]]:
    """Examples grouped by split (``train``, ``validation``, ``alignment``, ``test``), input order kept."""
    splits: dict[str, list[Example]] = {name: [] for name in ("train", "validation", "alignment", "test")}
    for example in examples:
        splits[assign_split(example.key, seed=seed, fractions=fractions)].append(example)
    return splits


def _stratum(example: Example, task: Task) -> str:
    # Token tasks have no single label: they are sub-sampled as one stratum.
    return "" if get_task(task).is_token else str(example.record["label"])
