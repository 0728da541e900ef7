"""Richer input of the ALIEN head: hidden states of earlier layers, through zero-initialised weights.

The copied classifier head sees only the last layer's pooled feature ``z``. Earlier layers keep
information the last one has discarded, and probes on them detect a model's errors better than
its output does (Orgad et al., 2024, "LLMs know more than they show"; Azaria and Mitchell, 2023,
"The internal state of an LLM knows when it's lying"). :class:`LayerLogits` adds to the copied
head's logits a linear map of the pooled states of the layers ``align.layers`` names,

    logits'(x) = core(z) + W . psi(h_{l1}(x), h_{l2}(x), ...),

with ``psi`` the states standardised per dimension on the head's own training rows and ``W``
initialised at zero. At the start the head is therefore exactly the copied classifier head
(``u`` = the backbone's entropy); L2-SP pulls ``W`` back towards zero like every other weight.

The head's input is then the feature set's ``head_inputs``: ``z`` followed by the layers' states
(:attr:`alien.core.feature_set.FeatureSet.head_inputs`); :func:`alien.core.capture.capture_features`
pools the layers exactly as the model pools ``z`` (first token, last non-pad token, or per token).
The cost at inference is one ``(N, K H) x (K H, C)`` product on top of the backbone's own forward
(``output_hidden_states`` returns states the forward computes anyway).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import nn

from alien.core.feature_set import FeatureSet
from alien.options.align import check_layers

_STD_FLOOR = 1e-6


class LayerLogits(nn.Module):
    """``(N, H + K H') -> (N, C)`` logit offsets from the layers' states; zero until trained.

    Build it with :meth:`fit`; the constructor alone makes the shapes :meth:`load_state_dict` fills.

    Args:
        tap: ``H``, the width of ``z`` (the head input's first columns, which this ignores).
        hidden: ``H'``, the width of one layer's state.
        layers: the layer indices, in the order their states follow ``z``.
        classes: ``C``.
    """

    shift: torch.Tensor
    scale: torch.Tensor

    def __init__(self, tap: int, hidden: int, layers: Sequence[int], classes: int) -> None:
        super().__init__()
        self.layers = check_layers(layers)
        if not self.layers or tap < 1 or hidden < 1 or classes < 2:
            raise ValueError(
                f"need >= 1 layer, tap and hidden >= 1 and >= 2 classes, got "
                f"layers={list(layers)}, tap={tap}, hidden={hidden}, classes={classes}"
            )
        self.tap, self.hidden = tap, hidden
        width = hidden * len(self.layers)
        self.register_buffer("shift", torch.zeros(width))
        self.register_buffer("scale", torch.ones(width))
        self.weight = nn.Parameter(torch.zeros(classes, width))

    @property
    def classes(self) -> int:
        return int(self.weight.shape[0])

    def describe(self) -> dict[str, object]:
        """What :meth:`from_description` needs to rebuild the shapes (saved with the model)."""
        return {"layers": list(self.layers), "tap": self.tap, "hidden": self.hidden, "classes": self.classes}

    @classmethod
    def from_description(cls, description: dict[str, object]) -> LayerLogits:
        try:
            layers = [int(layer) for layer in description["layers"]]  # type: ignore[attr-defined]
            tap, hidden, classes = (int(description[k]) for k in ("tap", "hidden", "classes"))  # type: ignore[call-overload]
        except (KeyError, TypeError) as exc:
            raise ValueError(
                f"a layers description needs layers, tap, hidden and classes, got {description!r}"
            ) from exc
        return cls(tap, hidden, layers, classes)

    @classmethod
    def fit(cls, head_inputs: torch.Tensor, *, tap: int, layers: Sequence[int], classes: int) -> LayerLogits:
        """Zero weights; the standardisation fitted on the rows the head trains on.

        Args:
            head_inputs: ``(M, H + K H')`` the head's training rows (``z`` then the layers' states).
            tap: ``H``.
            layers: the ``K`` layer indices the columns after ``z`` hold, in order.
            classes: ``C``.

        Raises:
            ValueError: fewer than two rows, or columns that do not split into ``K`` states.
        """
        rest = head_inputs.shape[1] - tap
        if head_inputs.ndim != 2 or len(head_inputs) < 2 or not layers or rest <= 0 or rest % len(layers):
            raise ValueError(
                f"layer inputs need >= 2 rows whose {head_inputs.shape[-1]} columns are z ({tap}) "
                f"followed by {len(layers)} equal layer states, got shape {tuple(head_inputs.shape)}"
            )
        module = cls(tap, rest // len(layers), layers, classes)
        states = head_inputs[:, tap:].detach().double().cpu()
        with torch.no_grad():
            module.shift.copy_(states.mean(dim=0))
            module.scale.copy_(states.std(dim=0, unbiased=False).clamp_min(_STD_FLOOR))
        return module

    def forward(self, head_inputs: torch.Tensor) -> torch.Tensor:
        psi = (head_inputs[..., self.tap :] - self.shift) / self.scale
        out: torch.Tensor = psi @ self.weight.T
        return out


def layers_of(head: nn.Module) -> LayerLogits | None:
    """A head's layer inputs (every ensemble member has the same shapes), or ``None``."""
    members = getattr(head, "heads", None) or (head,)
    layers = getattr(members[0], "layers", None)
    return layers if isinstance(layers, LayerLogits) else None


def head_inputs(head: nn.Module, fs: FeatureSet) -> torch.Tensor:
    """What ``head`` reads from ``fs``: ``features``, then the layers' states if the head has layer inputs.

    Raises:
        ValueError: the head reads layers the feature set does not hold (re-extract the features).
    """
    layers = layers_of(head)
    if layers is None:
        return fs.features
    if fs.layer_ids != layers.layers:
        raise ValueError(
            f"the head reads layers {list(layers.layers)} but the features hold "
            f"{list(fs.layer_ids) or 'none'}; extract them with the same align.layers"
        )
    return fs.head_inputs


def text_config(model: nn.Module) -> Any:
    """The config of the model's text part (the model's own config for a text-only model)."""
    config: Any = model.config
    return config.get_text_config() if hasattr(config, "get_text_config") else config


def hidden_size(model: nn.Module) -> int:
    """``H'``: the width of one layer's state (the text model's ``hidden_size``)."""
    return int(text_config(model).hidden_size)


def num_hidden_layers(model: nn.Module) -> int:
    """How many transformer layers the model has (``hidden_states`` holds one more: the embeddings)."""
    return int(text_config(model).num_hidden_layers)
