"""One frozen forward pass of a fine-tuned classifier, caching what ALIEN needs.

The pooled feature is captured by a forward pre-hook on the module that
consumes it (see :func:`alien.core.head_builder.head_spec`) and pooled exactly as the
model pools it, so ``build_alien_head(model).logits(z)`` reproduces the model's
own logits. :class:`alien.core.model.AlienClassifier` uses the same capture at
inference, so training and serving see identical features.
"""

from __future__ import annotations

import dataclasses
import inspect
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import torch
from torch import nn
from tqdm.auto import tqdm
from transformers import PreTrainedTokenizerBase

from alien.core.feature_set import FeatureSet
from alien.core.head_builder import HeadSpec, head_spec, num_labels_of
from alien.core.input_checks import check_labelled_inputs
from alien.core.layers import hidden_size, text_config
from alien.core.tokenization import IGNORE_INDEX, pad_encoding, tokenize_and_align_labels
from alien.task import TaskName, get_task

_INPUT_KEYS = ("input_ids", "attention_mask", "token_type_ids")


def check_task(model: nn.Module, task: str) -> None:
    """Raise ``ValueError`` unless ``task`` is known and matches the model's head."""
    is_token = head_spec(model).family == "token"
    if is_token != get_task(task).is_token:
        raise ValueError(
            f"task {task!r} does not match {type(model).__name__}; "
            f"use {'token' if is_token else 'sequence'}-classification"
        )


def _pad_token_id(model: nn.Module) -> int | None:
    pad = getattr(text_config(model), "pad_token_id", None)
    return None if pad is None else int(pad)


def _pool(spec: HeadSpec, captured: torch.Tensor, model: nn.Module, input_ids: torch.Tensor) -> torch.Tensor:
    if spec.pooling in ("as-is", "per-token"):
        return captured
    if spec.pooling == "first-token":
        return captured[:, 0]
    # Mirrors transformers' GenericForSequenceClassification: the rightmost
    # token that is not padding, which handles left and right padding alike.
    pad = _pad_token_id(model)
    rows = torch.arange(captured.shape[0], device=captured.device)
    if pad is None:
        return captured[rows, -1]
    non_pad = (input_ids != pad).to(captured.device, torch.int32)
    positions = torch.arange(input_ids.shape[-1], device=captured.device, dtype=torch.int32)
    return captured[rows, (positions * non_pad).argmax(-1)]


