"""Rank-based ROC-AUC for many score vectors at once (the grid's early-stopping metric).

Private to the training package: it trusts its inputs. The public metrics live
in :mod:`alien.metrics`.
"""

from __future__ import annotations

import torch


def batched_auroc(scores: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """ROC-AUC of each row of ``scores`` against one 0/1 label vector.

    Uses the Mann-Whitney form with average ranks for ties, which equals
    ``sklearn.metrics.roc_auc_score`` (ties count one half).

    Args:
        scores: ``(K, N)`` scores, higher meaning "more likely positive".
        labels: ``(N,)`` 0/1 labels with at least one of each.

    Returns:
        ``(K,)`` float64 ROC-AUCs; ``nan`` for a row with a non-finite score.
    """
    s = scores.detach().double()
    finite = torch.isfinite(s).all(dim=1)
    s = torch.where(finite[:, None], s, torch.zeros_like(s))
    ordered, _ = torch.sort(s, dim=1)
    # Tied values occupy positions low+1..high (1-based), so their average rank is (low + high + 1) / 2.
    low = torch.searchsorted(ordered, s, side="left")
    high = torch.searchsorted(ordered, s, side="right")
    ranks = (low + high + 1).double() / 2.0
    pos = labels.to(torch.bool)
    n_pos = int(pos.sum())
    n_neg = int(pos.numel()) - n_pos
    rank_sum = ranks[:, pos].sum(dim=1)
    auc = (rank_sum - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg)
    return torch.where(finite, auc, torch.full_like(auc, float("nan")))
