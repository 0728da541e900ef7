"""The ``align`` section: the library's alignment grid plus what the stage chooses around it."""

from __future__ import annotations

from typing import Literal

from pydantic.dataclasses import dataclass

from alien.options.align import GridSearch
from alien.options.base import OPTIONS


@dataclass(frozen=True, config=OPTIONS)
class AlignConfig(GridSearch):
    """:class:`~alien.options.align.GridSearch` (its defaults and checks) and the head the stage trains.

    The stage hands the section itself to :func:`~alien.training.fit_alien` as its grid.

    Attributes:
        uncertainty: ``"entropy"`` (ALIEN) or ``"smoothmax"`` (AdUE): the head's ``u``.
        train_split: the split the head trains on: ``"alignment"`` (held out from the
            backbone) or ``"train"`` (the paper's protocol).
    """

    uncertainty: Literal["entropy", "smoothmax"] = "entropy"
    train_split: Literal["alignment", "train"] = "alignment"
