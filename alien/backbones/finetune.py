"""Fine-tuning a backbone classifier: full fine-tuning or LoRA (merged afterwards).

Plain options, no pipeline config: ``finetune(model, tokenizer, train, val,
task=..., max_length=..., output_dir=..., method="lora", epochs=2)`` works from a
notebook (the keywords are :class:`~alien.options.finetune.FinetuneOptions`
fields). Training uses the Hugging Face ``Trainer`` with no reporting
integrations and no checkpoints; LoRA adapters are merged into the base weights
before saving, so the saved folder is a plain model that
``AutoModelFor...Classification`` loads without ``peft``. Under ``torchrun``
every process trains on its share of each batch (DDP: gloo on CPU, NCCL on
GPU) and only rank 0 measures validation accuracy and saves.
"""

from __future__ import annotations

import contextlib
import tempfile
import time
from collections.abc import Iterator, Sequence
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
    TrainingArguments,
    set_seed,
)

from alien.backbones import distributed
from alien.backbones.batching import LengthGroupedSampler, SamplerTrainer
from alien.backbones.lora import apply_lora, lora_target_modules
from alien.backbones.plan import Device, check_launch, resolve_options
from alien.backbones.progress import FinetuneProgress
from alien.backbones.records import Record, encode_records, forward_inputs, validate_records
from alien.options.finetune import FinetuneOptions
from alien.task import IGNORE_INDEX, Task, TaskName, get_task


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
    processes: int
    log_history: tuple[dict[str, float], ...]  # the Trainer's loss / learning-rate points, by step

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        out = asdict(self)
        out["lora_target_modules"] = list(self.lora_target_modules)
        out["log_history"] = [dict(point) for point in self.log_history]
        return out


def finetune(
    model: PreTrainedModel,
    tokenizer: PreTrainedTokenizerBase,
    train_records: Sequence[Record],
    val_records: Sequence[Record],
    options: FinetuneOptions | None = None,
    *,
    task: TaskName | Task,
    max_length: int,
    output_dir: str | Path | None = None,
    device: Device = "cpu",
    **overrides: Any,
) -> FinetuneSummary:
    """Fine-tune ``model`` in place, merge LoRA if used, and save model + tokenizer to ``output_dir``.

    Args:
        model: a ``*ForSequenceClassification`` / ``*ForTokenClassification`` model.
        tokenizer: its tokenizer (with a pad token).
        train_records: non-empty training records (see :func:`~alien.backbones.records.validate_records`).
        val_records: validation records (may be empty: no accuracy then).
        options: how to train (default :class:`~alien.options.finetune.FinetuneOptions`'s); each
            keyword of ``**overrides`` replaces one of its fields (``method="lora"``, ``epochs=3``, ...).
        task: ``"sequence-classification"`` or ``"token-classification"`` (or a :class:`~alien.task.Task`).
        max_length: maximum tokens per example (longer inputs are truncated).
        output_dir: folder to save the merged model and tokenizer into (``None``: not saved).
        device: ``"cpu"`` (gloo under torchrun) or ``"cuda"`` (NCCL under torchrun).

    Raises:
        TypeError: an unknown option, or one of the wrong type (the message names it).
        ValueError: empty or malformed records, a bad ``max_length`` or option, or a missing LoRA target.
    """
    plan = resolve_options(options, overrides)
    check_launch(plan, device)
    kind = get_task(task)
    _check_inputs(model, train_records, val_records, task=kind, max_length=max_length)
    start = time.perf_counter()
    train, val, collator = _features(
        tokenizer, train_records, val_records, model, task=kind, max_length=max_length
    )
    total = sum(p.numel() for p in model.parameters())
    targets, trained = _prepare(model, plan)
    trainable = sum(p.numel() for p in trained.parameters() if p.requires_grad)
    with _torch_threads(plan.threads):
        output, history = _train(trained, tokenizer, train, collator, plan, device=device)
        _merge_into(model, trained, plan)
        accuracy = _save_and_score(model, tokenizer, collator, val, plan=plan, output_dir=output_dir)
    return FinetuneSummary(
        method=plan.method,
        train_loss=float(output.training_loss),
        val_accuracy=accuracy,
        train_rows=len(train_records),
        val_rows=len(val_records),
        seconds=round(time.perf_counter() - start, 3),
        train_samples_per_second=float(output.metrics.get("train_samples_per_second", 0.0)),
        trainable_params=int(trainable),
        total_params=int(total),
        lora_target_modules=targets,
        processes=distributed.world_size(),
        log_history=history,
    )


@contextlib.contextmanager
def _torch_threads(threads: int | None) -> Iterator[None]:
    """torch's intra-op thread count set to ``threads`` for the block (``None``: left as it is), then restored."""
    if threads is None:
        yield
        return
    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _features(
    tokenizer: PreTrainedTokenizerBase,
    train_records: Sequence[Record],
    val_records: Sequence[Record],
    model: nn.Module,
    *,
    task: Task,
    max_length: int,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], Any]:
    """Encoded train and validation features (only inputs ``model`` accepts), and their collator."""
    keep = forward_inputs(model)
    train, val = (
        encode_records(tokenizer, records, task=task, max_length=max_length, keep=keep)
        for records in (train_records, val_records)
    )
    collator = (
        DataCollatorForTokenClassification(tokenizer) if task.is_token else DataCollatorWithPadding(tokenizer)
    )
    return train, val, collator


