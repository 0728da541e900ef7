"""Temperature scaling (Guo et al., 2017): one scalar ``T`` fitted on validation NLL.

``u = 1 - max softmax(logits / T)``. ``T`` leaves the argmax (hence the errors)
unchanged; it only reshapes confidence, so it is the calibration baseline every
user knows, and its softmax response is also scored for error detection.
"""

from __future__ import annotations

import math

import torch

from alien.baselines.base import Scores, UncertaintyBaseline
from alien.core.feature_set import FeatureSet


class TemperatureScaling(UncertaintyBaseline):
    """Softmax response of temperature-scaled logits.

    Args:
        max_iter: LBFGS iterations for fitting ``log T``.

    Attributes:
        temperature: the fitted ``T`` (> 0); ``1.0`` before fitting.
    """

    name = "temperature_scaling"
    is_probability = True

    def __init__(self, *, max_iter: int = 200) -> None:
        super().__init__()
        if max_iter < 1:
            raise ValueError(f"max_iter must be >= 1, got {max_iter}")
        self.max_iter = max_iter
        self.temperature = 1.0

    def _fit(self, train: FeatureSet, validation: FeatureSet) -> None:
        # Fitted on validation: on the training split the backbone is over-fitted, so its NLL would
        # push T below the value that calibrates unseen data.
        logits = validation.logits.detach().to(torch.float64)
        labels = validation.labels.detach().long()
        # Optimising log T keeps T positive without constraints.
        log_t = torch.zeros(1, dtype=torch.float64, requires_grad=True)
        optimizer = torch.optim.LBFGS([log_t], lr=1.0, max_iter=self.max_iter, line_search_fn="strong_wolfe")

        def closure() -> torch.Tensor:
            optimizer.zero_grad()
            loss = torch.nn.functional.cross_entropy(logits / log_t.exp(), labels)
            loss.backward()
            return loss

        optimizer.step(closure)
        temperature = float(log_t.detach().exp())
        if not math.isfinite(temperature) or temperature <= 0.0:
            raise ValueError(f"temperature scaling diverged (T = {temperature}); check the validation logits")
        self.temperature = temperature

    def calibrated_probabilities(self, fs: FeatureSet) -> torch.Tensor:
        """``(N, C)`` float64 ``softmax(logits / T)``."""
        return torch.softmax(fs.logits.detach().to(torch.float64) / self.temperature, dim=1)

    def _score(self, fs: FeatureSet) -> Scores:
        return (1.0 - self.calibrated_probabilities(fs).max(dim=1).values).cpu().numpy()
