"""Softmax response: the classifier's own confidence, the simplest baseline."""

from __future__ import annotations

import torch

from alien.baselines.base import Scores, UncertaintyBaseline
from alien.core.feature_set import FeatureSet


class SoftmaxResponse(UncertaintyBaseline):
    """``u = 1 - max_c softmax(logits)_c``; ``1 - u`` is the classifier's confidence. Nothing to fit."""

    name = "softmax_response"
    is_probability = True

    def _fit(self, train: FeatureSet, validation: FeatureSet) -> None:
        return None

    def _score(self, fs: FeatureSet) -> Scores:
        probs = torch.softmax(fs.logits.to(torch.float64), dim=1)
        return (1.0 - probs.max(dim=1).values).cpu().numpy()
