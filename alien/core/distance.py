"""Distance inputs of the ALIEN head: a per-input temperature from the feature's density, zero at the start.

The head sees only the classifier's own feature ``z``, and in binary tasks its entropy ranks
rows exactly as temperature scaling does. A density score on the same features sees errors
the softmax misses (far from every training class: Lee et al., 2018, "A simple unified
framework for detecting out-of-distribution samples and adversarial attacks"; with the
class-agnostic background subtracted: Ren et al., 2021, "A simple fix to Mahalanobis distance
for improving near-OOD detection"). :class:`DistanceTemperature` turns such distances into a
per-input log-temperature of the head's logits,

    logits'(z) = core(z) * exp(G (w . phi(z) + b)),

with ``phi`` the standardised distances and ``w``, ``b`` initialised at zero. ``G`` (:data:`GAIN`)
is a fixed gain: Adam moves every parameter by about the learning rate per step, a pace set for
the copied head's weights; without the gain the few distance weights could move the
log-temperature by only a few hundredths over a whole alignment run. At the start the
head is therefore exactly the copied classifier head (``u`` = the backbone's entropy), and the
alignment loss learns how much sharper or flatter each input's distribution should be. The
bias ``b`` alone is a learned temperature of the head's logits.

The Gaussians (class means and shared precision, Ledoit–Wolf shrunk) are fitted on the
backbone's **train** split; the standardisation on the rows the head trains on. Neither sees
a validation or test row. The cost at inference is one ``(N, H) x (H, H)`` product per input
kind, far below 1% of a transformer forward.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from sklearn.covariance import LedoitWolf
from torch import nn

from alien.options.align import DISTANCE_INPUTS

_STD_FLOOR = 1e-6
GAIN = 100.0


def _precision(centred: np.ndarray) -> np.ndarray:
    return np.asarray(LedoitWolf(assume_centered=True).fit(centred).precision_, dtype=np.float64)


def _squared(x: torch.Tensor, means: torch.Tensor, precision: torch.Tensor) -> torch.Tensor:
    """``(N, K)`` squared Mahalanobis distances of rows ``x`` to ``means`` under one precision."""
    xp = x @ precision
    quad_x = (xp * x).sum(dim=1, keepdim=True)
    quad_m = ((means @ precision) * means).sum(dim=1)
    return (quad_x - 2.0 * xp @ means.T + quad_m).clamp_min(0.0)


class DistanceTemperature(nn.Module):
    """``(N, H) -> (N,)`` log-temperature ``G (w . phi(z) + b)`` of the head's logits; zero until trained.

    Build it with :meth:`fit`; the empty constructor makes the shapes :meth:`load_state_dict` fills.

    Args:
        hidden: ``H``, the feature size.
        classes: ``K``, the training classes with a Gaussian.
        inputs: which distances make ``phi``, in order (each of :data:`DISTANCE_INPUTS`, once).
    """

    class_means: torch.Tensor
    precision: torch.Tensor
    background_mean: torch.Tensor
    background_precision: torch.Tensor
    shift: torch.Tensor
    scale: torch.Tensor

    def __init__(self, hidden: int, classes: int, inputs: Sequence[str]) -> None:
        super().__init__()
        unknown = [name for name in inputs if name not in DISTANCE_INPUTS]
        if unknown or not inputs or len(set(inputs)) != len(inputs):
            raise ValueError(
                f"distance inputs must be distinct names of {DISTANCE_INPUTS}, got {list(inputs)}"
            )
        if hidden < 1 or classes < 1:
            raise ValueError(f"hidden and classes must be >= 1, got {hidden} and {classes}")
        self.inputs = tuple(inputs)
        k = len(self.inputs)
        self.register_buffer("class_means", torch.zeros(classes, hidden))
        self.register_buffer("precision", torch.zeros(hidden, hidden))
        self.register_buffer("background_mean", torch.zeros(1, hidden))
        self.register_buffer("background_precision", torch.zeros(hidden, hidden))
        self.register_buffer("shift", torch.zeros(k))
        self.register_buffer("scale", torch.ones(k))
        self.weight = nn.Parameter(torch.zeros(k))
        self.bias = nn.Parameter(torch.zeros(()))

    @property
    def hidden(self) -> int:
        return int(self.class_means.shape[1])

    @property
    def classes(self) -> int:
        return int(self.class_means.shape[0])

    def describe(self) -> dict[str, object]:
        """What :meth:`from_description` needs to rebuild the shapes (saved with the model)."""
        return {"inputs": list(self.inputs), "hidden": self.hidden, "classes": self.classes}

    @classmethod
    def from_description(cls, description: dict[str, object]) -> DistanceTemperature:
        try:
            inputs = [str(name) for name in description["inputs"]]  # type: ignore[attr-defined]
            return cls(int(description["hidden"]), int(description["classes"]), inputs)  # type: ignore[call-overload]
        except (KeyError, TypeError) as exc:
            raise ValueError(
                f"a distance description needs inputs, hidden and classes, got {description!r}"
            ) from exc

    @classmethod
    def fit(
        cls, features: torch.Tensor, labels: torch.Tensor, head_rows: torch.Tensor, inputs: Sequence[str]
    ) -> DistanceTemperature:
        """Gaussians on the backbone's training rows, standardisation on the head's training rows.

        Args:
            features: ``(N, H)`` the backbone's train-split features.
            labels: ``(N,)`` their gold classes.
            head_rows: ``(M, H)`` the features the head trains on (the standardisation's rows).
            inputs: the distances to use.

        Raises:
            ValueError: fewer than two training rows, or bad ``inputs``.
        """
        x = features.detach().double().cpu().numpy()
        y = labels.detach().cpu().numpy()
        if x.ndim != 2 or len(x) < 2:
            raise ValueError(
                f"distance inputs need at least 2 training rows of (N, H) features, got {x.shape}"
            )
        classes = np.unique(y)
        means = np.stack([x[y == c].mean(axis=0) for c in classes])
        module = cls(x.shape[1], len(classes), inputs)
        background = x.mean(axis=0, keepdims=True)
        with torch.no_grad():
            module.class_means.copy_(torch.from_numpy(means))
            module.precision.copy_(torch.from_numpy(_precision(x - means[np.searchsorted(classes, y)])))
            if "relative_mahalanobis" in module.inputs:
                module.background_mean.copy_(torch.from_numpy(background))
                module.background_precision.copy_(torch.from_numpy(_precision(x - background)))
            raw = module.raw_distances(head_rows.detach().float().cpu())
            module.shift.copy_(raw.mean(dim=0))
            module.scale.copy_(raw.std(dim=0, unbiased=False).clamp_min(_STD_FLOOR))
        return module

    def raw_distances(self, z: torch.Tensor) -> torch.Tensor:
        """``(N, k)`` the unstandardised inputs: ``log(1 + min_c MD_c)`` and/or ``min_c MD_c - MD_0``."""
        z = z.to(self.precision.dtype)
        md = _squared(z, self.class_means, self.precision).min(dim=1).values
        columns = []
        for name in self.inputs:
            if name == "mahalanobis":
                columns.append(torch.log1p(md))
            else:
                md0 = _squared(z, self.background_mean, self.background_precision)[:, 0]
                columns.append(md - md0)
        return torch.stack(columns, dim=1)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        phi = (self.raw_distances(z) - self.shift) / self.scale
        out: torch.Tensor = GAIN * (phi @ self.weight + self.bias)
        return out
