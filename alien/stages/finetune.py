"""Stage ``finetune``: fine-tune the backbone on the prepared train split.

Reads ``paths.prepared/{train,validation}.jsonl`` and ``labels.json``; writes
``paths.backbone/`` atomically: a plain Hugging Face folder (safetensors
weights, tokenizer, config with ``id2label``/``label2id``; LoRA already merged)
plus ``finetune_metrics.json``. A failure leaves the previous model intact, and
the staging folders a killed run left next to it are removed on the next start.

With ``finetune.processes`` > 1 the stage re-launches itself under ``torchrun
--standalone`` with the same params and waits: the Hugging Face Trainer runs
DDP — NCCL with one GPU per process when the machine has that many, gloo on
CPU otherwise — and rank 0 alone writes the output. ``finetune.batch_size``
is the global batch either way. Started under torchrun already, it trains
directly.
"""

from __future__ import annotations

import dataclasses
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from transformers import set_seed

from alien.assets.atomic import atomic_directory, remove_stale_staging
from alien.backbones import distributed
from alien.backbones.finetune import FinetuneSummary
from alien.backbones.finetune import finetune as finetune_model
from alien.backbones.loading import check_backbone, load_backbone, resolve_backbone
from alien.backbones.plan import Device
from alien.backbones.records import validate_records
from alien.config.backbone import BackboneConfig
from alien.config.data import DataConfig
from alien.config.finetune import FinetuneConfig
from alien.config.paths import PathsConfig
from alien.data.io import read_json, read_labels, read_split, write_json
from alien.pipeline.cli import StageResult, params_file_with, stage_cli

METRICS_FILE = "finetune_metrics.json"


@dataclass(frozen=True)
class FinetuneResult(StageResult, FinetuneSummary):
    """What ``finetune`` wrote (the :class:`~alien.backbones.finetune.FinetuneSummary` plus where and of what)."""

    output_dir: str
    backbone: str
    task: str
    labels: tuple[str, ...]


def run(
    backbone: BackboneConfig,
    finetune: FinetuneConfig,
    data: DataConfig,
    paths: PathsConfig,
    *,
    params_file: str | Path = "params.yaml",
) -> FinetuneResult:
    """Fine-tune ``backbone.name`` on the prepared data and save it to ``paths.backbone``.

    Args:
        backbone: the ``backbone`` section (name, max_length, allow_pickle).
        finetune: the ``finetune`` section (method, epochs, batch size, LoRA, processes).
        data: the ``data`` section; only ``data.task`` is used.
        paths: reads ``paths.prepared``, writes ``paths.backbone``.
        params_file: the params file these sections came from; with
            ``finetune.processes`` > 1 the torchrun workers read it (or a copy
            with these sections, if they differ from the file's).

    Raises:
        FileNotFoundError: prepared splits or labels are missing (run prepare).
        ValueError: empty or malformed records, a label outside ``labels.json``,
            a backbone that cannot be resolved or is refused (no tokenizer,
            pickle weights), or a batch size the processes cannot share.
        RuntimeError: the torchrun workers failed (their messages are on stderr).
    """
    labels = read_labels(paths.prepared)
    train = read_split(paths.prepared, "train")
    validation = read_split(paths.prepared, "validation")
    if not train:
        raise ValueError(f"the train split in {paths.prepared} is empty; run prepare with more data")
    if distributed.is_main_process():
        remove_stale_staging(Path(paths.backbone).parent)
    if finetune.processes > 1 and not distributed.under_torchrun():
        _preflight(backbone, finetune, data, train, validation, labels=labels)
        metrics = _launch(backbone, finetune, data, paths, params_file=params_file)
        return _result(metrics, paths=paths, labels=labels)
    source = resolve_backbone(backbone.name)
    set_seed(finetune.seed)  # the re-initialised classifier head draws from the global generator
    model, tokenizer = load_backbone(
        source, task=data.task, label_names=labels, allow_pickle=backbone.allow_pickle
    )
    common: dict[str, Any] = {"task": data.task, "max_length": backbone.max_length, "device": _device()}
    if not distributed.is_main_process():  # rank 0 alone writes
        summary = finetune_model(model, tokenizer, train, validation, finetune, output_dir=None, **common)
        distributed.shutdown()
        return _result(
            {**summary.to_dict(), "backbone": backbone.name, "task": data.task}, paths=paths, labels=labels
        )
    with atomic_directory(paths.backbone) as tmp:
        summary = finetune_model(model, tokenizer, train, validation, finetune, output_dir=tmp, **common)
        metrics = {"backbone": backbone.name, "task": data.task, **summary.to_dict()}
        write_json(Path(tmp) / METRICS_FILE, metrics)
    distributed.shutdown()  # the others wait until the output is in place
    return _result(metrics, paths=paths, labels=labels)


