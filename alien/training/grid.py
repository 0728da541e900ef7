"""Grid search over (lr, alpha, beta) for the ALIEN head, all configs trained at once.

The head is tiny and the features are cached, so the ``K`` configs of the grid
are stacked along a leading dim and trained together: ``torch.func`` computes
every config's gradient on the same minibatch in one vectorised call
(``vmap(grad(loss))``), and :class:`~alien.training.optim.BatchedAdam` steps
them with per-config learning rates on one one-cycle schedule. Configs that
early-stop are dropped from the stack; the loop ends when none is left or at
``max_epochs``.
"""

from __future__ import annotations

import copy
import itertools
from collections.abc import Callable

import numpy as np
import torch
from torch.func import functional_call, grad, vmap
from tqdm.auto import tqdm

from alien.config.sections import AlignConfig
from alien.core.feature_set import FeatureSet
from alien.core.head import AlienHead
from alien.core.uncertainty import uncertainty_from_logits
from alien.metrics.error_detection import batched_roc_auc
from alien.training.loss import loss_terms
from alien.training.optim import BatchedAdam, Params, one_cycle_multipliers
from alien.training.result import GridResult, TrialResult
from alien.training.sampler import EpochBatches

_EVAL_CHUNK = 1024  # validation rows per vectorised forward: bounds K x rows x H activations


def grid_configs(config: AlignConfig) -> list[tuple[float, float, float]]:
    """The ``(lr, alpha, beta)`` configs of the grid, in the order they are reported."""
    return list(itertools.product(config.learning_rates, config.alphas, config.betas))


def _check_inputs(head: AlienHead, train: FeatureSet, validation: FeatureSet, config: AlignConfig) -> None:
    if not isinstance(head, AlienHead):
        raise TypeError(f"head must be an AlienHead, got {type(head).__name__}")
    if not isinstance(config, AlignConfig):
        raise TypeError(f"config must be an AlignConfig, got {type(config).__name__}")
    for name, fs in (("train", train), ("validation", validation)):
        if not isinstance(fs, FeatureSet):
            raise TypeError(f"{name} must be a FeatureSet, got {type(fs).__name__}")
        if len(fs) == 0:
            raise ValueError(f"the {name} feature set is empty; the head needs rows to train and select on")
        if fs.num_classes != head.num_labels:
            raise ValueError(
                f"the {name} feature set has {fs.num_classes} classes "
                f"but the head has {head.num_labels} labels"
            )
    if train.features.shape[1] != validation.features.shape[1]:
        raise ValueError(
            f"train features have dim {train.features.shape[1]} but validation features "
            f"{validation.features.shape[1]}"
        )
    n_err = int(validation.errors.sum())
    if n_err in (0, len(validation)):
        raise ValueError(
            f"validation ROC-AUC is undefined: the validation set has {n_err} errors out of "
            f"{len(validation)} rows; it needs both errors and correct predictions"
        )
    if not any(p.requires_grad for p in head.parameters()):
        raise ValueError("the head has no trainable parameters (all have requires_grad=False)")
    probe = train.features[:2].to(next(head.parameters()))
    try:
        with torch.no_grad():
            logits = copy.deepcopy(head).eval().logits(probe)
    except RuntimeError as err:
        raise ValueError(
            f"the head does not accept features of dim {train.features.shape[1]}: {err}"
        ) from err
    if tuple(logits.shape) != (probe.shape[0], head.num_labels):
        raise ValueError(
            f"the head maps features of shape {tuple(probe.shape)} to logits of shape "
            f"{tuple(logits.shape)}, expected {(probe.shape[0], head.num_labels)}"
        )


def _uncertainty_fn(model: AlienHead, fixed: Params) -> Callable[[Params, torch.Tensor], torch.Tensor]:
    """``u`` of stacked parameters ``(K, ...)`` on shared features: ``(K, N)``."""

    def one(params: Params, z: torch.Tensor) -> torch.Tensor:
        out: torch.Tensor = functional_call(model, {**params, **fixed}, (z,))
        return out

    return vmap(one, in_dims=(0, None))


