"""Stage ``finetune``: fine-tune the backbone on the prepared train split.

Reads ``paths.prepared/{train,validation}.jsonl`` and ``labels.json``; writes
``paths.backbone/`` atomically: a plain Hugging Face folder (safetensors
weights, tokenizer, config with ``id2label``/``label2id``; LoRA already merged)
plus ``finetune_metrics.json``. A failure leaves the previous model intact.
"""

from __future__ import annotations

import sys
from dataclasses import asdict, dataclass
from pathlib import Path

from transformers import set_seed

from alien.backbones.finetune import FinetuneSummary
from alien.backbones.finetune import finetune as finetune_model
from alien.backbones.loading import load_backbone, resolve_backbone
from alien.config import BackboneConfig, DataConfig, FinetuneConfig, Params, PathsConfig
from alien.data.io import atomic_directory, read_labels, read_split, write_json
from alien.stages._cli import StageResult, stage_main

METRICS_FILE = "finetune_metrics.json"


@dataclass(frozen=True)
class FinetuneResult(StageResult, FinetuneSummary):
    """What ``finetune`` wrote (the :class:`~alien.backbones.finetune.FinetuneSummary` plus where and of what)."""

    output_dir: str
    backbone: str
    task: str
    labels: tuple[str, ...]


def run(
    backbone: BackboneConfig, finetune: FinetuneConfig, data: DataConfig, paths: PathsConfig
) -> FinetuneResult:
    """Fine-tune ``backbone.name`` on the prepared data and save it to ``paths.backbone``.

    Args:
        backbone: the ``backbone`` section (name, max_length).
        finetune: the ``finetune`` section (method, epochs, batch size, LoRA).
        data: the ``data`` section; only ``data.task`` is used.
        paths: reads ``paths.prepared``, writes ``paths.backbone``.

    Raises:
        FileNotFoundError: prepared splits or labels are missing (run prepare).
        ValueError: empty or malformed records, a label outside ``labels.json``,
            or a backbone that cannot be resolved.
    """
    labels = read_labels(paths.prepared)
    train = read_split(paths.prepared, "train")
    validation = read_split(paths.prepared, "validation")
    if not train:
        raise ValueError(f"the train split in {paths.prepared} is empty; run prepare with more data")
    source = resolve_backbone(backbone.name)
    set_seed(finetune.seed)  # the re-initialised classifier head draws from the global generator
    model, tokenizer = load_backbone(source, task=data.task, label_names=labels)
    with atomic_directory(paths.backbone) as tmp:
        summary = finetune_model(
            model,
            tokenizer,
            train,
            validation,
            config=finetune,
            task=data.task,
            max_length=backbone.max_length,
            output_dir=tmp,
        )
        metrics = {"backbone": backbone.name, "task": data.task, **summary.to_dict()}
        write_json(Path(tmp) / METRICS_FILE, metrics)
    return FinetuneResult(
        **asdict(summary),
        output_dir=str(paths.backbone),
        backbone=backbone.name,
        task=data.task,
        labels=tuple(labels),
    )


def main(argv: list[str] | None = None) -> int:
    """``python -m alien.stages.finetune [--params params.yaml]``."""
    return stage_main("finetune", _run_params, argv)


def _run_params(params: Params) -> FinetuneResult:
    return run(params.backbone, params.finetune, params.data, params.paths)


if __name__ == "__main__":
    sys.exit(main())
