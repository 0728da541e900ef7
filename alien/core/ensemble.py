"""An average of ALIEN heads that serves where one head does.

Selecting ``top_k > 1`` configs of the grid returns their mean uncertainty as
one module with the :class:`~alien.core.head.AlienHead` interface
(``forward(z) -> u``, ``logits``, ``family``, ``kind``, ``eps``,
``num_labels``, ``num_parameters``), so the deployable model and the
evaluation use it unchanged.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from alien.core.head import AlienHead
from alien.core.uncertainty import UncertaintyKind


class AlienHeadEnsemble(nn.Module):
    """Mean ``u`` of several ALIEN heads over the same features.

    Args:
        members: heads that agree on ``num_labels``, ``kind``, ``family`` and ``eps``.

    Raises:
        TypeError: a member that is not an :class:`AlienHead`.
        ValueError: no members, or members that disagree on those attributes.
    """

    def __init__(self, members: Sequence[AlienHead]) -> None:
        super().__init__()
        members = list(members)
        if not members:
            raise ValueError("an ensemble needs at least one member head")
        for m in members:
            if not isinstance(m, AlienHead):
                raise TypeError(f"ensemble members must be AlienHead, got {type(m).__name__}")
        first = members[0]
        for attr in ("num_labels", "kind", "family", "eps"):
            values = sorted({str(getattr(m, attr)) for m in members})
            if len(values) > 1:
                raise ValueError(f"ensemble members disagree on {attr}: {values}")
        self.members = nn.ModuleList(members)
        self._heads: tuple[AlienHead, ...] = tuple(members)  # typed view of the same modules
        self.num_labels: int = first.num_labels
        self.kind: UncertaintyKind = first.kind
        self.family: str = first.family
        self.eps: float = first.eps

    def __len__(self) -> int:
        return len(self.members)

    @property
    def heads(self) -> tuple[AlienHead, ...]:
        """The members, typed."""
        return self._heads

    def logits(self, z: torch.Tensor) -> torch.Tensor:
        """Mean of the members' logits ``(N, C)``; ``u`` is the mean of their ``u``, not these logits' entropy."""
        return torch.stack([m.logits(z) for m in self._heads]).mean(0)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        """Mean uncertainty ``(N,)`` of the members, in ``[eps, 1 - eps]`` like each of theirs."""
        return torch.stack([m(z) for m in self._heads]).mean(0)

    def num_parameters(self) -> int:
        """Parameters of all members together (what the ensemble adds to the backbone)."""
        return sum(m.num_parameters() for m in self._heads)