def _grad_fn(model: AlienHead, fixed: Params, params0: Params) -> Callable[..., Params]:
    """Per-config gradients of the ALIEN loss on one shared minibatch.

    Autograd sees only the data terms (BCE + alpha * align); the L2-SP gradient
    ``2 beta (theta - theta0)`` is added in closed form, which spares several
    passes over every head parameter per step.
    """

    def data_loss(
        params: Params, alpha: torch.Tensor, z: torch.Tensor, u0: torch.Tensor, e: torch.Tensor
    ) -> torch.Tensor:
        u = functional_call(model, {**params, **fixed}, (z,))
        return loss_terms(u, u0, e, {}, {}, alpha=alpha, beta=0.0).total

    data_grad = vmap(grad(data_loss), in_dims=(0, 0, None, None, None))

    def fn(
        params: Params,
        alpha: torch.Tensor,
        beta: torch.Tensor,
        z: torch.Tensor,
        u0: torch.Tensor,
        e: torch.Tensor,
    ) -> Params:
        grads: Params = data_grad(params, alpha, z, u0, e)
        for n, g in grads.items():
            two_beta = (2.0 * beta).view(-1, *([1] * (g.ndim - 1)))
            g.add_((params[n] - params0[n]).mul_(two_beta))
        return grads

    return fn


def _select(params: Params, rows: torch.Tensor) -> Params:
    return {n: p[rows] for n, p in params.items()}