def _device() -> Device:
    """One GPU per DDP process when there are enough of them (NCCL); CPU otherwise (gloo, or one process)."""
    processes = distributed.world_size()
    return "cuda" if processes > 1 and torch.cuda.device_count() >= processes else "cpu"


def _preflight(
    backbone: BackboneConfig,
    finetune: FinetuneConfig,
    data: DataConfig,
    train: list[dict[str, Any]],
    validation: list[dict[str, Any]],
    *,
    labels: list[str],
) -> None:
    """Refuse, in this process, what the workers would refuse: a message here beats a failed launch."""
    if finetune.batch_size % finetune.processes:
        raise ValueError(
            f"finetune.batch_size {finetune.batch_size} is the global batch and must be divisible by "
            f"finetune.processes {finetune.processes}"
        )
    validate_records(train, task=data.task, num_labels=len(labels), split="train")
    validate_records(validation, task=data.task, num_labels=len(labels), split="validation")
    resolve_backbone(backbone.name)  # build a packaged backbone's cache once, not once per worker
    check_backbone(backbone.name, allow_pickle=backbone.allow_pickle)


def _launch(
    backbone: BackboneConfig,
    finetune: FinetuneConfig,
    data: DataConfig,
    paths: PathsConfig,
    *,
    params_file: str | Path,
) -> dict[str, Any]:
    """Run this stage in ``finetune.processes`` torchrun workers; the metrics rank 0 wrote."""
    with tempfile.TemporaryDirectory(prefix="alien-finetune-") as scratch:
        file = _worker_params(
            params_file, Path(scratch), backbone=backbone, finetune=finetune, data=data, paths=paths
        )
        done = distributed.torchrun(
            "alien.stages.finetune", ["--params", str(file)], processes=finetune.processes
        )
    if done.returncode != 0:
        raise RuntimeError(
            f"finetune in {finetune.processes} torchrun processes failed (exit {done.returncode}); "
            "the workers' messages are above"
        )
    return read_json(Path(paths.backbone) / METRICS_FILE, what="finetune metrics")


def _worker_params(params_file: str | Path, scratch: Path, **sections: Any) -> Path:
    """``params_file`` if it holds ``sections``; else a copy of it with them, in ``scratch``."""
    if not Path(params_file).is_file():
        raise ValueError(
            f"finetune.processes > 1 re-launches the stage under torchrun with its params file, "
            f"but {str(params_file)!r} does not exist; pass params_file"
        )
    return params_file_with(params_file, scratch, **sections)


def _result(metrics: dict[str, Any], *, paths: PathsConfig, labels: list[str]) -> FinetuneResult:
    # log_history: absent from metrics files written before it was recorded
    summary = {
        f.name: metrics[f.name] for f in dataclasses.fields(FinetuneSummary) if f.name != "log_history"
    }
    summary["log_history"] = tuple(metrics.get("log_history", []))
    summary["lora_target_modules"] = tuple(summary["lora_target_modules"])
    return FinetuneResult(
        **summary,
        output_dir=str(paths.backbone),
        backbone=str(metrics["backbone"]),
        task=str(metrics["task"]),
        labels=tuple(labels),
    )


main = stage_cli(__name__)

if __name__ == "__main__":
    raise SystemExit(main())
