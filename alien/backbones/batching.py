"""Length-grouped batch order: each training batch holds rows of similar token counts.

The collator pads a batch to its longest row, so a batch of similar lengths pads
little. On the default TREC train split (1,840 questions, 13.6 tokens on average,
batch 32) random batches compute 49k padded tokens per epoch for 25k real ones;
grouped batches compute about 27k (``benchmarks/bench_finetune.py``).

The order stays random where it can: a seeded permutation is cut into
megabatches of :data:`MEGABATCH` batches, each megabatch is sorted by length and
cut into batches, and the full batches are shuffled. It depends only on the
lengths, the batch size, the seed and the epoch, never on the global random
generator, so the same seed gives the same order, and every process of a
``torchrun`` launch computes the same order: with the global batch as
``batch_size``, accelerate's round-robin split of per-process batches hands
each process a share of the same length group at every step.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
from torch.utils.data import Sampler
from transformers import Trainer

MEGABATCH = 16
"""Batches sorted together. 16 (512 rows at batch 32) pads TREC's train split to 27k tokens per
epoch; 8 to 29k, 64 (the whole split) to 25k with no randomness left in which rows share a batch."""


def length_grouped_order(lengths: Sequence[int], *, batch_size: int, seed: int, epoch: int = 0) -> list[int]:
    """A permutation of ``range(len(lengths))`` whose consecutive ``batch_size`` slices hold similar lengths.

    Args:
        lengths: tokens per row (non-negative integers).
        batch_size: the global batch (>= 1); only the last slice may be shorter.
        seed: any integer; the same seed, epoch and lengths give the same order.
        epoch: the pass over the data (>= 0); each epoch draws a different order.

    Returns:
        Row indices, every row exactly once: full batches in random order, then the short one.

    Raises:
        ValueError: a negative or non-integer length, ``batch_size`` < 1 or ``epoch`` < 0.

    >>> order = length_grouped_order([5, 1, 5, 1, 5, 1], batch_size=3, seed=0)
    >>> sorted(order), sorted([5, 1, 5, 1, 5, 1][i] for i in order[:3]) in ([1, 1, 1], [5, 5, 5])
    ([0, 1, 2, 3, 4, 5], True)
    """
    _check(lengths, batch_size=batch_size, epoch=epoch)
    rng = np.random.default_rng([seed % 2**64, epoch])
    sizes = np.asarray(lengths, dtype=np.int64)
    shuffled = rng.permutation(len(sizes))
    span = MEGABATCH * batch_size  # a multiple of batch_size: no batch straddles two megabatches
    batches: list[np.ndarray] = []
    for begin in range(0, len(shuffled), span):
        chunk = shuffled[begin : begin + span]
        chunk = chunk[np.argsort(sizes[chunk], kind="stable")]  # ties keep the random order
        batches.extend(chunk[i : i + batch_size] for i in range(0, len(chunk), batch_size))
    full = [b for b in batches if len(b) == batch_size]
    short = [b for b in batches if len(b) < batch_size]  # at most one: the dataset's remainder
    ordered = [full[i] for i in rng.permutation(len(full))] + short
    return [int(i) for batch in ordered for i in batch]


class LengthGroupedSampler(Sampler[int]):
    """A train sampler yielding :func:`length_grouped_order`, a new order each epoch.

    The Trainer calls :meth:`set_epoch` before each pass (through accelerate's
    data loader, with or without DDP).
    """

    def __init__(self, lengths: Sequence[int], *, batch_size: int, seed: int) -> None:
        _check(lengths, batch_size=batch_size, epoch=0)
        self.lengths = [int(n) for n in lengths]
        self.batch_size = batch_size
        self.seed = seed
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        """Draw the next iteration's order for pass ``epoch``."""
        self.epoch = epoch

    def __len__(self) -> int:
        return len(self.lengths)

    def __iter__(self) -> Iterator[int]:
        order = length_grouped_order(
            self.lengths, batch_size=self.batch_size, seed=self.seed, epoch=self.epoch
        )
        return iter(order)


def _check(lengths: Sequence[int], *, batch_size: int, epoch: int) -> None:
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size must be an integer >= 1, got {batch_size!r}")
    if isinstance(epoch, bool) or not isinstance(epoch, int) or epoch < 0:
        raise ValueError(f"epoch must be an integer >= 0, got {epoch!r}")
    bad = [n for n in lengths if isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 0]
    if bad:
        raise ValueError(f"lengths must be non-negative integers, got {bad[0]!r}")


class SamplerTrainer(Trainer):
    """The Hugging Face Trainer, with our train sampler when one is given.

    Its own ``group_by_length`` sampler draws from the global generator, which
    dropout also draws from on batches of different sizes per process, so under
    DDP the processes' orders can drift apart after the first epoch; ours is
    seeded by the seed and the epoch alone.
    """

    def __init__(self, *args: Any, train_sampler: Sampler[int] | None = None, **kwargs: Any) -> None:
        self._alien_sampler = train_sampler
        super().__init__(*args, **kwargs)

    def _get_train_sampler(self, train_dataset: Any = None) -> Sampler[int] | None:
        if self._alien_sampler is None:
            return super()._get_train_sampler(train_dataset)
        return self._alien_sampler
