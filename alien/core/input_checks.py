"""Checks of the texts (or words) and labels given to feature extraction, before any forward pass."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from alien.core.tokenization import IGNORE_INDEX
from alien.task import get_task


def _as_int(value: object, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise TypeError(f"{where} must be an integer class id, got {value!r} ({type(value).__name__})")
    return int(value)


def check_labelled_inputs(
    inputs: Sequence[Any], labels: Sequence[Any], task: str, num_labels: int, *, sizes: tuple[int, int]
) -> list[Any]:
    """The labels as ints (nested per word for token tasks) once every input is well formed.

    Raises:
        ValueError: bad sizes, empty or mismatched inputs, a label outside ``[0, num_labels)``.
        TypeError: a text that is not a string or a label that is not an integer.
    """
    batch_size, max_length = sizes
    if batch_size < 1 or max_length < 2:
        raise ValueError(f"batch_size must be >= 1 and max_length >= 2, got {batch_size} and {max_length}")
    if len(inputs) == 0:
        raise ValueError("no inputs: texts_or_words is empty")
    if len(labels) != len(inputs):
        raise ValueError(f"got {len(inputs)} inputs but {len(labels)} labels")
    allowed = f"[0, {num_labels})"
    if not get_task(task).is_token:
        for i, text in enumerate(inputs):
            if not isinstance(text, str):
                raise TypeError(f"text {i} must be a string, got {text!r} ({type(text).__name__})")
        checked: list[Any] = [_as_int(y, f"label {i}") for i, y in enumerate(labels)]
        bad = [(i, y) for i, y in enumerate(checked) if not 0 <= y < num_labels]
    else:
        for i, (words, ys) in enumerate(zip(inputs, labels, strict=True)):
            if isinstance(words, str) or not all(isinstance(w, str) for w in words):
                raise TypeError(f"example {i} must be a list of word strings, got {words!r:.80}")
            if isinstance(ys, str) or not isinstance(ys, Sequence | np.ndarray) or len(ys) != len(words):
                raise ValueError(
                    f"example {i} has {len(words)} words but its labels are {ys!r:.80}; "
                    "give one label per word"
                )
        checked = [
            [_as_int(y, f"label {j} of example {i}") for j, y in enumerate(ys)] for i, ys in enumerate(labels)
        ]
        bad = [
            (i, y)
            for i, ys in enumerate(checked)
            for y in ys
            if y != IGNORE_INDEX and not 0 <= y < num_labels
        ]
        allowed += f" or {IGNORE_INDEX}"
    if bad:
        raise ValueError(
            f"label {bad[0][1]} of example {bad[0][0]} is out of range; allowed {allowed} "
            f"for a model with {num_labels} labels"
        )
    return checked
