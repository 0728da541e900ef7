"""Grid search over (lr, alpha, beta) for the ALIEN head: :func:`fit_alien`.

All configs are trained at once (:class:`~alien.training.batched.BatchedGrid`),
each early-stopped on its own validation score
(:class:`~alien.training.early_stopping.EarlyStopping`); the best config, or
the average of the ``top_k`` best, is returned as the head.

Runs are bitwise reproducible for one seed, grid, machine and thread count.
Near the decision boundary the BCE-on-entropy gradient grows like
``1/margin``, so at larger learning rates trajectories are sensitive to float
rounding: the same config trained alone or inside a bigger grid (different
matmul blocking) agrees only to rounding, which can compound over epochs.
"""

from __future__ import annotations

import copy
import dataclasses
from typing import Any

import numpy as np
import torch
from tqdm.auto import tqdm

from alien.core.ensemble import AlienHeadEnsemble
from alien.core.feature_set import FeatureSet
from alien.core.head import AlienHead
from alien.core.layers import head_inputs
from alien.metrics.error_detection import batched_roc_auc
from alien.options.align import GridSearch
from alien.options.base import validated
from alien.training.batched import BatchedGrid
from alien.training.early_stopping import EarlyStopping
from alien.training.optim import Params
from alien.training.result import GridResult, TrialResult


def fit_alien(
    head: AlienHead,
    train: FeatureSet,
    validation: FeatureSet,
    search: GridSearch | None = None,
    *,
    progress: bool = False,
    **options: Any,
) -> GridResult:
    """Train the ALIEN head for every (lr, alpha, beta) of the grid and keep the best.

    Each config trains the head's trainable parameters from their initial values on
    :func:`~alien.training.loss.alien_loss` (``u0`` = the backbone's uncertainty of
    ``head.kind``) with Adam and a one-cycle LR spanning ``max_epochs``, early-stopped
    on validation ``selection`` (``patience`` epochs without a strict improvement; the
    untrained head is epoch 0), keeping its best epoch. Trained in eval mode on frozen
    features; all configs see the same minibatches; no global RNG state is touched.

    Args:
        head: the initial head (not modified).
        train: features the head is trained on.
        validation: features for early stopping and selection; needs both errors and correct predictions.
        search: the grid and recipe (default: :class:`~alien.options.align.GridSearch`'s,
            the paper's).
        progress: show a progress bar over epochs where stderr is a terminal (none in logs).
        **options: :class:`~alien.options.align.GridSearch` fields overriding ``search``'s
            (``learning_rates``, ``alphas``, ``betas``, ``max_epochs``, ``patience``,
            ``batch_size``, ``warmup_fraction``, ``oversample_errors``, ``selection``,
            ``top_k``, ``seed``), e.g. ``fit_alien(head, train, val, selection="bce", top_k=3)``.

    Returns:
        The selected head and every config's validation scores.

    Raises:
        TypeError: wrong argument types, or an unknown option.
        ValueError: a setting out of range, an empty feature set, a feature dim or class count
            the head does not accept, validation without both errors and correct predictions,
            a head without trainable parameters, or over-sampling with a single class.
    """
    base = GridSearch() if search is None else search
    allowed = [f.name for f in dataclasses.fields(base)]
    spec = validated(dataclasses.replace, base, where="fit_alien", allowed=allowed, **options)
    _check_inputs(head, train, validation)
    return run_grid(head, train, validation, spec, progress=progress)


def _check_feature_sets(head: AlienHead, train: FeatureSet, validation: FeatureSet) -> None:
    for name, fs in (("train", train), ("validation", validation)):
        if not isinstance(fs, FeatureSet):
            raise TypeError(f"{name} must be a FeatureSet, got {type(fs).__name__}")
        if len(fs) == 0:
            raise ValueError(f"the {name} feature set is empty; the head needs rows to train and select on")
        if fs.num_classes != head.num_labels:
            raise ValueError(
                f"the {name} feature set has {fs.num_classes} classes but the head has {head.num_labels} labels"
            )
    if train.head_inputs.shape[1] != validation.head_inputs.shape[1]:
        raise ValueError(
            f"train features have dim {train.head_inputs.shape[1]} but validation features "
            f"{validation.head_inputs.shape[1]}"
        )
    n_err = int(validation.errors.sum())
    if n_err in (0, len(validation)):
        raise ValueError(
            f"validation ROC-AUC is undefined: the validation set has {n_err} errors out of "
            f"{len(validation)} rows; it needs both errors and correct predictions"
        )


