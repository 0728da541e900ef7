"""The ALIEN uncertainty head.

An :class:`AlienHead` wraps ``core``: a copy (same module types, same weights)
of the fine-tuned classifier's head, adapted to take the cached pooled feature
``z`` of shape ``(N, H)`` and return logits ``(N, C)``. Its output is

    u(x) = clamp(H(softmax((core(z) + m(x)) * exp(t(z)))) / log C, eps, 1 - eps)

where ``t`` is an optional zero-initialised per-input log-temperature
(:class:`~alien.core.distance.DistanceTemperature`; absent, ``t = 0``) and ``m`` optional
zero-initialised logit offsets from earlier layers' states (:class:`~alien.core.layers.LayerLogits`;
absent, ``m = 0``), so at initialisation it reproduces the backbone's own normalised entropy.
With ``m``, the head's input is ``z`` followed by the layers' states.
Building ``core`` from a Hugging Face model is family specific and lives in
:mod:`alien.core.head_builder`.
"""

from __future__ import annotations

import torch
from torch import nn

from alien.core.distance import DistanceTemperature
from alien.core.layers import LayerLogits
from alien.core.uncertainty import CLAMP_EPS, UNCERTAINTY_KINDS, UncertaintyKind, uncertainty_from_logits


class AlienHead(nn.Module):
    """Uncertainty head ``u(z)`` over a copied classifier head.

    Args:
        core: module mapping features ``(N, H)`` to logits ``(N, C)``.
        num_labels: ``C``.
        kind: ``"entropy"`` (ALIEN) or ``"smoothmax"`` (AdUE variant).
        family: the backbone family the core was copied from (for save/load).
        eps: clamp margin of ``u``.
        temperature: an optional per-input log-temperature of the logits, zero until trained.
        layers: optional logit offsets from earlier layers' states, zero until trained.
    """

    def __init__(
        self,
        core: nn.Module,
        *,
        num_labels: int,
        kind: UncertaintyKind = "entropy",
        family: str = "custom",
        eps: float = CLAMP_EPS,
        temperature: DistanceTemperature | None = None,
        layers: LayerLogits | None = None,
    ) -> None:
        super().__init__()
        if kind not in UNCERTAINTY_KINDS:
            raise ValueError(f"unknown uncertainty kind {kind!r}; choose one of {UNCERTAINTY_KINDS}")
        if num_labels < 2:
            raise ValueError(f"num_labels must be >= 2, got {num_labels}")
        if not 0.0 < eps < 0.5:
            raise ValueError(f"eps must lie in (0, 0.5), got {eps}")
        self.core = core
        self.num_labels = num_labels
        self.kind: UncertaintyKind = kind
        self.family = family
        self.eps = eps
        self.temperature = temperature
        self.layers = layers

    def logits(self, z: torch.Tensor) -> torch.Tensor:
        """Logits ``(N, C)`` of the copied head for features ``(N, H)`` (``(N, H + K H')`` with layers)."""
        x = z
        if self.layers is not None:
            z = z[..., : self.layers.tap]
        out: torch.Tensor = self.core(z)
        if self.layers is not None:
            out = out + self.layers(x)
        if self.temperature is not None:
            out = out * torch.exp(self.temperature(z)).unsqueeze(-1)
        return out

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        """Uncertainty ``(N,)`` in ``[eps, 1 - eps]`` for features ``(N, H)``."""
        return uncertainty_from_logits(self.logits(z), kind=self.kind, eps=self.eps)

    def num_parameters(self) -> int:
        """Number of trainable parameters the head adds."""
        return sum(p.numel() for p in self.parameters())
