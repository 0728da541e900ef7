"""What :meth:`alien.core.model.AlienClassifier.predict` returns."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from alien.task import get_task


@dataclass(frozen=True)
class Prediction:
    """Predictions, one row per input (per surviving word for token tasks).

    Attributes:
        labels: ``(N,)`` int64 predicted class ids.
        probabilities: ``(N, C)`` float32 softmax of the classifier's logits.
        uncertainty: ``(N,)`` float64 probability that the label is wrong: the
            calibration map applied to the head's output (the raw output when the
            model has no map).
        raw_uncertainty: ``(N,)`` float64 the ALIEN head's own output in ``[eps, 1 - eps]``.
        abstain: ``(N,)`` bool, True where the abstention rule refuses the row
            (all False when the model has no rule).
        label_names: the ``C`` class names.
        example_ids: token tasks: ``(N,)`` input example of each word row; else ``None``.
        word_ids: token tasks: ``(N,)`` word index within its example; else ``None``.
    """

    labels: np.ndarray
    probabilities: np.ndarray
    uncertainty: np.ndarray
    raw_uncertainty: np.ndarray
    abstain: np.ndarray
    label_names: tuple[str, ...]
    example_ids: np.ndarray | None = None
    word_ids: np.ndarray | None = None

    def __len__(self) -> int:
        return int(self.labels.shape[0])

    @property
    def label_strings(self) -> list[str]:
        """The predicted class names, one per row."""
        return [self.label_names[i] for i in self.labels]


def check_predict_inputs(inputs: Sequence[Any], task: str) -> None:
    """Refuse what ``predict`` cannot take: a bare string, nothing, or inputs of the wrong type.

    Raises:
        TypeError: a single string, or an input that is not a text (a list of words for tokens).
        ValueError: no inputs.
    """
    if isinstance(inputs, str):
        raise TypeError("predict takes a sequence of inputs, got a single string; wrap it in a list")
    if len(inputs) == 0:
        raise ValueError("no inputs to predict")
    token = get_task(task).is_token
    for i, x in enumerate(inputs):
        if not token and not isinstance(x, str):
            raise TypeError(f"input {i} must be a string, got {x!r:.80} ({type(x).__name__})")
        if token and (isinstance(x, str) or not all(isinstance(w, str) for w in x)):
            raise TypeError(f"input {i} must be a list of word strings, got {x!r:.80}")
