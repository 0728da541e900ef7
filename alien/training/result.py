"""What the alignment grid returns: every config's validation score and the winner."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from alien.core.head import AlienHead


@dataclass(frozen=True)
class TrialResult:
    """One grid config after early stopping.

    Attributes:
        lr: peak learning rate of the one-cycle schedule.
        alpha: weight of the alignment term.
        beta: weight of the L2-SP term.
        val_auroc: best validation error-detection ROC-AUC (that of the kept weights).
        best_epoch: epoch whose weights were kept; 0 means no epoch beat the untrained head.
        epochs_run: epochs trained before early stopping (or ``max_epochs``).
        history: validation ROC-AUC after each epoch run, ``len == epochs_run``
            (``nan`` for an epoch whose scores were not finite).
    """

    lr: float
    alpha: float
    beta: float
    val_auroc: float
    best_epoch: int
    epochs_run: int
    history: tuple[float, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "lr": self.lr,
            "alpha": self.alpha,
            "beta": self.beta,
            "val_auroc": self.val_auroc,
            "best_epoch": self.best_epoch,
            "epochs_run": self.epochs_run,
            # a diverged epoch scores nan, which strict JSON cannot hold
            "history": [h if math.isfinite(h) else None for h in self.history],
        }


@dataclass(frozen=True)
class GridResult:
    """Outcome of :func:`alien.training.fit_alien`.

    Attributes:
        head: the winning config's head with its best-epoch weights (a new module, eval mode).
        best: the winning trial (highest ``val_auroc``; the first in grid order on a tie).
        trials: one record per config, in grid order (lr, then alpha, then beta).
        initial_val_auroc: validation ROC-AUC of the untrained head (the backbone's own uncertainty).
    """

    head: AlienHead
    best: TrialResult
    trials: tuple[TrialResult, ...]
    initial_val_auroc: float

    def to_dict(self) -> dict[str, Any]:
        """JSON-able summary (everything but the head's weights)."""
        return {
            "best": self.best.to_dict(),
            "initial_val_auroc": self.initial_val_auroc,
            "trials": [t.to_dict() for t in self.trials],
        }
