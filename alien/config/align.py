"""The ``align`` section: the library's alignment grid plus what the stage chooses around it."""

from __future__ import annotations

from typing import Literal, Self

from pydantic import model_validator
from pydantic.dataclasses import dataclass

from alien.options.align import DistanceInput, GridSearch, check_layers
from alien.options.base import OPTIONS


@dataclass(frozen=True, config=OPTIONS)
class AlignConfig(GridSearch):
    """:class:`~alien.options.align.GridSearch` (its defaults and checks) and the head the stage trains.

    The stage hands the section itself to :func:`~alien.training.fit_alien` as its grid.

    Attributes:
        uncertainty: ``"entropy"`` (ALIEN) or ``"smoothmax"`` (AdUE): the head's ``u``.
        train_split: the split the head trains on: ``"alignment"`` (held out from the
            backbone) or ``"train"`` (the paper's protocol).
        distance_inputs: distances of the feature to the backbone's training classes that
            enter the head as a zero-initialised per-input temperature
            (:mod:`alien.core.distance`); empty = the head sees ``z`` alone.
        layers: earlier layers (``hidden_states`` indices from the top, each <= -2) whose
            pooled states enter the head through zero-initialised weights
            (:mod:`alien.core.layers`); the ``features`` stage extracts them. Empty = none.
    """

    uncertainty: Literal["entropy", "smoothmax"] = "entropy"
    train_split: Literal["alignment", "train"] = "alignment"
    distance_inputs: tuple[DistanceInput, ...] = ()
    layers: tuple[int, ...] = ()

    @model_validator(mode="after")
    def _distinct_inputs(self) -> Self:
        if len(set(self.distance_inputs)) != len(self.distance_inputs):
            raise ValueError(f"distance_inputs must not repeat a name, got {list(self.distance_inputs)}")
        check_layers(self.layers)
        return self