def model_inputs(model: nn.Module, batch: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """The tokenizer outputs ``model.forward`` accepts (decoders take no ``token_type_ids``)."""
    accepted = inspect.signature(model.forward).parameters
    return {k: v for k, v in batch.items() if k in _INPUT_KEYS and (k in accepted or k != "token_type_ids")}


# One persistent pre-hook per tapped module, recording into the calling thread's slot only.
# A hook added per call on a shared module fires for every concurrent forward, so two
# overlapping predictions (a model server's thread pool) would fill each other's lists.
_SLOT = threading.local()
_INSTALL = threading.Lock()


def _record(module: nn.Module, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    slot = getattr(_SLOT, "value", None)
    if slot is not None and slot[0] is module:
        slot[1].append(args[0] if args else next(iter(kwargs.values())))


def _ensure_hook(tap: nn.Module) -> None:
    if _record in tap._forward_pre_hooks.values():
        return
    with _INSTALL:
        if _record not in tap._forward_pre_hooks.values():
            tap.register_forward_pre_hook(_record, with_kwargs=True)


def capture_features(
    model: nn.Module,
    batch: dict[str, torch.Tensor],
    *,
    spec: HeadSpec | None = None,
    layers: Sequence[int] = (),
) -> tuple[torch.Tensor, torch.Tensor]:
    """Run ``model`` on a tokenised batch and return ``(features, logits)``.

    Shapes: ``(B, H)`` and ``(B, C)`` for sequence classification, ``(B, L, H)``
    and ``(B, L, C)`` for token classification. With ``layers`` (indices of the
    model's ``hidden_states``, counted from the top), the features are followed by
    those layers' states, pooled as the feature is (:func:`pool_layer`): ``H + K H'``
    columns, from the same forward. The caller chooses the grad mode and the
    model's train/eval mode. Safe to call from several threads at once on one
    model: each call sees only its own forward's feature.
    """
    spec = spec or head_spec(model)
    _ensure_hook(spec.tap)
    captured: list[torch.Tensor] = []
    outer = getattr(_SLOT, "value", None)
    _SLOT.value = (spec.tap, captured)
    try:
        out = model(**model_inputs(model, batch), **({"output_hidden_states": True} if layers else {}))
    finally:
        _SLOT.value = outer
    if len(captured) != 1:
        raise RuntimeError(
            f"expected {type(spec.tap).__name__} to run once per forward, ran {len(captured)} times"
        )
    z = _pool(spec, captured[0], model, batch["input_ids"])
    if layers:
        states = [pool_layer(spec, out.hidden_states[i], model, batch["input_ids"]) for i in layers]
        z = torch.cat([z, *states], dim=-1)
    return z, out.logits


def pool_layer(
    spec: HeadSpec, state: torch.Tensor, model: nn.Module, input_ids: torch.Tensor
) -> torch.Tensor:
    """One layer's ``(B, L, H)`` state pooled as the family pools its feature.

    Families whose tap receives an already pooled vector (``as-is``: the first token's,
    e.g. DistilBERT) take the first token; the others pool exactly as the tap's input is pooled.
    """
    pooling = "first-token" if spec.pooling == "as-is" else spec.pooling
    return _pool(dataclasses.replace(spec, pooling=pooling), state, model, input_ids)


@contextmanager
def frozen(model: nn.Module) -> Iterator[None]:
    """Eval mode and no autograd for the block; the model's train flag is restored after."""
    was_training = model.training
    model.eval()
    try:
        with torch.inference_mode():
            yield
    finally:
        model.train(was_training)


def encode(
    tokenizer: PreTrainedTokenizerBase,
    inputs: Sequence[Any],
    *,
    task: str,
    max_length: int,
    labels: Sequence[Sequence[int]] | None = None,
) -> dict[str, torch.Tensor]:
    """Tokenise and pad one batch; token tasks get word-aligned ``labels`` (``-100`` elsewhere).

    Without ``labels`` a token-task batch gets each word's index as its
    "label", so ``labels`` maps first sub-tokens back to words (and ``-100``
    marks every other token).
    """
    if not get_task(task).is_token:
        if tokenizer.pad_token_id is None:
            raise ValueError("the tokenizer has no pad token; set tokenizer.pad_token (e.g. to eos) first")
        out = tokenizer(
            list(inputs), padding=True, truncation=True, max_length=max_length, return_tensors="pt"
        )
        return dict(out.items())
    word_labels = labels if labels is not None else [list(range(len(words))) for words in inputs]
    encoding = tokenize_and_align_labels(tokenizer, inputs, word_labels, max_length=max_length)
    return pad_encoding(tokenizer, encoding)


def _labelled_rows(
    z: torch.Tensor,
    logits: torch.Tensor,
    batch: dict[str, torch.Tensor],
    chunk_labels: list[Any],
    *,
    start: int,
    token: bool,
) -> tuple[torch.Tensor, ...]:
    """``(features, logits, labels, example ids)`` of one batch; token tasks keep labelled words only."""
    n = z.shape[0]
    if token:
        keep = batch["labels"] != IGNORE_INDEX
        rows = torch.arange(start, start + n, device=z.device)[:, None].expand_as(keep)
        return z[keep], logits[keep], batch["labels"][keep], rows[keep]
    return z, logits, torch.tensor(chunk_labels, dtype=torch.long), torch.arange(start, start + n)


def _forward_batch(
    model: nn.Module,
    tokenizer: PreTrainedTokenizerBase,
    chunk: Sequence[Any],
    chunk_labels: list[Any],
    *,
    spec: HeadSpec,
    task: TaskName,
    start: int,
    max_length: int,
    layers: Sequence[int] = (),
) -> tuple[torch.Tensor, ...]:
    """One frozen forward pass over a batch: its labelled rows (features, logits, labels, ids)."""
    token = get_task(task).is_token
    batch = encode(tokenizer, chunk, task=task, max_length=max_length, labels=chunk_labels if token else None)
    device = next(model.parameters()).device
    batch = {k: v.to(device) for k, v in batch.items()}
    z, logits = capture_features(model, batch, spec=spec, layers=layers)
    return _labelled_rows(z, logits, batch, chunk_labels, start=start, token=token)


def extract_features(
    model: nn.Module,
    tokenizer: PreTrainedTokenizerBase,
    texts_or_words: Sequence[str] | Sequence[Sequence[str]],
    labels: Sequence[int] | Sequence[Sequence[int]],
    *,
    task: TaskName = "sequence-classification",
    batch_size: int = 32,
    max_length: int = 128,
    progress: bool = True,
    desc: str = "features",
    layers: Sequence[int] = (),
) -> FeatureSet:
    """Cache pooled features, logits and labels of one split with a frozen forward pass.

    Args:
        model: the fine-tuned classifier (any supported family, see :mod:`alien.core.head_builder`).
        tokenizer: its tokenizer (fast, for token tasks).
        texts_or_words: ``N`` texts, or ``N`` lists of words for token classification.
        labels: ``N`` class ids, or ``N`` lists of word labels (``-100`` ignores a word).
        task: ``"sequence-classification"`` or ``"token-classification"``.
        batch_size: examples per forward pass.
        max_length: truncation length in tokens.
        progress: a tqdm bar, labelled ``desc``, where stderr is a terminal (none in logs).
        layers: earlier layers whose pooled states are kept too (:class:`FeatureSet` ``layers``).

    Returns:
        A :class:`FeatureSet`; for token tasks one row per labelled word (its
        first sub-token) with ``example_ids``; words truncated away are dropped.

    Raises:
        ValueError, TypeError: see :func:`alien.core.input_checks.check_labelled_inputs`;
            also an unknown task or one that does not match the model.
    """
    check_task(model, task)
    token = get_task(task).is_token
    checked = check_labelled_inputs(
        texts_or_words, labels, task, num_labels_of(model), sizes=(batch_size, max_length)
    )
    spec = head_spec(model)
    parts: dict[str, list[torch.Tensor]] = {"features": [], "logits": [], "labels": [], "example_ids": []}
    with frozen(model):
        for start in tqdm(range(0, len(checked), batch_size), desc=desc, disable=None if progress else True):
            rows = _forward_batch(
                model,
                tokenizer,
                texts_or_words[start : start + batch_size],
                checked[start : start + batch_size],
                spec=spec,
                task=task,
                start=start,
                max_length=max_length,
                layers=layers,
            )
            for key, value in zip(parts, rows, strict=True):
                parts[key].append(value.detach().cpu())
    return _feature_set(parts, model, layers, token=token)


def _feature_set(
    parts: dict[str, list[torch.Tensor]], model: nn.Module, layers: Sequence[int], *, token: bool
) -> FeatureSet:
    """The batches' rows as one :class:`FeatureSet`; ``z`` and the layers' states split apart."""
    cat = {k: torch.cat(v) for k, v in parts.items()}
    wide = cat["features"].float()
    tap = wide.shape[1] - len(layers) * hidden_size(model) if layers else wide.shape[1]
    return FeatureSet(
        features=wide[:, :tap] if layers else wide,
        logits=cat["logits"].float(),
        labels=cat["labels"].long(),
        example_ids=cat["example_ids"].long() if token else None,
        layers=wide[:, tap:] if layers else None,
        layer_ids=tuple(layers),
    )
