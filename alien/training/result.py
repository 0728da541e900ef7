"""What the alignment grid returns: every config's validation scores and the selected head."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from alien.core.ensemble import AlienHeadEnsemble
from alien.core.head import AlienHead
from alien.options.align import GridPoint, Selection


def _finite_or_none(value: float) -> float | None:
    # a diverged epoch scores nan, which strict JSON cannot hold
    return value if math.isfinite(value) else None


@dataclass(frozen=True)
class TrialResult:
    """One grid config after early stopping.

    Attributes:
        point: the config (lr, alpha, beta).
        val_auroc: validation error-detection ROC-AUC of the kept weights.
        val_bce: validation BCE of ``u`` against the errors, of the kept weights.
        best_epoch: epoch whose weights were kept; 0 means no epoch beat the untrained head.
        epochs_run: epochs trained before early stopping (or ``max_epochs``).
        history: the selection metric on validation after each epoch run
            (ROC-AUC or BCE), ``len == epochs_run`` (``nan`` for an epoch whose
            scores were not finite).
    """

    point: GridPoint
    val_auroc: float
    val_bce: float
    best_epoch: int
    epochs_run: int
    history: tuple[float, ...]

    @property
    def lr(self) -> float:
        return self.point.lr

    @property
    def alpha(self) -> float:
        return self.point.alpha

    @property
    def beta(self) -> float:
        return self.point.beta

    def to_dict(self) -> dict[str, Any]:
        """Flat JSON-able record: the point's fields, then the scores."""
        return {
            "lr": self.point.lr,
            "alpha": self.point.alpha,
            "beta": self.point.beta,
            "val_auroc": self.val_auroc,
            "val_bce": self.val_bce,
            "best_epoch": self.best_epoch,
            "epochs_run": self.epochs_run,
            "history": [_finite_or_none(h) for h in self.history],
        }


@dataclass(frozen=True)
class GridResult:
    """Outcome of :func:`alien.training.fit_alien`.

    Attributes:
        head: the selected head, a new module in eval mode: the winning config
            with its best-epoch weights, or with ``top_k > 1`` an
            :class:`~alien.core.ensemble.AlienHeadEnsemble` averaging the
            ``u`` of the ``top_k`` best configs.
        best: the winning trial (best validation ``selection`` metric; the first in grid order on a tie).
        trials: one record per config, in grid order (lr, then alpha, then beta).
        initial_val_auroc: validation ROC-AUC of the untrained head (the backbone's own uncertainty).
        initial_val_bce: validation BCE of the untrained head.
        selection: the criterion of early stopping and selection (``"roc_auc"`` or ``"bce"``).
        selected: grid indices of the configs in ``head``, best first (``selected[0]`` is ``best``).
    """

    head: AlienHead | AlienHeadEnsemble
    best: TrialResult
    trials: tuple[TrialResult, ...]
    initial_val_auroc: float
    initial_val_bce: float
    selection: Selection
    selected: tuple[int, ...]

    def to_dict(self) -> dict[str, Any]:
        """JSON-able summary (everything but the head's weights)."""
        return {
            "selection": self.selection,
            "top_k": len(self.selected),
            "selected": list(self.selected),
            "best": self.best.to_dict(),
            "initial_val_auroc": self.initial_val_auroc,
            "initial_val_bce": self.initial_val_bce,
            "trials": [t.to_dict() for t in self.trials],
        }
