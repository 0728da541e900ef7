"""Minibatch order for the alignment grid: shuffled, optionally error-balanced.

Every config of the grid sees the same batches, drawn from one seeded
``torch.Generator`` so the global RNG is never touched.
"""

from __future__ import annotations

import math

import torch


class EpochBatches:
    """Yields the row indices of each minibatch of one epoch.

    With ``oversample=True`` an epoch holds every row once plus the minority
    class of the error indicator re-drawn with replacement (fresh each epoch)
    until both classes have as many rows as the majority, i.e. random
    over-sampling; the epoch then has ``2 * majority`` rows.

    Args:
        errors: ``(N,)`` 0/1 error indicator of the training rows.
        batch_size: rows per batch; the last batch may be smaller.
        oversample: balance errors and non-errors by over-sampling.
        seed: seed of the private generator.

    Raises:
        ValueError: no rows, ``batch_size < 1``, or over-sampling with one class absent.
    """

    def __init__(self, errors: torch.Tensor, *, batch_size: int, oversample: bool, seed: int) -> None:
        if errors.ndim != 1 or errors.numel() == 0:
            raise ValueError(f"errors must be a non-empty 1-D tensor, got shape {tuple(errors.shape)}")
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        is_error = errors.to(torch.bool)
        self._n = int(errors.numel())
        self._batch_size = batch_size
        self._generator = torch.Generator().manual_seed(seed)
        self._minority: torch.Tensor | None = None
        self._extra = 0
        if oversample:
            n_err = int(is_error.sum())
            if n_err in (0, self._n):
                raise ValueError(
                    "cannot over-sample errors: the training rows have "
                    f"{n_err} errors out of {self._n}; both classes must be present"
                )
            minority_is_error = n_err <= self._n - n_err
            self._minority = torch.nonzero(is_error == minority_is_error).squeeze(1)
            self._extra = self._n - 2 * int(self._minority.numel())

    @property
    def rows_per_epoch(self) -> int:
        return self._n + self._extra

    @property
    def steps_per_epoch(self) -> int:
        return math.ceil(self.rows_per_epoch / self._batch_size)

    def epoch(self) -> list[torch.Tensor]:
        """The batches of the next epoch (advances the generator)."""
        rows = torch.arange(self._n)
        if self._minority is not None and self._extra > 0:
            draw = torch.randint(int(self._minority.numel()), (self._extra,), generator=self._generator)
            rows = torch.cat([rows, self._minority[draw]])
        order = rows[torch.randperm(rows.numel(), generator=self._generator)]
        return list(order.split(self._batch_size))
