"""How to fine-tune a backbone: :class:`FinetuneOptions`, the one home of their defaults and checks.

:func:`alien.backbones.finetune.finetune` takes them (or their fields as
keywords), so a notebook needs no pipeline config; ``params.yaml``'s
``finetune`` section (:class:`alien.config.FinetuneConfig`) is a
:class:`FinetuneOptions` plus the stage's process count.
"""

from __future__ import annotations

from typing import Literal, get_args

from pydantic.dataclasses import dataclass

from alien.options.base import (
    OPTIONS,
    Bool,
    HalfOpenFraction,
    Int,
    NonNegative,
    Positive,
    PositiveInt,
    Probability,
    Str,
)

Method = Literal["full", "lora"]
METHODS: tuple[Method, ...] = get_args(Method)


@dataclass(frozen=True, config=OPTIONS)
class FinetuneOptions:
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
        group_by_length: batches of rows with similar token counts
            (:mod:`alien.backbones.batching`), so padding each batch to its longest
            row pads little; ``False``: uniformly random batches. With fused AdamW
            it makes the default TREC fine-tune several times faster at equal test
            accuracy (``benchmarks/results/finetune.json``).
        fused_adamw: torch's fused AdamW kernel (one pass over the weights per step)
            instead of its per-tensor loop; the same update up to float rounding.
        threads: torch's intra-op threads while fine-tuning (restored afterwards), >= 1;
            ``None``: torch's default (one per core; cores / processes under torchrun).
            On a machine other processes keep busy, fewer threads than cores can be
            several times faster (``benchmarks/bench_finetune.py``).

    Raises:
        pydantic.ValidationError: (a ValueError) an unknown option, or one of the
            wrong type or out of range; the message names it.
    """

    method: Method = "full"
    epochs: Positive = 2.0
    batch_size: PositiveInt = 32
    learning_rate: Probability = 1e-4
    weight_decay: NonNegative = 0.01
    warmup_ratio: HalfOpenFraction = 0.1
    lora_r: PositiveInt = 8
    lora_alpha: Int = 16
    lora_dropout: HalfOpenFraction = 0.1
    lora_target_modules: tuple[Str, ...] = ()
    seed: Int = 42
    group_by_length: Bool = True
    fused_adamw: Bool = True
    threads: PositiveInt | None = None
