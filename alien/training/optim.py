"""A batched Adam and the one-cycle LR shape for training many head copies at once.

``torch.optim`` has one learning rate per parameter group, not per slice of a
tensor, so the grid keeps its ``K`` configs stacked along dim 0 and steps them
with this elementwise Adam, which reproduces ``torch.optim.Adam``'s defaults
(no weight decay, no amsgrad) with a learning rate per config.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

Params = dict[str, torch.Tensor]


def one_cycle_multipliers(total_steps: int, *, pct_start: float) -> torch.Tensor:
    """Learning rate of each step of a one-cycle schedule with ``max_lr = 1``.

    The shape is read from ``torch.optim.lr_scheduler.OneCycleLR`` (cosine
    annealing, ``pct_start`` warm-up, its default ``div_factor`` and
    ``final_div_factor``) rather than re-derived; every learning rate of that
    schedule is proportional to ``max_lr``, so config ``k`` uses
    ``lr_k * multipliers[t]``. Momentum is not cycled: Adam keeps its default betas.

    Args:
        total_steps: number of optimiser steps the schedule spans.
        pct_start: warm-up fraction in ``(0, 1)``.

    Returns:
        ``(total_steps,)`` float64 multipliers, the one used at step ``t`` first.
    """
    if total_steps < 1:
        raise ValueError(f"total_steps must be >= 1, got {total_steps}")
    if not 0.0 < pct_start < 1.0:
        raise ValueError(f"pct_start must lie in (0, 1), got {pct_start}")
    if abs(pct_start * total_steps - 1.0) < 1e-9:
        # OneCycleLR divides by (pct_start * total_steps - 1): a one-step warm-up is a
        # zero-length phase. Shift it a hair so step 0 sits at the peak, then anneal.
        pct_start = (1.0 - 1e-6) / total_steps
    dummy = torch.zeros(1, requires_grad=True)
    opt = torch.optim.SGD([dummy], lr=1.0)
    sched = torch.optim.lr_scheduler.OneCycleLR(
        opt,
        max_lr=1.0,
        total_steps=total_steps,
        pct_start=pct_start,
        anneal_strategy="cos",
        cycle_momentum=False,
    )
    out = torch.empty(total_steps, dtype=torch.float64)
    for t in range(total_steps):
        out[t] = opt.param_groups[0]["lr"]
        if t + 1 < total_steps:
            opt.step()  # a no-op (no grads); keeps the scheduler's step-order check quiet
            sched.step()
    return out


@dataclass
class BatchedAdam:
    """Adam state for parameters stacked along dim 0 (row ``k`` = config ``k``).

    All rows share the step count: the grid starts every config together and
    only ever drops whole rows (early-stopped configs).
    """

    exp_avg: Params
    exp_avg_sq: Params
    step: int = 0
    beta1: float = 0.9
    beta2: float = 0.999
    eps: float = 1e-8

    @classmethod
    def zeros_like(cls, params: Params) -> BatchedAdam:
        """Fresh state for ``params``."""
        return cls(
            exp_avg={n: torch.zeros_like(p) for n, p in params.items()},
            exp_avg_sq={n: torch.zeros_like(p) for n, p in params.items()},
        )

    def select(self, rows: torch.Tensor) -> BatchedAdam:
        """The state of the configs at ``rows`` (copies)."""
        return BatchedAdam(
            {n: m[rows] for n, m in self.exp_avg.items()},
            {n: v[rows] for n, v in self.exp_avg_sq.items()},
            self.step,
            self.beta1,
            self.beta2,
            self.eps,
        )

    def write_back(self, rows: torch.Tensor, part: BatchedAdam) -> None:
        """Store the state of a :meth:`select`-ed part at ``rows``."""
        for n in self.exp_avg:
            self.exp_avg[n][rows] = part.exp_avg[n]
            self.exp_avg_sq[n][rows] = part.exp_avg_sq[n]
        self.step = part.step

    @torch.no_grad()
    def update(self, params: Params, grads: Params, lr: torch.Tensor) -> None:
        """One in-place Adam step; ``lr`` is ``(K,)``, one learning rate per row.

        The operations mirror ``torch.optim.Adam``'s single-tensor path so the
        two agree to float rounding.
        """
        self.step += 1
        bias1 = 1.0 - self.beta1**self.step
        bias2_sqrt = (1.0 - self.beta2**self.step) ** 0.5
        for n, p in params.items():
            g = grads[n]
            m, v = self.exp_avg[n], self.exp_avg_sq[n]
            m.lerp_(g, 1.0 - self.beta1)
            v.mul_(self.beta2).addcmul_(g, g, value=1.0 - self.beta2)
            step_size = (lr / bias1).to(p.dtype).view(-1, *([1] * (p.ndim - 1)))
            # in place to spare allocations; same rounding as addcdiv_(m, denom, value=-step_size)
            upd = v.sqrt().div_(bias2_sqrt).add_(self.eps)
            torch.div(m, upd, out=upd)
            p.sub_(upd.mul_(step_size))
