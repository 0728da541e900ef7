"""What the alignment grid searches over: its points and its settings, as plain values.

:class:`GridSearch` holds every option of :func:`~alien.training.fit_alien`
with the paper's recipe as defaults (grid lr {4e-4, 1e-4, 1e-5} x alpha
{0.01, 0.1, 1} x beta {0.01, 0.1, 1}, up to 50 epochs, patience 5, batch
128, 10% warm-up), so a notebook needs no pipeline config to train a head.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal, get_args

Selection = Literal["roc_auc", "bce"]
SELECTIONS: tuple[str, ...] = get_args(Selection)


@dataclass(frozen=True)
class GridPoint:
    """One configuration of the grid.

    Attributes:
        lr: peak learning rate of the one-cycle schedule, in ``(0, 1)``.
        alpha: weight of the alignment term, ``>= 0``.
        beta: weight of the L2-SP term, ``>= 0``.
    """

    lr: float
    alpha: float
    beta: float

    def __post_init__(self) -> None:
        for name in ("lr", "alpha", "beta"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise TypeError(f"GridPoint.{name} must be a number, got {type(value).__name__}")
            if not math.isfinite(value):
                raise ValueError(f"GridPoint.{name} must be finite, got {value}")
        if not 0.0 < self.lr < 1.0:
            raise ValueError(f"GridPoint.lr must lie in (0, 1), got {self.lr}")
        if self.alpha < 0 or self.beta < 0:
            raise ValueError(f"GridPoint.alpha and beta must be >= 0, got {self.alpha} and {self.beta}")


def axis(name: str, values: Iterable[float]) -> tuple[float, ...]:
    """``values`` as a tuple; a bare number or string is a TypeError naming ``name``."""
    if isinstance(values, str | bytes) or not isinstance(values, Iterable):
        raise TypeError(f"{name} must be a sequence of numbers, got {type(values).__name__}")
    return tuple(values)


def grid_points(
    learning_rates: Iterable[float], alphas: Iterable[float], betas: Iterable[float]
) -> list[GridPoint]:
    """The grid's points in the order they are reported: lr, then alpha, then beta.

    Raises:
        TypeError: an axis that is not a sequence of numbers.
        ValueError: an empty axis or a value :class:`GridPoint` rejects.

    >>> [(p.lr, p.alpha, p.beta) for p in grid_points([1e-3], [0.0, 1.0], [0.5])]
    [(0.001, 0.0, 0.5), (0.001, 1.0, 0.5)]
    """
    axes = {
        "learning_rates": axis("learning_rates", learning_rates),
        "alphas": axis("alphas", alphas),
        "betas": axis("betas", betas),
    }
    for name, values in axes.items():
        if not values:
            raise ValueError(f"{name} must list at least one value")
    return [GridPoint(lr, a, b) for lr, a, b in itertools.product(*axes.values())]


def _check_int(name: str, value: object, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int, got {type(value).__name__}")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")


@dataclass(frozen=True)
class GridSearch:
    """Every setting of the alignment grid search (the arguments of :func:`fit_alien`).

    Attributes:
        learning_rates: peak learning rates of the grid.
        alphas: alignment-term weights of the grid.
        betas: L2-SP weights of the grid.
        max_epochs: epochs per config at most (the one-cycle schedule spans them).
        patience: epochs without a strict improvement before a config stops.
        batch_size: rows per minibatch.
        warmup_fraction: warm-up share of the one-cycle schedule, in ``(0, 1)``.
        oversample_errors: balance errors and non-errors by random over-sampling.
        seed: seed of the minibatch order.
        selection: the validation criterion of early stopping and of the choice
            between configs: ``"roc_auc"`` (the paper: error-detection ROC-AUC,
            higher is better) or ``"bce"`` (BCE of ``u`` against the errors, a
            proper scoring rule, lower is better).
        top_k: how many of the best configs the returned head averages (1: the winner alone).
    """

    learning_rates: tuple[float, ...] = (4e-4, 1e-4, 1e-5)
    alphas: tuple[float, ...] = (0.01, 0.1, 1.0)
    betas: tuple[float, ...] = (0.01, 0.1, 1.0)
    max_epochs: int = 50
    patience: int = 5
    batch_size: int = 128
    warmup_fraction: float = 0.1
    oversample_errors: bool = False
    seed: int = 42
    selection: Selection = "roc_auc"
    top_k: int = 1

    def __post_init__(self) -> None:
        for name in ("learning_rates", "alphas", "betas"):
            object.__setattr__(self, name, axis(name, getattr(self, name)))
        points = self.points()  # checks every value of the axes
        _check_int("max_epochs", self.max_epochs, 1)
        _check_int("patience", self.patience, 1)
        _check_int("batch_size", self.batch_size, 1)
        _check_int("seed", self.seed, 0)
        _check_int("top_k", self.top_k, 1)
        if self.top_k > len(points):
            raise ValueError(f"top_k must be at most the grid's {len(points)} configs, got {self.top_k}")
        if not isinstance(self.warmup_fraction, int | float) or not 0.0 < self.warmup_fraction < 1.0:
            raise ValueError(f"warmup_fraction must lie in (0, 1), got {self.warmup_fraction!r}")
        if not isinstance(self.oversample_errors, bool):
            raise TypeError(f"oversample_errors must be a bool, got {type(self.oversample_errors).__name__}")
        if self.selection not in SELECTIONS:
            raise ValueError(f"unknown selection {self.selection!r}; choose one of {list(SELECTIONS)}")

    def points(self) -> list[GridPoint]:
        """The grid's points, in the order they are reported."""
        return grid_points(self.learning_rates, self.alphas, self.betas)
