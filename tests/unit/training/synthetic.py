"""Synthetic cached features whose errors a trained head can predict better than entropy.

The backbone's logits come from ``core``; errors are drawn from the entropy of
a *shifted* copy of it (its last Linear perturbed), so the ideal ALIEN head is
reachable by training and beats the backbone's own entropy.
"""

from __future__ import annotations

import copy

import torch
from torch import nn

from alien.core.feature_set import FeatureSet
from alien.core.head import AlienHead
from alien.core.uncertainty import normalized_entropy

HIDDEN = 16
WEIGHT_SCALE = 0.5


def pooler_core(hidden: int = HIDDEN, num_labels: int = 2, *, seed: int = 0) -> nn.Sequential:
    """BERT-like head: dense + tanh + dropout + Linear (the dropout must stay inert in training)."""
    g = torch.Generator().manual_seed(seed)
    core = nn.Sequential(nn.Linear(hidden, hidden), nn.Tanh(), nn.Dropout(0.5), nn.Linear(hidden, num_labels))
    with torch.no_grad():
        for p in core.parameters():
            p.copy_(torch.randn(p.shape, generator=g) * WEIGHT_SCALE)
    return core.eval()


def shifted(core: nn.Sequential, *, scale: float, seed: int = 1) -> nn.Sequential:
    """A copy of ``core`` with its last Linear's weight moved by ``scale`` times a fixed random direction."""
    g = torch.Generator().manual_seed(seed)
    out = copy.deepcopy(core)
    last = out[-1]
    with torch.no_grad():
        last.weight.add_(scale * torch.randn(last.weight.shape, generator=g))
    return out


def make_head(core: nn.Module, num_labels: int = 2) -> AlienHead:
    return AlienHead(copy.deepcopy(core), num_labels=num_labels).eval()


def synthetic_features(
    core: nn.Module,
    truth: nn.Module,
    n: int,
    *,
    seed: int,
    hidden: int = HIDDEN,
    example_ids: bool = False,
) -> FeatureSet:
    """``n`` rows: logits from ``core``; the label is the prediction, flipped with
    probability ``0.6 * u_truth**2`` where ``u_truth`` is the normalised entropy of ``truth``."""
    g = torch.Generator().manual_seed(seed)
    z = torch.randn(n, hidden, generator=g)
    with torch.no_grad():
        logits = core(z)
        u_truth = normalized_entropy(truth(z))
    pred = logits.argmax(1)
    flip = torch.rand(n, generator=g) < 0.6 * u_truth**2
    num_labels = logits.shape[1]
    shift = torch.randint(1, num_labels, (n,), generator=g)
    labels = torch.where(flip, (pred + shift) % num_labels, pred)
    ids = torch.arange(n) // 3 if example_ids else None
    return FeatureSet(z, logits, labels, ids)
