"""The ``finetune`` section: the library's fine-tuning options plus how many processes run them."""

from __future__ import annotations

from typing import Annotated

from annotated_types import Ge, Le
from pydantic.dataclasses import dataclass

from alien.options.base import OPTIONS, Int
from alien.options.finetune import FinetuneOptions


@dataclass(frozen=True, config=OPTIONS)
class FinetuneConfig(FinetuneOptions):
    """:class:`~alien.options.finetune.FinetuneOptions` (their defaults and checks) and the stage's launch.

    Attributes:
        processes: DDP processes, in [1, 64]; > 1 re-launches the stage under
            ``torchrun`` (gloo on CPU, NCCL on GPU) and rank 0 writes.
    """

    processes: Annotated[Int, Ge(1), Le(64)] = 1
