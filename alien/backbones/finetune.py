"""Fine-tuning a backbone classifier: full fine-tuning or LoRA (merged afterwards).

Training uses the Hugging Face ``Trainer`` on CPU with no reporting
integrations and no checkpoints; LoRA adapters are merged into the base
weights before saving, so the saved folder is a plain model that
``AutoModelFor...Classification`` loads without ``peft``.
"""

from __future__ import annotations

import inspect
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn
from transformers import (
    DataCollatorForTokenClassification,
    DataCollatorWithPadding,
    PreTrainedModel,
    PreTrainedTokenizerBase,
    PrinterCallback,
    Trainer,
    TrainingArguments,
    set_seed,
)

from alien.backbones.loading import TASKS, Task
from alien.config import FinetuneConfig
from alien.core.tokenization import IGNORE_INDEX, tokenize_and_align_labels

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
Record = Mapping[str, Any]


@dataclass(frozen=True)
class FinetuneSummary:
    """What one fine-tuning run did and how well the result classifies validation data."""

    method: str
    train_loss: float
    val_accuracy: float | None
    train_rows: int
    val_rows: int
    seconds: float
    train_samples_per_second: float
    trainable_params: int
    total_params: int
    lora_target_modules: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        out = asdict(self)
        out["lora_target_modules"] = list(self.lora_target_modules)
        return out


def validate_records(records: Sequence[Record], *, task: Task, num_labels: int, split: str) -> None:
    """Check records of one split against the task's schema and the label count.

    Sequence records are ``{"text": str, "label": int}``; token records are
    ``{"tokens": [str, ...], "tags": [int, ...]}`` of equal length (a tag of
    ``-100`` marks an ignored word).

    Raises:
        ValueError: an unknown task, a missing field, a wrong type, or a label
            outside ``[0, num_labels)``; the message names the split and row.
    """
    if task not in TASKS:
        raise ValueError(f"task must be one of {list(TASKS)}, got {task!r}")
    for i, record in enumerate(records):
        where = f"{split} record {i}"
        if not isinstance(record, Mapping):
            raise ValueError(f"{where} must be a mapping, got {type(record).__name__}")
        if task == "sequence-classification":
            text, label = _field(record, "text", where), _field(record, "label", where)
            if not isinstance(text, str):
                raise ValueError(f"{where}: 'text' must be a string, got {type(text).__name__}")
            _check_label(label, num_labels, where, allow_ignore=False)
        else:
            tokens, tags = _field(record, "tokens", where), _field(record, "tags", where)
            if isinstance(tokens, str) or not isinstance(tokens, Sequence) or not tokens:
                raise ValueError(f"{where}: 'tokens' must be a non-empty list of strings, got {tokens!r:.80}")
            if not all(isinstance(t, str) for t in tokens):
                raise ValueError(f"{where}: every item of 'tokens' must be a string")
            if not isinstance(tags, Sequence) or len(tags) != len(tokens):
                raise ValueError(f"{where}: 'tags' must be a list as long as 'tokens' ({len(tokens)})")
            for tag in tags:
                _check_label(tag, num_labels, where, allow_ignore=True)


def _field(record: Record, name: str, where: str) -> Any:
    if name not in record:
        raise ValueError(f"{where} has no {name!r} field (fields: {sorted(record)})")
    return record[name]


def _check_label(label: Any, num_labels: int, where: str, *, allow_ignore: bool) -> None:
    if isinstance(label, bool) or not isinstance(label, int):
        raise ValueError(f"{where}: label {label!r} must be an integer class id")
    if not (0 <= label < num_labels or (allow_ignore and label == IGNORE_INDEX)):
        raise ValueError(
            f"{where}: label {label} is out of range for {num_labels} labels (0..{num_labels - 1})"
        )


