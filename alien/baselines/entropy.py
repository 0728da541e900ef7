"""Predictive entropy baseline: the normalised entropy of the classifier's softmax."""

from __future__ import annotations

import torch

from alien.baselines.base import Scores, UncertaintyBaseline
from alien.core.feature_set import FeatureSet
from alien.core.uncertainty import normalized_entropy


class PredictiveEntropy(UncertaintyBaseline):
    """``u = H(softmax(logits)) / log C`` — the ALIEN head's output before training.

    ``is_probability`` is true because ALIEN reports ECE on ``1 - u`` of this
    same quantity; comparing the two is the point of the baseline.
    """

    name = "entropy"
    is_probability = True

    def _fit(self, train: FeatureSet, validation: FeatureSet) -> None:
        return None

    def _score(self, fs: FeatureSet) -> Scores:
        return normalized_entropy(fs.logits.to(torch.float64)).clamp(0.0, 1.0).cpu().numpy()
