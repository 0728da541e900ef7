"""The ``data`` section: which dataset, which task, how many rows and how they are split."""

from __future__ import annotations

from typing import Annotated, Self

from annotated_types import Ge
from pydantic import model_validator
from pydantic.dataclasses import dataclass

from alien.options.base import OPTIONS, HalfOpenFraction, Int, Probability, Str, Text
from alien.task import TaskName

HELD_OUT_BELOW = 0.9  # at least 10% of the rows are left to train the backbone on


@dataclass(frozen=True, config=OPTIONS)
class DataConfig:
    """Where the rows come from and how they are split.

    Attributes:
        source: ``package:<name>``, a file or ``datasets`` folder, or a hub id.
        task: sequence or token classification.
        text_column: the column holding the text (or the tokens).
        label_column: the column holding the label (or the tags).
        max_rows: rows kept at most, >= 10; ``None`` keeps every row.
        seed: seeds the subsample and the split.
        test_fraction: share of rows for test, in (0, 1).
        validation_fraction: share of rows for validation, in (0, 1).
        alignment_fraction: share for the head's own training split, in [0, 1)
            (0: the paper's protocol, the head trains on the backbone's train split).
    """

    source: Text = "package:trec"
    task: TaskName = "sequence-classification"
    text_column: Str = "text"
    label_column: Str = "label"
    max_rows: Annotated[Int, Ge(10)] | None = 4000
    seed: Int = 42
    test_fraction: Probability = 0.25
    validation_fraction: Probability = 0.15
    alignment_fraction: HalfOpenFraction = 0.15

    @model_validator(mode="after")
    def _leaves_rows_to_train_on(self) -> Self:
        total = self.test_fraction + self.validation_fraction + self.alignment_fraction
        if not total < HELD_OUT_BELOW:
            raise ValueError(
                "test_fraction + validation_fraction + alignment_fraction must leave at least "
                f"10% for training, got {total:.2f}"
            )
        return self
