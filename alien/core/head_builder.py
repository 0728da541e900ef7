"""Build an :class:`~alien.core.head.AlienHead` from a fine-tuned Hugging Face classifier.

Families are recognised by module structure, not by model name:

* ``bert``: a ``classifier`` Linear fed by the base model's pooler
  (``dense`` + ``activation`` on the first token). Feature = first-token hidden
  state; core = pooler + dropout + classifier. Without a pooler the feature is
  the classifier's own input and the core is the classifier alone.
* ``classification-head``: RoBERTa/ELECTRA/MPNet/XLM-R style ``classifier``
  module (with ``out_proj``) that picks token 0 itself. Feature = first-token
  hidden state; core = the classifier applied to ``z[:, None, :]``.
* ``distilbert``: ``pre_classifier`` + ReLU + ``classifier``. Feature = first
  token hidden state.
* ``decoder``: ``score`` Linear (Llama/Qwen/Mistral/GPT-2
  ``*ForSequenceClassification``). Feature = hidden state at the rightmost
  non-pad token, pooled exactly as transformers pools the logits.
* ``token``: ``*ForTokenClassification`` with a ``classifier`` Linear. Feature =
  each token's sequence output.

:func:`head_spec` says which module's input carries the feature and how to
pool it; :mod:`alien.core.capture` uses it to capture features with a forward
pre-hook, so the captured ``z`` reproduces the model's own logits.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any, Literal

import torch
from torch import nn

from alien.core.distance import DistanceTemperature
from alien.core.head import AlienHead
from alien.core.layers import LayerLogits, layers_of
from alien.core.uncertainty import CLAMP_EPS, UncertaintyKind

Family = Literal["bert", "classification-head", "distilbert", "decoder", "token"]
FAMILIES: tuple[str, ...] = ("bert", "classification-head", "distilbert", "decoder", "token")
Pooling = Literal["first-token", "as-is", "last-non-pad", "per-token"]


@dataclass(frozen=True)
class HeadSpec:
    """Where a family's feature is captured and how it is pooled.

    Attributes:
        family: one of :data:`FAMILIES`.
        tap: the module whose first input is captured by a forward pre-hook.
        pooling: ``first-token`` (``x[:, 0]`` of ``(B, L, H)``), ``as-is``
            (already ``(B, H)``), ``last-non-pad`` (decoder pooling) or
            ``per-token`` (``(B, L, H)`` kept whole).
    """

    family: str
    tap: nn.Module
    pooling: Pooling


class _AddTokenAxis(nn.Module):
    """``(N, H) -> (N, 1, H)`` so a first-token head sees ``z`` as token 0."""

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return z.unsqueeze(1)


def _sub(module: nn.Module, name: str) -> nn.Module:
    """Attribute ``name`` of ``module``, which :func:`detect_family` has checked is a module."""
    sub = getattr(module, name)
    if not isinstance(sub, nn.Module):
        raise TypeError(f"{type(module).__name__}.{name} is not a torch module")
    return sub


def _is_token_model(model: nn.Module) -> bool:
    return type(model).__name__.endswith("ForTokenClassification")


def _pooler(model: nn.Module) -> nn.Module | None:
    base = getattr(model, "base_model", None)
    pooler = getattr(base, "pooler", None) if base is not None else None
    return pooler if isinstance(pooler, nn.Module) else None


def _unsupported(model: nn.Module) -> ValueError:
    return ValueError(
        f"cannot build an ALIEN head for {type(model).__name__}: expected a *ForSequenceClassification or "
        f"*ForTokenClassification model with a supported head; supported families: {list(FAMILIES)} "
        "(a `classifier` Linear with a BERT pooler, a `classifier` module with `out_proj`, "
        "`pre_classifier` + `classifier`, a decoder `score` Linear, or a token `classifier` Linear)"
    )


def detect_family(model: nn.Module) -> str:
    """The ALIEN head family of a Hugging Face classifier.

    Args:
        model: a ``*ForSequenceClassification`` or ``*ForTokenClassification`` model.

    Returns:
        One of :data:`FAMILIES`.

    Raises:
        TypeError: ``model`` is not a torch module.
        ValueError: the head's structure is not supported (names the class and the families).
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module (a Hugging Face model), got {type(model).__name__}")
    name = type(model).__name__
    if name.startswith("Peft"):
        raise ValueError(f"{name}: merge the LoRA adapters first (model = model.merge_and_unload())")
    if not name.endswith(("ForSequenceClassification", "ForTokenClassification")):
        # Other heads (multiple choice, QA, LM) also carry `classifier`/`score`
        # modules but do not produce one label distribution per input or token.
        raise _unsupported(model)
    classifier = getattr(model, "classifier", None)
    if _is_token_model(model):
        if isinstance(classifier, nn.Linear):
            return "token"
        raise _unsupported(model)
    if isinstance(getattr(model, "score", None), nn.Linear):
        return "decoder"
    if isinstance(classifier, nn.Module) and isinstance(getattr(classifier, "out_proj", None), nn.Linear):
        return "classification-head"
    if isinstance(classifier, nn.Linear) and isinstance(getattr(model, "pre_classifier", None), nn.Linear):
        return "distilbert"
    if isinstance(classifier, nn.Linear) and hasattr(getattr(model, "base_model", None), "pooler"):
        return "bert"
    raise _unsupported(model)


