"""What the alignment grid searches over and how: :class:`GridSearch`, with the paper's recipe as defaults.

The one home of the grid's defaults and checks. :func:`alien.training.fit_alien`
takes a :class:`GridSearch` (or its fields as keywords), so a notebook needs no
pipeline config to train a head; ``params.yaml``'s ``align`` section
(:class:`alien.config.AlignConfig`) is a :class:`GridSearch` plus the stage's own
choices. The defaults are the paper's: grid lr {4e-4, 1e-4, 1e-5} x alpha
{0.01, 0.1, 1} x beta {0.01, 0.1, 1}, up to 50 epochs, patience 5, batch 128,
10% warm-up, selection on validation ROC-AUC.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence
from typing import Annotated, Literal, Self, get_args

from annotated_types import Ge, MinLen
from pydantic import model_validator
from pydantic.dataclasses import dataclass

from alien.options.base import OPTIONS, Bool, Int, NonNegative, PositiveInt, Probability

DistanceInput = Literal["mahalanobis", "relative_mahalanobis"]
DISTANCE_INPUTS: tuple[str, ...] = get_args(DistanceInput)
"""The head's optional distance inputs (:class:`alien.core.distance.DistanceTemperature`)."""


def check_layers(layers: Sequence[int], num_hidden_layers: int | None = None) -> tuple[int, ...]:
    """``layers`` as a tuple, checked: distinct, negative (from the top), below the last layer.

    ``-1`` (the last layer) is what the classifier already reads, so the first allowed is ``-2``.

    Raises:
        ValueError: a repeated, non-negative or ``-1`` index, or one deeper than the model.
    """
    out = tuple(int(layer) for layer in layers)
    if len(set(out)) != len(out) or any(layer > -2 for layer in out):
        raise ValueError(
            f"layers must be distinct indices counted from the top, each <= -2 (-1 is the "
            f"classifier's own input), got {list(layers)}"
        )
    if num_hidden_layers is not None:
        deep = [layer for layer in out if -layer > num_hidden_layers]
        if deep:
            raise ValueError(
                f"layers {deep} do not exist: the backbone has {num_hidden_layers} layers "
                f"(the deepest index is -{num_hidden_layers})"
            )
    return out


Selection = Literal["roc_auc", "bce"]
SELECTIONS: tuple[str, ...] = get_args(Selection)

LearningRate = Probability
"""A peak learning rate of the one-cycle schedule, in (0, 1)."""
Weight = NonNegative
"""The weight of a loss term (alignment: alpha; L2-SP: beta), >= 0."""


@dataclass(frozen=True, config=OPTIONS)
class GridPoint:
    """One configuration of the grid.

    Attributes:
        lr: peak learning rate of the one-cycle schedule, in ``(0, 1)``.
        alpha: weight of the alignment term, ``>= 0``.
        beta: weight of the L2-SP term, ``>= 0``.

    Raises:
        pydantic.ValidationError: (a ValueError) a value that is not a finite number in range.
    """

    lr: LearningRate
    alpha: Weight
    beta: Weight


def grid_points(
    learning_rates: Iterable[float], alphas: Iterable[float], betas: Iterable[float]
) -> list[GridPoint]:
    """The grid's points in the order they are reported: lr, then alpha, then beta.

    >>> [(p.lr, p.alpha, p.beta) for p in grid_points([1e-3], [0.0, 1.0], [0.5])]
    [(0.001, 0.0, 0.5), (0.001, 1.0, 0.5)]
    """
    return [GridPoint(lr, a, b) for lr, a, b in itertools.product(learning_rates, alphas, betas)]


@dataclass(frozen=True, config=OPTIONS)
class GridSearch:
    """Every setting of the alignment grid search (what :func:`~alien.training.fit_alien` trains).

    Attributes:
        learning_rates: peak learning rates of the grid, each in ``(0, 1)``.
        alphas: alignment-term weights of the grid, each ``>= 0``.
        betas: L2-SP weights of the grid, each ``>= 0``.
        max_epochs: epochs per config at most (the one-cycle schedule spans them).
        patience: epochs without a strict improvement before a config stops.
        batch_size: rows per minibatch.
        warmup_fraction: warm-up share of the one-cycle schedule, in ``(0, 1)``.
        oversample_errors: balance errors and non-errors by random over-sampling.
        selection: the validation criterion of early stopping and of the choice
            between configs: ``"roc_auc"`` (the paper: error-detection ROC-AUC,
            higher is better) or ``"bce"`` (BCE of ``u`` against the errors, a
            proper scoring rule, lower is better).
        top_k: how many of the best configs the returned head averages (1: the
            winner alone); at most the grid's size.
        seed: seed of the minibatch order, ``>= 0``.

    Raises:
        pydantic.ValidationError: (a ValueError) an unknown setting, or one of the
            wrong type or out of range; the message names it.
    """

    learning_rates: Annotated[tuple[LearningRate, ...], MinLen(1)] = (4e-4, 1e-4, 1e-5)
    alphas: Annotated[tuple[Weight, ...], MinLen(1)] = (0.01, 0.1, 1.0)
    betas: Annotated[tuple[Weight, ...], MinLen(1)] = (0.01, 0.1, 1.0)
    max_epochs: PositiveInt = 50
    patience: PositiveInt = 5
    batch_size: PositiveInt = 128
    warmup_fraction: Probability = 0.1
    oversample_errors: Bool = False
    selection: Selection = "roc_auc"
    top_k: PositiveInt = 1
    seed: Annotated[Int, Ge(0)] = 42

    @model_validator(mode="after")
    def _top_k_fits_the_grid(self) -> Self:
        size = len(self.learning_rates) * len(self.alphas) * len(self.betas)
        if self.top_k > size:
            raise ValueError(f"top_k must be at most the grid's {size} configs, got {self.top_k}")
        return self

    def points(self) -> list[GridPoint]:
        """The grid's points, in the order they are reported."""
        return grid_points(self.learning_rates, self.alphas, self.betas)