def _check_inputs(head: AlienHead, train: FeatureSet, validation: FeatureSet) -> None:
    if not isinstance(head, AlienHead):
        raise TypeError(f"head must be an AlienHead, got {type(head).__name__}")
    _check_feature_sets(head, train, validation)
    if not any(p.requires_grad for p in head.parameters()):
        raise ValueError("the head has no trainable parameters (all have requires_grad=False)")
    probe = head_inputs(head, train)[:2].to(next(head.parameters()))
    try:
        with torch.no_grad():
            logits = copy.deepcopy(head).eval().logits(probe)
    except RuntimeError as err:
        raise ValueError(f"the head does not accept features of dim {probe.shape[1]}: {err}") from err
    if tuple(logits.shape) != (probe.shape[0], head.num_labels):
        raise ValueError(
            f"the head maps features of shape {tuple(probe.shape)} to logits of shape "
            f"{tuple(logits.shape)}, expected {(probe.shape[0], head.num_labels)}"
        )


def _bce(u: np.ndarray, errors: np.ndarray) -> np.ndarray:
    """Mean BCE per row of ``u`` ``(K, N)`` against ``errors`` ``(N,)``, in float64."""
    u64, e = u.astype(np.float64), errors.astype(np.float64)
    return -(e * np.log(u64) + (1.0 - e) * np.log1p(-u64)).mean(axis=1)


def _val_scores(grid: BatchedGrid, params: Params, validation: FeatureSet) -> dict[str, np.ndarray]:
    u = grid.uncertainty(params, validation.head_inputs).cpu().numpy()
    e = validation.errors.cpu().numpy()
    return {"roc_auc": batched_roc_auc(u, e), "bce": _bce(u, e)}


def run_grid(
    head: AlienHead, train: FeatureSet, validation: FeatureSet, spec: GridSearch, *, progress: bool = False
) -> GridResult:
    """:func:`fit_alien` on a ready :class:`GridSearch`, without the input checks (trusts its inputs)."""
    points = spec.points()
    grid = BatchedGrid(head, train, points, spec)
    initial = _val_scores(grid, grid.select(torch.arange(1, device=grid.device)), validation)
    stopping = EarlyStopping(
        len(points),
        patience=spec.patience,
        initial={name: float(v[0]) for name, v in initial.items()},
        metric=spec.selection,
        higher_is_better=spec.selection == "roc_auc",
    )
    best_params = {n: p.clone() for n, p in grid.params.items()}
    # disable=None: a bar only where stderr is a terminal; in Prefect or CI logs its \r updates are noise
    epochs = range(1, spec.max_epochs + 1)
    bar = tqdm(epochs, disable=None if progress else True, desc="align grid", unit="epoch")
    for epoch in bar:
        part = grid.train_epoch(torch.tensor(stopping.active, device=grid.device))
        scores = _val_scores(grid, part, validation)
        improved = stopping.update(epoch, {name: v.tolist() for name, v in scores.items()})
        if improved:
            keep = torch.tensor(improved, device=grid.device)
            for n in grid.names:
                best_params[n][keep] = grid.params[n][keep]
        bar.set_postfix(active=len(stopping.active), best=f"{stopping.best():.4f}")
        if not stopping.active:
            break
    bar.close()
    return _result(head, spec, stopping, best_params, initial)


def _member(head: AlienHead, best_params: Params, row: int) -> AlienHead:
    out = copy.deepcopy(head).eval()
    with torch.no_grad():
        for n, p in out.named_parameters():
            if n in best_params:
                p.copy_(best_params[n][row])
    return out


def _result(
    head: AlienHead,
    spec: GridSearch,
    stopping: EarlyStopping,
    best_params: Params,
    initial: dict[str, np.ndarray],
) -> GridResult:
    trials = tuple(
        TrialResult(
            point=point,
            val_auroc=stopping.kept[i]["roc_auc"],
            val_bce=stopping.kept[i]["bce"],
            best_epoch=stopping.best_epoch[i],
            epochs_run=stopping.epochs_run[i],
            history=tuple(stopping.history[i]),
        )
        for i, point in enumerate(spec.points())
    )
    selected = tuple(stopping.ranking()[: spec.top_k])
    members = [_member(head, best_params, i) for i in selected]
    selected_head = members[0] if spec.top_k == 1 else AlienHeadEnsemble(members).eval()
    return GridResult(
        head=selected_head,
        best=trials[selected[0]],
        trials=trials,
        initial_val_auroc=float(initial["roc_auc"][0]),
        initial_val_bce=float(initial["bce"][0]),
        selection=spec.selection,
        selected=selected,
    )
