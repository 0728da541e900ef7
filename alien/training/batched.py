"""The ``K`` configs of the grid stacked along a leading dim and trained together.

The head is tiny and the features are cached, so ``torch.func`` computes every
config's gradient on the same minibatch in one vectorised call
(``vmap(grad(data_loss))``, plus the closed-form L2-SP gradient of
:func:`~alien.training.loss.l2sp_grad`), and
:class:`~alien.training.optim.BatchedAdam` steps them with per-config learning
rates on one one-cycle schedule. Early-stopped configs are dropped from the
stack by training only the ``rows`` still active.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence

import torch
from torch.func import functional_call, grad, vmap

from alien.core.feature_set import FeatureSet
from alien.core.head import AlienHead
from alien.core.layers import head_inputs
from alien.core.uncertainty import uncertainty_from_logits
from alien.options.align import GridPoint, GridSearch
from alien.training.loss import check_loss_inputs, data_loss, l2sp_grad
from alien.training.optim import BatchedAdam, Params, one_cycle_multipliers
from alien.training.sampler import EpochBatches

_EVAL_CHUNK = 1024  # rows per vectorised forward: bounds K x rows x H activations


def _uncertainty_fn(model: AlienHead, fixed: Params) -> Callable[[Params, torch.Tensor], torch.Tensor]:
    """``u`` of stacked parameters ``(K, ...)`` on shared features: ``(K, N)``."""

    def one(params: Params, z: torch.Tensor) -> torch.Tensor:
        out: torch.Tensor = functional_call(model, {**params, **fixed}, (z,))
        return out

    return vmap(one, in_dims=(0, None))


def _data_grad_fn(model: AlienHead, fixed: Params) -> Callable[..., Params]:
    """Per-config gradients of :func:`data_loss` on one shared minibatch."""

    def loss(
        params: Params, alpha: torch.Tensor, z: torch.Tensor, u0: torch.Tensor, e: torch.Tensor
    ) -> torch.Tensor:
        u = functional_call(model, {**params, **fixed}, (z,))
        return data_loss(u, u0, e, alpha=alpha)

    return vmap(grad(loss), in_dims=(0, 0, None, None, None))


class BatchedGrid:
    """Stacked parameters, Adam state and training data of every grid config.

    Args:
        head: the initial head (copied; not modified).
        train: the training features.
        points: the configs, row ``k`` of the stack is ``points[k]``.
        spec: batch size, schedule, sampling and seed.

    Raises:
        ValueError: what :func:`~alien.training.loss.check_loss_inputs` rejects
            on the whole training set, or over-sampling with a single class.
    """

    def __init__(
        self, head: AlienHead, train: FeatureSet, points: Sequence[GridPoint], spec: GridSearch
    ) -> None:
        model = copy.deepcopy(head).eval()
        ref = next(p for p in model.parameters() if p.requires_grad)
        self.device, dtype = ref.device, ref.dtype
        self.names = [n for n, p in model.named_parameters() if p.requires_grad]
        self.params0 = {n: p.detach().clone() for n, p in model.named_parameters() if p.requires_grad}
        fixed = {n: p.detach() for n, p in model.named_parameters() if not p.requires_grad}
        fixed.update({n: b.detach() for n, b in model.named_buffers()})
        k = len(points)
        self.lrs = torch.tensor([p.lr for p in points], dtype=torch.float64, device=self.device)
        self.alphas = torch.tensor([p.alpha for p in points], dtype=dtype, device=self.device)
        self.betas = torch.tensor([p.beta for p in points], dtype=dtype, device=self.device)
        self.z_train = head_inputs(head, train).to(device=self.device, dtype=dtype)
        self.e_train = train.errors.to(device=self.device, dtype=dtype)
        u0 = uncertainty_from_logits(train.logits, kind=head.kind, eps=head.eps)
        self.u0_train = u0.to(device=self.device, dtype=dtype)
        self.batches = EpochBatches(
            train.errors, batch_size=spec.batch_size, oversample=spec.oversample_errors, seed=spec.seed
        )
        self.schedule = one_cycle_multipliers(
            spec.max_epochs * self.batches.steps_per_epoch, pct_start=spec.warmup_fraction
        ).to(self.device)
        self._data_grad = _data_grad_fn(model, fixed)
        self._u = _uncertainty_fn(model, fixed)
        self.params = {
            n: self.params0[n].unsqueeze(0).repeat(k, *([1] * self.params0[n].ndim)) for n in self.names
        }
        self.adam = BatchedAdam.zeros_like(self.params)
        self.step = 0
        self._check_loss()

    def _check_loss(self) -> None:
        """The loss's own input checks, once on every training row and config (vmap cannot check)."""
        with torch.no_grad():
            u = self.uncertainty(self.select(torch.arange(1, device=self.device)), self.z_train)[0]
        check_loss_inputs(
            u, self.u0_train, self.e_train, self.params0, self.params0, alpha=self.alphas, beta=self.betas
        )

    def select(self, rows: torch.Tensor) -> Params:
        """The stacked parameters of the configs at ``rows`` (copies)."""
        return {n: p[rows] for n, p in self.params.items()}

    def grads(self, params: Params, rows: torch.Tensor, batch: torch.Tensor) -> Params:
        """Each config's gradient of the full ALIEN loss on one minibatch: data part + L2-SP."""
        z, u0, e = self.z_train[batch], self.u0_train[batch], self.e_train[batch]
        out: Params = self._data_grad(params, self.alphas[rows], z, u0, e)
        for n, g in l2sp_grad(params, self.params0, self.betas[rows]).items():
            out[n].add_(g)
        return out

    def train_epoch(self, rows: torch.Tensor) -> Params:
        """One epoch of the configs at ``rows``; their new parameters (also stored in the stack)."""
        part = self.select(rows)
        part_adam = self.adam.select(rows)
        for batch in self.batches.epoch():
            b = batch.to(self.device)
            part_adam.update(part, self.grads(part, rows, b), self.lrs[rows] * self.schedule[self.step])
            self.step += 1
        for n in self.names:
            self.params[n][rows] = part[n]
        self.adam.write_back(rows, part_adam)
        return part

    def uncertainty(self, params: Params, z: torch.Tensor) -> torch.Tensor:
        """``u`` of stacked ``params`` on features ``z``: ``(K', N)``, computed in chunks of rows."""
        z = z.to(device=self.device, dtype=self.z_train.dtype)
        with torch.no_grad():
            return torch.cat([self._u(params, chunk) for chunk in z.split(_EVAL_CHUNK)], dim=1)
