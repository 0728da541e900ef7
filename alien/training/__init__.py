"""Training of the ALIEN head on cached features: the loss and the batched grid search."""

from alien.training.grid import fit_alien, grid_configs
from alien.training.loss import LossTerms, alien_loss
from alien.training.result import GridResult, TrialResult

__all__ = ["GridResult", "LossTerms", "TrialResult", "alien_loss", "fit_alien", "grid_configs"]
