"""DOCTOR (Granese et al., 2021): the Gini impurity of the classifier's softmax.

``u = (1 - sum_c p_c^2) / (1 - 1/C)``: 0 for a one-hot softmax, 1 for the
uniform one, so it lives on the same ``[0, 1]`` scale as the normalised
entropy. DOCTOR's detector ``D_alpha = (1 - sum p^2) / sum p^2`` is a
monotone function of the same impurity, so both rank rows identically.
``is_probability`` is true for the same reason as for the entropy baseline:
``1 - u`` is the confidence a user of this score would read, and its ECE shows
how far that is from a probability of being right.
"""

from __future__ import annotations

import torch

from alien.baselines.base import Scores, UncertaintyBaseline
from alien.core.feature_set import FeatureSet


class Doctor(UncertaintyBaseline):
    """Normalised Gini impurity ``(1 - sum p^2) / (1 - 1/C)`` of ``softmax(logits)``. Nothing to fit."""

    name = "doctor"
    is_probability = True

    def _fit(self, train: FeatureSet, validation: FeatureSet) -> None:
        return None

    def _score(self, fs: FeatureSet) -> Scores:
        probs = torch.softmax(fs.logits.to(torch.float64), dim=1)
        impurity = 1.0 - (probs**2).sum(dim=1)
        return (impurity / (1.0 - 1.0 / fs.num_classes)).clamp(0.0, 1.0).cpu().numpy()
