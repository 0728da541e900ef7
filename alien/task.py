"""The task a classifier solves, as one strategy object instead of string branches.

Two tasks exist: ``sequence-classification`` (one label per text) and
``token-classification`` (one tag per word; NER). Everything that differs
between them — the record keys of the prepared data, the transformers auto
class, how gold labels are matched to prediction rows — lives on
:class:`Task`; callers ask ``task.is_token`` or call a method rather than
comparing strings.

Imports nothing of ``alien`` (the bottom layer), and transformers only inside
methods, so ``alien.config`` can use :data:`TaskName` cheaply.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, get_args

import numpy as np

TaskName = Literal["sequence-classification", "token-classification"]
TASK_NAMES: tuple[TaskName, ...] = get_args(TaskName)
IGNORE_INDEX = -100  # label of sub-token continuations, padding and special tokens


@dataclass(frozen=True)
class Task:
    """What differs between sequence and token classification.

    Attributes:
        name: the ``data.task`` value.
        is_token: one prediction row per word (token classification).
        input_key: the prepared record's input field (``text`` or ``tokens``).
        label_key: the prepared record's label field (``label`` or ``tags``).
        architecture_suffix: the ``architectures`` suffix of a saved model for this task.
    """

    name: TaskName
    is_token: bool
    input_key: str
    label_key: str
    architecture_suffix: str

    def auto_model_class(self) -> Any:
        """The transformers ``AutoModelFor*`` class that builds a model for this task."""
        import transformers

        return getattr(transformers, f"AutoModel{self.architecture_suffix}")

    def split_inputs(self, records: Sequence[Mapping[str, Any]]) -> tuple[list[Any], list[Any]]:
        """Model inputs and labels of prepared records (texts and ids, or word lists and tag lists)."""
        return [r[self.input_key] for r in records], [r[self.label_key] for r in records]

    def flat_labels(self, values: Iterable[Any]) -> list[Any]:
        """One entry per labelled unit: the labels themselves, or every tag of every example."""
        return [v for value in values for v in value] if self.is_token else list(values)

    def gold_rows(
        self, gold: Sequence[Any], example_ids: np.ndarray | None, word_ids: np.ndarray | None
    ) -> np.ndarray:
        """The gold label of each prediction row.

        A token prediction has rows only for the words that survived truncation,
        so its rows are matched to gold tags by ``(example, word)``; a sequence
        prediction has one row per example, in order.

        Raises:
            ValueError: a token prediction without ``example_ids``/``word_ids``.
        """
        if not self.is_token:
            return np.asarray(gold, dtype=np.int64)
        if example_ids is None or word_ids is None:
            raise ValueError("a token-classification prediction must carry example_ids and word_ids")
        return np.asarray(
            [gold[int(e)][int(w)] for e, w in zip(example_ids, word_ids, strict=True)], dtype=np.int64
        )


SEQUENCE = Task("sequence-classification", False, "text", "label", "ForSequenceClassification")
TOKEN = Task("token-classification", True, "tokens", "tags", "ForTokenClassification")
_BY_NAME: dict[str, Task] = {t.name: t for t in (SEQUENCE, TOKEN)}


def get_task(task: str | Task) -> Task:
    """The :class:`Task` named ``task`` (a :class:`Task` is returned as is).

    Raises:
        ValueError: an unknown name (the message lists the known ones).

    >>> get_task("token-classification").label_key
    'tags'
    """
    if isinstance(task, Task):
        return task
    try:
        return _BY_NAME[task]
    except (KeyError, TypeError):
        raise ValueError(f"unknown task {task!r}; choose one of {list(TASK_NAMES)}") from None