def _bert_pooler(model: nn.Module) -> nn.Module | None:
    """The BERT-style pooler (``dense`` + ``activation`` on token 0), or ``None`` if absent."""
    pooler = _pooler(model)
    if pooler is None:
        return None
    if isinstance(getattr(pooler, "dense", None), nn.Linear) and hasattr(pooler, "activation"):
        return pooler
    raise _unsupported(model)


def head_spec(model: nn.Module) -> HeadSpec:
    """Where the pooled feature of ``model`` is captured and how it is pooled.

    Raises:
        ValueError: unsupported head structure (see :func:`detect_family`).
    """
    family = detect_family(model)
    if family == "token":
        return HeadSpec(family, _sub(model, "classifier"), "per-token")
    if family == "decoder":
        return HeadSpec(family, _sub(model, "score"), "last-non-pad")
    if family == "classification-head":
        return HeadSpec(family, _sub(model, "classifier"), "first-token")
    if family == "distilbert":
        return HeadSpec(family, _sub(model, "pre_classifier"), "as-is")
    pooler = _bert_pooler(model)
    if pooler is None:
        return HeadSpec(family, _sub(model, "classifier"), "as-is")
    return HeadSpec(family, pooler, "first-token")


def _core(model: nn.Module, family: str) -> nn.Module:
    """An independent copy of the model's classifier head mapping ``(N, H)`` to ``(N, C)``."""
    if family in ("token", "decoder"):
        return copy.deepcopy(_sub(model, "classifier" if family == "token" else "score"))
    if family == "classification-head":
        return nn.Sequential(_AddTokenAxis(), copy.deepcopy(_sub(model, "classifier")))
    # Dropout is copied too: it is part of the fine-tuned head and a no-op in eval mode.
    dropout = getattr(model, "dropout", None)
    tail = [copy.deepcopy(dropout)] if isinstance(dropout, nn.Dropout) else []
    if family == "distilbert":
        return nn.Sequential(
            copy.deepcopy(_sub(model, "pre_classifier")),
            nn.ReLU(),
            *tail,
            copy.deepcopy(_sub(model, "classifier")),
        )
    classifier = copy.deepcopy(_sub(model, "classifier"))
    pooler = _bert_pooler(model)
    if pooler is None:
        return classifier
    return nn.Sequential(_AddTokenAxis(), copy.deepcopy(pooler), *tail, classifier)


def num_labels_of(model: nn.Module) -> int:
    """``config.num_labels`` of a Hugging Face model (``TypeError`` if it has no config)."""
    config = getattr(model, "config", None)
    if config is None or not hasattr(config, "num_labels"):
        raise TypeError(f"{type(model).__name__} has no `config.num_labels`; pass a Hugging Face classifier")
    return int(config.num_labels)


def build_alien_head(
    model: nn.Module,
    *,
    kind: UncertaintyKind = "entropy",
    eps: float = CLAMP_EPS,
    temperature: DistanceTemperature | None = None,
    layers: LayerLogits | None = None,
) -> AlienHead:
    """An ALIEN head whose core is a float32 copy of ``model``'s classification head.

    At initialisation ``head(z)`` equals the model's own (clamped) normalised
    entropy for features ``z`` extracted by :func:`alien.core.capture.extract_features`.

    Args:
        model: a fine-tuned ``*ForSequenceClassification``/``*ForTokenClassification``
            model (LoRA adapters merged).
        kind: ``"entropy"`` (ALIEN) or ``"smoothmax"`` (AdUE).
        eps: clamp margin of ``u``.
        temperature: zero-initialised distance inputs
            (:meth:`~alien.core.distance.DistanceTemperature.fit`); the start stays exact.
        layers: zero-initialised logit offsets from earlier layers' states
            (:meth:`~alien.core.layers.LayerLogits.fit`); the start stays exact.

    Returns:
        An :class:`AlienHead` in eval mode, sharing no parameters with ``model``.

    Raises:
        ValueError: unsupported head structure, unknown ``kind`` or bad ``eps``.
        TypeError: ``model`` is not a Hugging Face model.
    """
    family = detect_family(model)
    core = _core(model, family).float()
    for p in core.parameters():
        p.requires_grad_(True)
    head = AlienHead(
        core, num_labels=num_labels_of(model), kind=kind, family=family, eps=eps,
        temperature=temperature, layers=layers,
    )  # fmt: skip
    return head.eval()


def heads_from_metadata(model: nn.Module, meta: dict[str, Any]) -> list[AlienHead]:
    """Untrained heads of the shapes a saved model's ``alien.json`` describes (one per ensemble member)."""
    distance, layers = meta.get("distance"), meta.get("layers")
    return [
        build_alien_head(
            model,
            kind=meta["kind"],
            eps=float(meta["eps"]),
            temperature=None if distance is None else DistanceTemperature.from_description(distance),
            layers=None if layers is None else LayerLogits.from_description(layers),
        )
        for _ in range(int(meta.get("members", 1)))
    ]


def distance_description(head: nn.Module) -> dict[str, object] | None:
    """The shapes of a head's distance inputs (every ensemble member has the same), or ``None``."""
    members = getattr(head, "heads", None) or (head,)
    temperature = getattr(members[0], "temperature", None)
    return temperature.describe() if isinstance(temperature, DistanceTemperature) else None


def layers_description(head: nn.Module) -> dict[str, object] | None:
    """The shapes of a head's layer inputs, or ``None`` (saved in ``alien.json``)."""
    layers = layers_of(head)
    return None if layers is None else layers.describe()