def lora_target_modules(model: nn.Module, requested: Sequence[str] = ()) -> tuple[str, ...]:
    """The module-name suffixes LoRA adapts: ``requested`` or the family's attention projections.

    Raises:
        ValueError: the family has no default (set ``finetune.lora_target_modules``)
            or a target matches no Linear-like module of the model.
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


def apply_lora(model: PreTrainedModel, *, config: FinetuneConfig) -> Any:
    """Wrap ``model`` with LoRA adapters; only adapters and the classifier head stay trainable.

    Returns:
        The ``peft.PeftModel`` (``model`` itself is modified in place by peft).
    """
    from peft import LoraConfig, get_peft_model

    lora = LoraConfig(
        r=config.lora_r,
        lora_alpha=config.lora_alpha,
        lora_dropout=config.lora_dropout,
        target_modules=list(lora_target_modules(model, config.lora_target_modules)),
        modules_to_save=list(head_module_names(model)),
        bias="none",
    )
    return get_peft_model(model, lora)


def finetune(
    model: PreTrainedModel,
    tokenizer: PreTrainedTokenizerBase,
    train_records: Sequence[Record],
    val_records: Sequence[Record],
    *,
    config: FinetuneConfig,
    task: Task,
    max_length: int,
    output_dir: str | Path,
) -> FinetuneSummary:
    """Fine-tune ``model`` in place, merge LoRA if used, and save model + tokenizer to ``output_dir``.

    Args:
        model: a ``*ForSequenceClassification`` / ``*ForTokenClassification`` model.
        tokenizer: its tokenizer (with a pad token).
        train_records: non-empty training records (see :func:`validate_records`).
        val_records: validation records (may be empty: no accuracy then).
        config: the ``finetune`` section (method, epochs, batch size, LoRA settings).
        task: ``"sequence-classification"`` or ``"token-classification"``.
        max_length: maximum tokens per example (longer inputs are truncated).
        output_dir: folder to save the merged model and tokenizer into.

    Returns:
        The run's :class:`FinetuneSummary`.

    Raises:
        TypeError: ``config`` is not a :class:`~alien.config.FinetuneConfig`.
        ValueError: empty training data, malformed records, or bad ``max_length``.
    """
    if not isinstance(config, FinetuneConfig):
        raise TypeError(f"config must be a FinetuneConfig, got {type(config).__name__}")
    if not train_records:
        raise ValueError("the train split is empty; fine-tuning needs at least one record")
    if isinstance(max_length, bool) or not isinstance(max_length, int) or max_length < 2:
        raise ValueError(f"max_length must be an integer >= 2, got {max_length!r}")
    num_labels = int(model.config.num_labels or 0)
    validate_records(train_records, task=task, num_labels=num_labels, split="train")
    validate_records(val_records, task=task, num_labels=num_labels, split="validation")
    start = time.perf_counter()
    set_seed(config.seed)
    accepted = _forward_inputs(model)
    train_features = _encode(tokenizer, train_records, task=task, max_length=max_length, keep=accepted)
    val_features = _encode(tokenizer, val_records, task=task, max_length=max_length, keep=accepted)
    collator: Any = (
        DataCollatorForTokenClassification(tokenizer)
        if task == "token-classification"
        else DataCollatorWithPadding(tokenizer)
    )
    targets: tuple[str, ...] = ()
    total = sum(p.numel() for p in model.parameters())
    trained: Any = model
    if config.method == "lora":
        targets = lora_target_modules(model, config.lora_target_modules)
        trained = apply_lora(model, config=config)
    trainable = sum(p.numel() for p in trained.parameters() if p.requires_grad)
    with tempfile.TemporaryDirectory(prefix="alien-trainer-") as scratch:
        trainer = Trainer(
            model=trained,
            args=_training_arguments(config, scratch),
            train_dataset=train_features,  # a list is a map-style dataset
            data_collator=collator,
            processing_class=tokenizer,
        )
        trainer.remove_callback(PrinterCallback)  # stdout belongs to the stage's JSON summary
        output = trainer.train()
    if config.method == "lora":
        merged = trained.merge_and_unload()
        if merged is not model:  # peft merges in place; the caller's model must be the result
            model.load_state_dict(merged.state_dict())
    model.eval()
    val_accuracy = (
        _accuracy(model, collator, val_features, batch_size=config.batch_size) if val_features else None
    )
    out = Path(output_dir)
    out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    return FinetuneSummary(
        method=config.method,
        train_loss=float(output.training_loss),
        val_accuracy=val_accuracy,
        train_rows=len(train_records),
        val_rows=len(val_records),
        seconds=round(time.perf_counter() - start, 3),
        train_samples_per_second=float(output.metrics.get("train_samples_per_second", 0.0)),
        trainable_params=int(trainable),
        total_params=int(total),
        lora_target_modules=targets,
    )


def _training_arguments(config: FinetuneConfig, output_dir: str) -> TrainingArguments:
    return TrainingArguments(
        output_dir=output_dir,
        num_train_epochs=config.epochs,
        per_device_train_batch_size=config.batch_size,
        learning_rate=config.learning_rate,
        weight_decay=config.weight_decay,
        warmup_steps=config.warmup_ratio,  # a float in [0, 1) is a fraction of the steps
        lr_scheduler_type="linear",
        optim="adamw_torch",
        seed=config.seed,
        data_seed=config.seed,
        use_cpu=True,
        report_to="none",
        save_strategy="no",
        eval_strategy="no",
        logging_strategy="no",
        disable_tqdm=True,
        dataloader_num_workers=0,
        dataloader_pin_memory=False,
        remove_unused_columns=False,
    )


def _forward_inputs(model: nn.Module) -> set[str]:
    """Named inputs of the model's forward (a decoder rejects ``token_type_ids``)."""
    params = inspect.signature(model.forward).parameters.values()
    return {p.name for p in params if p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL)}


def _encode(
    tokenizer: PreTrainedTokenizerBase,
    records: Sequence[Record],
    *,
    task: Task,
    max_length: int,
    keep: set[str],
) -> list[dict[str, Any]]:
    """One unpadded feature dict per record, with ``labels``."""
    if not records:
        return []
    if task == "token-classification":
        encoding = tokenize_and_align_labels(
            tokenizer, [r["tokens"] for r in records], [r["tags"] for r in records], max_length=max_length
        )
    else:
        encoding = tokenizer([r["text"] for r in records], truncation=True, max_length=max_length)
        encoding["labels"] = [int(r["label"]) for r in records]
    keys = [k for k in encoding if k in keep]
    return [{k: encoding[k][i] for k in keys} for i in range(len(records))]


@torch.no_grad()
def _accuracy(model: nn.Module, collator: Any, features: list[dict[str, Any]], *, batch_size: int) -> float:
    """Accuracy of the argmax prediction (per labelled token for token classification)."""
    correct = counted = 0
    for begin in range(0, len(features), batch_size):
        batch = collator(features[begin : begin + batch_size])
        labels = batch.pop("labels")
        predictions = model(**batch).logits.argmax(dim=-1)
        mask = labels != IGNORE_INDEX
        correct += int((predictions[mask] == labels[mask]).sum())
        counted += int(mask.sum())
    return correct / counted if counted else float("nan")
