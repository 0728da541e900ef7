"""The records a backbone is fine-tuned on: checking them, and encoding them for the Trainer.

Sequence records are ``{"text": str, "label": int}``; token records are
``{"tokens": [str, ...], "tags": [int, ...]}`` of equal length (a tag of
``-100`` marks an ignored word). Which keys apply comes from the
:class:`~alien.task.Task`.
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping, Sequence
from typing import Any

from torch import nn
from transformers import PreTrainedTokenizerBase

from alien.core.tokenization import tokenize_and_align_labels
from alien.task import IGNORE_INDEX, Task, TaskName, get_task

Record = Mapping[str, Any]


def validate_records(
    records: Sequence[Record], *, task: TaskName | Task, num_labels: int, split: str
) -> None:
    """Check records of one split against the task's schema and the label count.

    Raises:
        ValueError: an unknown task, a missing field, a wrong type, or a label
            outside ``[0, num_labels)``; the message names the split and row.
    """
    kind = get_task(task)
    for i, record in enumerate(records):
        where = f"{split} record {i}"
        if not isinstance(record, Mapping):
            raise ValueError(f"{where} must be a mapping, got {type(record).__name__}")
        inputs, labels = _field(record, kind.input_key, where), _field(record, kind.label_key, where)
        if not kind.is_token:
            if not isinstance(inputs, str):
                raise ValueError(f"{where}: 'text' must be a string, got {type(inputs).__name__}")
            _check_label(labels, num_labels, where, allow_ignore=False)
            continue
        if isinstance(inputs, str) or not isinstance(inputs, Sequence) or not inputs:
            raise ValueError(f"{where}: 'tokens' must be a non-empty list of strings, got {inputs!r:.80}")
        if not all(isinstance(t, str) for t in inputs):
            raise ValueError(f"{where}: every item of 'tokens' must be a string")
        if not isinstance(labels, Sequence) or len(labels) != len(inputs):
            raise ValueError(f"{where}: 'tags' must be a list as long as 'tokens' ({len(inputs)})")
        for tag in labels:
            _check_label(tag, num_labels, where, allow_ignore=True)


def _field(record: Record, name: str, where: str) -> Any:
    if name not in record:
        raise ValueError(f"{where} has no {name!r} field (fields: {sorted(record)})")
    return record[name]


def _check_label(label: Any, num_labels: int, where: str, *, allow_ignore: bool) -> None:
    if isinstance(label, bool) or not isinstance(label, int):
        raise ValueError(f"{where}: label {label!r} must be an integer class id")
    if not (0 <= label < num_labels or (allow_ignore and label == IGNORE_INDEX)):
        raise ValueError(
            f"{where}: label {label} is out of range for {num_labels} labels (0..{num_labels - 1})"
        )


def forward_inputs(model: nn.Module) -> set[str]:
    """Named inputs of the model's forward (a decoder rejects ``token_type_ids``)."""
    params = inspect.signature(model.forward).parameters.values()
    return {p.name for p in params if p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL)}


def encode_records(
    tokenizer: PreTrainedTokenizerBase,
    records: Sequence[Record],
    *,
    task: Task,
    max_length: int,
    keep: set[str],
) -> list[dict[str, Any]]:
    """One unpadded feature dict per record, with ``labels``, holding only the ``keep`` inputs."""
    if not records:
        return []
    inputs, labels = task.split_inputs(records)
    if task.is_token:
        encoding = tokenize_and_align_labels(tokenizer, inputs, labels, max_length=max_length)
    else:
        encoding = tokenizer(inputs, truncation=True, max_length=max_length)
        encoding["labels"] = [int(label) for label in labels]
    keys = [k for k in encoding if k in keep]
    return [{k: encoding[k][i] for k in keys} for i in range(len(records))]