def _save_and_score(
    model: PreTrainedModel,
    tokenizer: PreTrainedTokenizerBase,
    collator: Any,
    val: list[dict[str, Any]],
    *,
    plan: FinetuneOptions,
    output_dir: str | Path | None,
) -> float | None:
    """On rank 0 only: save model + tokenizer to ``output_dir`` (if any); validation accuracy (if rows)."""
    if not distributed.is_main_process():
        return None
    if output_dir is not None:
        Path(output_dir).mkdir(parents=True, exist_ok=True)
        model.save_pretrained(output_dir)
        tokenizer.save_pretrained(output_dir)
    return _accuracy(model, collator, val, batch_size=plan.batch_size) if val else None


def _check_inputs(
    model: PreTrainedModel, train: Sequence[Record], val: Sequence[Record], *, task: Task, max_length: int
) -> None:
    if not train:
        raise ValueError("the train split is empty; fine-tuning needs at least one record")
    if isinstance(max_length, bool) or not isinstance(max_length, int) or max_length < 2:
        raise ValueError(f"max_length must be an integer >= 2, got {max_length!r}")
    num_labels = int(model.config.num_labels or 0)
    validate_records(train, task=task, num_labels=num_labels, split="train")
    validate_records(val, task=task, num_labels=num_labels, split="validation")


def _prepare(model: PreTrainedModel, plan: FinetuneOptions) -> tuple[tuple[str, ...], Any]:
    """The LoRA targets and the module to train: ``model`` itself, or its peft wrapper (seeded first)."""
    set_seed(plan.seed)  # before anything draws: LoRA's initialisation, then the Trainer
    if plan.method != "lora":
        return (), model
    targets = lora_target_modules(model, plan.lora_target_modules)
    wrapped = apply_lora(
        model, r=plan.lora_r, alpha=plan.lora_alpha, dropout=plan.lora_dropout, target_modules=targets
    )
    return targets, wrapped


def _train(
    model: Any,
    tokenizer: PreTrainedTokenizerBase,
    features: list[dict[str, Any]],
    collator: Any,
    plan: FinetuneOptions,
    *,
    device: Device,
) -> tuple[Any, tuple[dict[str, float], ...]]:
    """Train; the Trainer's output and its per-step log points (loss, learning rate, grad norm)."""
    sampler = (
        LengthGroupedSampler(
            [len(f["input_ids"]) for f in features], batch_size=plan.batch_size, seed=plan.seed
        )
        if plan.group_by_length
        else None
    )
    with tempfile.TemporaryDirectory(prefix="alien-trainer-") as scratch:
        trainer = SamplerTrainer(
            model=model,
            args=_training_arguments(plan, scratch, device=device),
            train_dataset=features,  # a list is a map-style dataset
            data_collator=collator,
            processing_class=tokenizer,
            train_sampler=sampler,
        )
        trainer.remove_callback(PrinterCallback)  # stdout belongs to the stage's JSON summary
        trainer.add_callback(FinetuneProgress())  # bar with ETA on a TTY, a line per epoch otherwise
        output = trainer.train()
    points = tuple(
        {k: float(v) if k != "step" else int(v) for k, v in entry.items() if isinstance(v, int | float)}
        for entry in trainer.state.log_history
        if "loss" in entry  # the closing summary entry (train_runtime, ...) is in the summary already
    )
    return output, points


def _merge_into(model: PreTrainedModel, trained: Any, plan: FinetuneOptions) -> None:
    """Leave the caller's ``model`` holding the trained weights, on CPU, in eval mode."""
    if plan.method == "lora":
        merged = trained.merge_and_unload()
        if merged is not model:  # peft merges in place; the caller's model must be the result
            model.load_state_dict(merged.state_dict())
    model.cpu()
    model.eval()


def _training_arguments(plan: FinetuneOptions, output_dir: str, *, device: Device) -> TrainingArguments:
    processes = distributed.world_size()
    return TrainingArguments(
        output_dir=output_dir,
        num_train_epochs=plan.epochs,
        per_device_train_batch_size=plan.batch_size // processes,
        learning_rate=plan.learning_rate,
        weight_decay=plan.weight_decay,
        warmup_steps=plan.warmup_ratio,  # a float in [0, 1) is a fraction of the steps
        lr_scheduler_type="linear",
        optim="adamw_torch_fused" if plan.fused_adamw else "adamw_torch",
        seed=plan.seed,
        data_seed=plan.seed,
        use_cpu=device == "cpu",
        ddp_backend=("gloo" if device == "cpu" else "nccl") if processes > 1 else None,
        report_to="none",
        save_strategy="no",
        eval_strategy="no",
        logging_strategy="steps",  # the losses feed FinetuneProgress (PrinterCallback is removed)
        logging_steps=0.05,  # a fraction of the steps: about 20 loss points per run
        disable_tqdm=True,
        dataloader_num_workers=0,
        dataloader_pin_memory=False,
        remove_unused_columns=False,
    )


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
