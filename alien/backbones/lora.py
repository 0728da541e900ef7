"""LoRA for classifiers: which modules to adapt per model family, and wrapping a model with peft.

The paper adapts the attention query/value projections (r=8); the classifier
head modules are trained in full (``modules_to_save``), since the ALIEN head
is a copy of them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from torch import nn
from transformers import PreTrainedModel

# The attention query/value projections of each family (the paper's LoRA targets).
LORA_TARGETS: dict[str, tuple[str, ...]] = {
    "bert": ("query", "value"),
    "roberta": ("query", "value"),
    "xlm-roberta": ("query", "value"),
    "electra": ("query", "value"),
    "camembert": ("query", "value"),
    "mpnet": ("q", "v"),
    "distilbert": ("q_lin", "v_lin"),
    "deberta-v2": ("query_proj", "value_proj"),
    "llama": ("q_proj", "v_proj"),
    "mistral": ("q_proj", "v_proj"),
    "qwen2": ("q_proj", "v_proj"),
    "qwen3": ("q_proj", "v_proj"),
    "gemma": ("q_proj", "v_proj"),
    "phi3": ("qkv_proj",),
    "gpt2": ("c_attn",),
}
# Classifier-head modules, trained in full under LoRA (the ALIEN head copies them).
HEAD_MODULES = ("pooler", "pre_classifier", "classifier", "score")


def lora_target_modules(model: nn.Module, requested: Sequence[str] = ()) -> tuple[str, ...]:
    """The module-name suffixes LoRA adapts: ``requested`` or the family's attention projections.

    Raises:
        ValueError: the family has no default (name the targets, e.g.
            ``finetune.lora_target_modules``) or a target matches no leaf module of the model.
    """
    if requested:
        targets = tuple(requested)
    else:
        model_type = str(getattr(getattr(model, "config", None), "model_type", ""))
        from peft.utils.constants import TRANSFORMERS_MODELS_TO_LORA_TARGET_MODULES_MAPPING as PEFT_TARGETS

        defaults = LORA_TARGETS.get(model_type) or tuple(PEFT_TARGETS.get(model_type, ()))
        if not defaults:
            raise ValueError(
                f"no default LoRA target modules for model type {model_type!r} "
                f"(known: {sorted(LORA_TARGETS)}); set finetune.lora_target_modules"
            )
        targets = defaults
    leaf_names = {
        name.rsplit(".", 1)[-1] for name, module in model.named_modules() if not list(module.children())
    }
    missing = [t for t in targets if t not in leaf_names]
    if missing:
        raise ValueError(
            f"LoRA target module(s) {missing} not found in the model; leaf modules: {sorted(leaf_names)}"
        )
    return targets


def head_module_names(model: nn.Module) -> tuple[str, ...]:
    """Suffixes of the classifier-head modules present in ``model`` (trained in full under LoRA)."""
    present = {name.rsplit(".", 1)[-1] for name, _ in model.named_modules()}
    return tuple(name for name in HEAD_MODULES if name in present)


def apply_lora(
    model: PreTrainedModel,
    *,
    r: int = 8,
    alpha: int = 16,
    dropout: float = 0.1,
    target_modules: Sequence[str] = (),
) -> Any:
    """Wrap ``model`` with LoRA adapters; only adapters and the classifier head stay trainable.

    Args:
        model: a Hugging Face classifier.
        r: adapter rank (>= 1).
        alpha: LoRA scaling numerator.
        dropout: dropout on the adapter input, in ``[0, 1)``.
        target_modules: module-name suffixes to adapt (empty: :func:`lora_target_modules`' defaults).

    Returns:
        The ``peft.PeftModel`` (``model`` itself is modified in place by peft).

    Raises:
        ValueError: ``r`` < 1, ``dropout`` outside ``[0, 1)``, or see :func:`lora_target_modules`.
    """
    if isinstance(r, bool) or not isinstance(r, int) or r < 1:
        raise ValueError(f"LoRA rank r must be an integer >= 1, got {r!r}")
    if not 0 <= dropout < 1:
        raise ValueError(f"LoRA dropout must lie in [0, 1), got {dropout!r}")
    from peft import LoraConfig, get_peft_model

    lora = LoraConfig(
        r=r,
        lora_alpha=alpha,
        lora_dropout=dropout,
        target_modules=list(lora_target_modules(model, target_modules)),
        modules_to_save=list(head_module_names(model)),
        bias="none",
    )
    return get_peft_model(model, lora)
