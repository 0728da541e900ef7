"""Wall time of the batched ALIEN grid search vs a naive per-config loop.

Synthetic but realistic cached features: a BERT-style head (pooler dense+tanh,
dropout, Linear) of a 384-d model with 2 classes, ~15% errors that are partly
predictable from the features (drawn from the entropy of a perturbed copy of
the head, so a trained head can beat the backbone's own entropy).

Run: ``python benchmarks/bench_grid.py`` (defaults: 10,000 train rows, 2,500
validation rows, the default 27-config grid, 50 epochs max, patience 5, batch 128).
"""

from __future__ import annotations

import argparse
import copy
import time

import torch
import torch.nn.functional as F
from sklearn.metrics import roc_auc_score
from torch import nn

from alien.core.feature_set import FeatureSet
from alien.core.head import AlienHead
from alien.core.uncertainty import normalized_entropy, uncertainty_from_logits
from alien.training import GridSearch, fit_alien
from alien.training.sampler import EpochBatches


def make_core(hidden: int, *, seed: int) -> nn.Sequential:
    g = torch.Generator().manual_seed(seed)
    core = nn.Sequential(nn.Linear(hidden, hidden), nn.Tanh(), nn.Dropout(0.1), nn.Linear(hidden, 2))
    with torch.no_grad():
        core[0].weight.copy_(torch.randn(hidden, hidden, generator=g) / hidden**0.5)
        core[0].bias.zero_()
        core[3].weight.copy_(torch.randn(2, hidden, generator=g) * 5.0 / hidden**0.5)
        core[3].bias.zero_()
    return core.eval()


def make_features(core: nn.Module, truth: nn.Module, n: int, *, seed: int) -> FeatureSet:
    g = torch.Generator().manual_seed(seed)
    z = torch.randn(n, core[0].in_features, generator=g)
    with torch.no_grad():
        logits = core(z)
        u_truth = normalized_entropy(truth(z))
    pred = logits.argmax(1)
    flip = torch.rand(n, generator=g) < 0.55 * u_truth**1.5
    return FeatureSet(z, logits, torch.where(flip, 1 - pred, pred))


def naive_fit(
    head: AlienHead,
    train: FeatureSet,
    val: FeatureSet,
    cfg: GridSearch,
    lr: float,
    alpha: float,
    beta: float,
) -> tuple[float, int]:
    """One config the textbook way (torch.optim.Adam + OneCycleLR, sklearn AUROC); (best auc, epochs)."""
    model = copy.deepcopy(head).eval()
    p0 = {n: p.detach().clone() for n, p in model.named_parameters()}
    batches = EpochBatches(train.errors, batch_size=cfg.batch_size, oversample=False, seed=cfg.seed)
    total = cfg.max_epochs * batches.steps_per_epoch
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    sched = torch.optim.lr_scheduler.OneCycleLR(
        opt, max_lr=lr, total_steps=total, pct_start=cfg.warmup_fraction, cycle_momentum=False
    )
    u0 = uncertainty_from_logits(train.logits)

    def auc() -> float:
        with torch.no_grad():
            return float(roc_auc_score(val.errors.numpy(), model(val.features).numpy()))

    best, bad, step, epoch = auc(), 0, 0, 0
    for epoch in range(1, cfg.max_epochs + 1):  # noqa: B007
        for b in batches.epoch():
            u = model(train.features[b])
            l2sp = sum(((p - p0[n]) ** 2).sum() for n, p in model.named_parameters())
            loss = (
                F.binary_cross_entropy(u, train.errors[b]) + alpha * ((u - u0[b]) ** 2).mean() + beta * l2sp
            )
            opt.zero_grad()
            loss.backward()
            opt.step()
            step += 1
            if step < total:
                sched.step()
        a = auc()
        if a > best:
            best, bad = a, 0
        else:
            bad += 1
            if bad >= cfg.patience:
                break
    return best, epoch


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--train-rows", type=int, default=10_000)
    parser.add_argument("--val-rows", type=int, default=2_500)
    parser.add_argument("--dim", type=int, default=384, help="feature (hidden) size of the backbone")
    parser.add_argument("--naive-configs", type=int, default=3, help="configs timed with the naive loop")
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)

    core = make_core(args.dim, seed=0)
    truth = copy.deepcopy(core)
    with torch.no_grad():
        noise = torch.randn(2, args.dim, generator=torch.Generator().manual_seed(1))
        truth[3].weight.add_(noise * 5.0 / args.dim**0.5)
    train = make_features(core, truth, args.train_rows, seed=1)
    val = make_features(core, truth, args.val_rows, seed=2)
    head = AlienHead(copy.deepcopy(core), num_labels=2, family="bert").eval()
    cfg = GridSearch()  # the library's defaults: the paper's grid and recipe
    print(
        f"train {len(train)} rows, validation {len(val)} rows, dim {args.dim}, "
        f"errors {float(train.errors.mean()):.1%} / {float(val.errors.mean()):.1%}, "
        f"head params {head.num_parameters():,}, torch threads {torch.get_num_threads()}"
    )

    t0 = time.perf_counter()
    result = fit_alien(head, train, val)
    batched_s = time.perf_counter() - t0
    k = len(result.trials)
    epochs = sum(t.epochs_run for t in result.trials)
    print(f"batched grid: {k} configs, {epochs} config-epochs (max {k * cfg.max_epochs}), {batched_s:.1f} s")
    print(
        f"  initial val ROC-AUC {result.initial_val_auroc:.4f} -> winner {result.best.val_auroc:.4f} "
        f"(lr={result.best.lr:g}, alpha={result.best.alpha:g}, beta={result.best.beta:g}, "
        f"best epoch {result.best.best_epoch}, ran {result.best.epochs_run})"
    )

    picks = [result.trials[i] for i in torch.linspace(0, k - 1, args.naive_configs).round().long().tolist()]
    t0 = time.perf_counter()
    naive_epochs = 0
    for trial in picks:
        auc, ran = naive_fit(head, train, val, cfg, trial.lr, trial.alpha, trial.beta)
        naive_epochs += ran
        print(
            f"  naive lr={trial.lr:g} alpha={trial.alpha:g} beta={trial.beta:g}: val ROC-AUC {auc:.4f}, "
            f"{ran} epochs (batched: {trial.val_auroc:.4f}, {trial.epochs_run} epochs)"
        )
    naive_s = time.perf_counter() - t0
    per_epoch = naive_s / naive_epochs
    naive_27 = per_epoch * epochs
    print(
        f"naive loop: {len(picks)} configs, {naive_epochs} epochs in {naive_s:.1f} s "
        f"({per_epoch:.2f} s/epoch) -> {k} configs x their {epochs} epochs ~ {naive_27:.1f} s"
    )
    print(f"speed-up batched vs naive: {naive_27 / batched_s:.1f}x")


if __name__ == "__main__":
    main()