def fit_alien(
    head: AlienHead,
    train: FeatureSet,
    validation: FeatureSet,
    *,
    config: AlignConfig,
    progress: bool = False,
) -> GridResult:
    """Train the ALIEN head for every (lr, alpha, beta) of the grid and keep the best.

    Each config trains the head's trainable parameters from their initial
    values with :func:`~alien.training.loss.alien_loss` (``u0`` = the
    backbone's uncertainty of ``head.kind`` from the cached logits), Adam and a
    one-cycle LR spanning ``max_epochs``, with early stopping on validation
    error-detection ROC-AUC (``patience`` epochs without a strict improvement;
    the untrained head counts as epoch 0), restoring its best epoch. Dropout and
    other train-mode behaviour stay off: the head is trained in eval mode on
    frozen features, as at inference. All configs see the same minibatches and
    no global RNG state is touched.

    Runs are bitwise reproducible for one seed, grid and machine. Near the
    decision boundary the BCE-on-entropy gradient grows like ``1/margin``, so
    at larger learning rates trajectories are sensitive to float rounding:
    the same config trained alone or inside a bigger grid (different matmul
    blocking) agrees only to rounding, which can compound over epochs.

    Args:
        head: the initial head (not modified).
        train: features the head is trained on.
        validation: features for early stopping and selection; needs both
            errors and correct predictions.
        config: the ``align`` section (``uncertainty`` and ``train_split`` are the caller's business).
        progress: show a progress bar over epochs.

    Returns:
        The best head and every config's validation score.

    Raises:
        TypeError: wrong argument types.
        ValueError: empty feature sets, a feature dim or class count the head
            does not accept, a validation set without errors (or with only errors),
            a head without trainable parameters, or over-sampling with a single class.
    """
    _check_inputs(head, train, validation, config)
    model = copy.deepcopy(head).eval()
    ref = next(p for p in model.parameters() if p.requires_grad)
    device, dtype = ref.device, ref.dtype
    names = [n for n, p in model.named_parameters() if p.requires_grad]
    params0 = {n: p.detach().clone() for n, p in model.named_parameters() if p.requires_grad}
    fixed = {n: p.detach() for n, p in model.named_parameters() if not p.requires_grad}
    fixed.update({n: b.detach() for n, b in model.named_buffers()})

    configs = grid_configs(config)
    k = len(configs)
    lrs = torch.tensor([c[0] for c in configs], dtype=torch.float64, device=device)
    alphas = torch.tensor([c[1] for c in configs], dtype=dtype, device=device)
    betas = torch.tensor([c[2] for c in configs], dtype=dtype, device=device)

    z_train = train.features.to(device=device, dtype=dtype)
    e_train = train.errors.to(device=device, dtype=dtype)
    u0 = uncertainty_from_logits(train.logits, kind=head.kind, eps=head.eps)
    u0_train = u0.to(device=device, dtype=dtype)
    z_val = validation.features.to(device=device, dtype=dtype)
    e_val = validation.errors.to(device)

    batches = EpochBatches(
        train.errors, batch_size=config.batch_size, oversample=config.oversample_errors, seed=config.seed
    )
    schedule = one_cycle_multipliers(
        config.max_epochs * batches.steps_per_epoch, pct_start=config.warmup_fraction
    ).to(device)
    grad_fn = _grad_fn(model, fixed, params0)
    u_fn = _uncertainty_fn(model, fixed)

    def val_auroc(params: Params) -> np.ndarray:
        with torch.no_grad():
            u = torch.cat([u_fn(params, z) for z in z_val.split(_EVAL_CHUNK)], dim=1)
        return batched_roc_auc(u.cpu().numpy(), e_val.cpu().numpy())

    params = {n: params0[n].unsqueeze(0).repeat(k, *([1] * params0[n].ndim)) for n in names}
    adam = BatchedAdam.zeros_like(params)
    initial = float(val_auroc(_select(params, torch.arange(1, device=device)))[0])
    best_params = {n: p.clone() for n, p in params.items()}
    best_auc = [initial] * k
    best_epoch = [0] * k
    epochs_run = [0] * k
    history: list[list[float]] = [[] for _ in range(k)]
    bad = [0] * k
    active = list(range(k))

    step = 0
    bar = tqdm(range(1, config.max_epochs + 1), disable=not progress, desc="align grid", unit="epoch")
    for epoch in bar:
        rows = torch.tensor(active, device=device)
        part = _select(params, rows)
        part_adam = adam.select(rows)
        for batch in batches.epoch():
            b = batch.to(device)
            grads = grad_fn(part, alphas[rows], betas[rows], z_train[b], u0_train[b], e_train[b])
            part_adam.update(part, grads, lrs[rows] * schedule[step])
            step += 1
        for n in names:
            params[n][rows] = part[n]
        adam.write_back(rows, part_adam)

        aucs = val_auroc(part).tolist()
        improved = []
        for i, auc in zip(active, aucs, strict=True):
            history[i].append(auc)
            epochs_run[i] = epoch
            if auc > best_auc[i]:  # nan never improves
                best_auc[i], best_epoch[i], bad[i] = auc, epoch, 0
                improved.append(i)
            else:
                bad[i] += 1
        if improved:
            keep = torch.tensor(improved, device=device)
            for n in names:
                best_params[n][keep] = params[n][keep]
        active = [i for i in active if bad[i] < config.patience]
        bar.set_postfix(active=len(active), best=f"{max(best_auc):.4f}")
        if not active:
            break
    bar.close()

    trials = tuple(
        TrialResult(
            lr=lr,
            alpha=a,
            beta=b,
            val_auroc=best_auc[i],
            best_epoch=best_epoch[i],
            epochs_run=epochs_run[i],
            history=tuple(history[i]),
        )
        for i, (lr, a, b) in enumerate(configs)
    )
    winner = max(range(k), key=lambda i: (best_auc[i], -i))
    out = copy.deepcopy(head).eval()
    with torch.no_grad():
        for n, p in out.named_parameters():
            if n in best_params:
                p.copy_(best_params[n][winner])
    return GridResult(head=out, best=trials[winner], trials=trials, initial_val_auroc=initial)
