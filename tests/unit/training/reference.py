"""The textbook training loop for one grid config, to check the batched grid against.

``torch.optim.Adam`` + ``OneCycleLR``, autograd through the full ALIEN loss
(``F.binary_cross_entropy`` + alignment + L2-SP), the same minibatches, the
best epoch kept: what :func:`alien.training.fit_alien` vectorises.
"""

from __future__ import annotations

import copy

import torch
import torch.nn.functional as F
from sklearn.metrics import roc_auc_score

from alien.core.feature_set import FeatureSet
from alien.core.head import AlienHead
from alien.core.uncertainty import uncertainty_from_logits
from alien.training import GridPoint, GridSearch
from alien.training.sampler import EpochBatches


def auroc(head: AlienHead, fs: FeatureSet) -> float:
    """scikit-learn's ROC-AUC of ``head`` on ``fs``, rounded to the exact rational it approximates.

    ROC-AUC with ties counted one half is a multiple of ``1 / (2 P N)``.
    scikit-learn's trapezoid sum reaches it only to rounding, so two epochs
    whose rankings give the same ROC-AUC can differ in the last bit, which would
    decide the reference's "strict improvement" by rounding noise; the grid's
    rank formula is exact on such ties. Rounding to the lattice makes both exact.
    """
    with torch.no_grad():
        raw = float(roc_auc_score(fs.errors.numpy(), head(fs.features).numpy()))
    n_pos = int(fs.errors.sum())
    lattice = 2 * n_pos * (len(fs) - n_pos)
    return round(raw * lattice) / lattice


def reference_fit(
    head: AlienHead, train: FeatureSet, val: FeatureSet, point: GridPoint, spec: GridSearch
) -> tuple[AlienHead, int, list[float]]:
    """One config trained the plain way: (head with the best epoch's weights, best epoch, history)."""
    model = copy.deepcopy(head).eval()
    p0 = {n: p.detach().clone() for n, p in model.named_parameters()}
    batches = EpochBatches(
        train.errors, batch_size=spec.batch_size, oversample=spec.oversample_errors, seed=spec.seed
    )
    total = spec.max_epochs * batches.steps_per_epoch
    opt = torch.optim.Adam(model.parameters(), lr=point.lr)
    sched = torch.optim.lr_scheduler.OneCycleLR(
        opt,
        max_lr=point.lr,
        total_steps=total,
        pct_start=spec.warmup_fraction,
        anneal_strategy="cos",
        cycle_momentum=False,
    )
    u0 = uncertainty_from_logits(train.logits, kind=head.kind)
    best, best_epoch, history, bad, step = auroc(model, val), 0, [], 0, 0
    best_state = copy.deepcopy(model.state_dict())
    for epoch in range(1, spec.max_epochs + 1):
        for b in batches.epoch():
            u = model(train.features[b])
            l2sp = sum(((p - p0[n]) ** 2).sum() for n, p in model.named_parameters())
            align = ((u - u0[b]) ** 2).mean()
            loss = F.binary_cross_entropy(u, train.errors[b]) + point.alpha * align + point.beta * l2sp
            opt.zero_grad()
            loss.backward()
            opt.step()
            step += 1
            if step < total:
                sched.step()
        auc = auroc(model, val)
        history.append(auc)
        if auc > best:
            best, best_epoch, bad, best_state = auc, epoch, 0, copy.deepcopy(model.state_dict())
        else:
            bad += 1
            if bad >= spec.patience:
                break
    model.load_state_dict(best_state)
    return model, best_epoch, history
