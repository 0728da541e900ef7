"""What a fine-tuning run needs beyond its options: a device, and a launch that can share the batch.

The options themselves (:class:`~alien.options.finetune.FinetuneOptions`) carry their
defaults and checks; these checks depend on the machine and on the ``torchrun``
launch the process runs in, so they run when :func:`~alien.backbones.finetune.finetune`
starts, not when the options are built.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Literal, get_args

import torch

from alien.backbones import distributed
from alien.options.base import validated
from alien.options.finetune import FinetuneOptions

Device = Literal["cpu", "cuda"]
DEVICES: tuple[Device, ...] = get_args(Device)


def resolve_options(options: FinetuneOptions | None, overrides: dict[str, Any]) -> FinetuneOptions:
    """``options`` (default: :class:`FinetuneOptions`'s) with ``overrides`` applied and checked.

    Raises:
        TypeError: an unknown option or one of the wrong type (the message names it).
        ValueError: an option out of range (the message names it and the allowed values).
    """
    base = FinetuneOptions() if options is None else options
    allowed = [f.name for f in dataclasses.fields(base)]
    return validated(dataclasses.replace, base, where="finetune", allowed=allowed, **overrides)


def check_launch(options: FinetuneOptions, device: str) -> None:
    """Refuse a device this machine lacks, or a global batch the launch's processes cannot share.

    Raises:
        ValueError: ``device`` is not ``"cpu"``/``"cuda"``, CUDA is asked for but absent, or
            ``batch_size`` is not divisible by the number of processes.
    """
    if device not in DEVICES:
        raise ValueError(f"device must be one of {list(DEVICES)}, got {device!r}")
    if device == "cuda" and not torch.cuda.is_available():
        raise ValueError("device='cuda' but no CUDA device is available; use device='cpu'")
    processes = distributed.world_size()
    if options.batch_size % processes:
        raise ValueError(
            f"batch_size {options.batch_size} is the global batch and must be divisible by the "
            f"{processes} processes of this launch"
        )
