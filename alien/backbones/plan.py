"""The training options of :func:`alien.backbones.finetune.finetune`, as plain keywords.

:class:`FinetuneOptions` types the keywords (``finetune(..., method="lora",
epochs=3)``); :class:`TrainingPlan` holds them with their defaults and checks
them once. Neither is a pipeline config: the ``finetune`` stage maps its
``params.yaml`` section onto these keywords.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal, TypedDict, get_args

import torch

from alien.backbones import distributed

Method = Literal["full", "lora"]
METHODS: tuple[Method, ...] = get_args(Method)
Device = Literal["cpu", "cuda"]
DEVICES: tuple[Device, ...] = get_args(Device)


class FinetuneOptions(TypedDict, total=False):
    """The keyword options of ``finetune`` (each documented on :class:`TrainingPlan`)."""

    method: Method
    epochs: float
    batch_size: int
    learning_rate: float
    weight_decay: float
    warmup_ratio: float
    lora_r: int
    lora_alpha: int
    lora_dropout: float
    lora_target_modules: Sequence[str]
    seed: int
    device: Device


@dataclass(frozen=True)
class TrainingPlan:
    """How to fine-tune, checked on construction.

    Attributes:
        method: ``"full"`` (every weight) or ``"lora"`` (adapters + classifier head, merged after).
        epochs: passes over the training data (fractions allowed), > 0.
        batch_size: the global batch; under torchrun it is split evenly over the processes.
        learning_rate: AdamW's peak learning rate, in (0, 1); linear decay after warm-up.
        weight_decay: AdamW's decoupled weight decay, >= 0.
        warmup_ratio: fraction of the steps spent warming up, in [0, 1).
        lora_r: LoRA rank, >= 1.
        lora_alpha: LoRA scaling numerator.
        lora_dropout: LoRA dropout, in [0, 1).
        lora_target_modules: module-name suffixes LoRA adapts (empty: the family's attention projections).
        seed: seeds data order, dropout and adapters.
        device: ``"cpu"`` (gloo under torchrun) or ``"cuda"`` (NCCL under torchrun).

    Raises:
        ValueError: an option out of range (the message names it and the allowed values).
    """

    method: Method = "full"
    epochs: float = 2.0
    batch_size: int = 32
    learning_rate: float = 1e-4
    weight_decay: float = 0.01
    warmup_ratio: float = 0.1
    lora_r: int = 8
    lora_alpha: int = 16
    lora_dropout: float = 0.1
    lora_target_modules: Sequence[str] = ()
    seed: int = 42
    device: Device = "cpu"

    def __post_init__(self) -> None:
        object.__setattr__(self, "lora_target_modules", tuple(self.lora_target_modules))
        batch, rank, seed = self.batch_size, self.lora_r, self.seed
        checks = [
            (self.method in METHODS, f"method must be one of {list(METHODS)}, got {self.method!r}"),
            (self.device in DEVICES, f"device must be one of {list(DEVICES)}, got {self.device!r}"),
            (self.epochs > 0, f"epochs must be > 0, got {self.epochs!r}"),
            (_is_int(batch) and batch >= 1, f"batch_size must be an integer >= 1, got {batch!r}"),
            (0 < self.learning_rate < 1, f"learning_rate must lie in (0, 1), got {self.learning_rate!r}"),
            (self.weight_decay >= 0, f"weight_decay must be >= 0, got {self.weight_decay!r}"),
            (0 <= self.warmup_ratio < 1, f"warmup_ratio must lie in [0, 1), got {self.warmup_ratio!r}"),
            (_is_int(rank) and rank >= 1, f"lora_r must be an integer >= 1, got {rank!r}"),
            (0 <= self.lora_dropout < 1, f"lora_dropout must lie in [0, 1), got {self.lora_dropout!r}"),
            (_is_int(seed), f"seed must be an integer, got {seed!r}"),
        ]
        for ok, message in checks:
            if not ok:
                raise ValueError(message)
        if self.device == "cuda" and not torch.cuda.is_available():
            raise ValueError("device='cuda' but no CUDA device is available; use device='cpu'")
        if batch % distributed.world_size():
            raise ValueError(
                f"batch_size {batch} is the global batch and must be divisible by the "
                f"{distributed.world_size()} processes of this launch"
            )


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)
