"""Training of the ALIEN head on cached features: the loss and the batched grid search.

Imports only :mod:`alien.core`, :mod:`alien.metrics` and the grid's options
(:mod:`alien.options.align`; never the pipeline's config): a notebook trains a
head with :func:`fit_alien` and plain arguments.
"""

from alien.core.ensemble import AlienHeadEnsemble
from alien.options.align import SELECTIONS, GridPoint, GridSearch, grid_points
from alien.training.grid import fit_alien
from alien.training.loss import LossTerms, alien_loss, l2sp_grad
from alien.training.result import GridResult, TrialResult

__all__ = [
    "SELECTIONS",
    "AlienHeadEnsemble",
    "GridPoint",
    "GridResult",
    "GridSearch",
    "LossTerms",
    "TrialResult",
    "alien_loss",
    "fit_alien",
    "grid_points",
    "l2sp_grad",
]
