"""What a reviewer needs on a pipeline execution's MLflow run beside its numbers.

The run of one execution is named after what it trained and what it became
(``trec · minilm · v3``) and holds the stage timings, the fine-tuning curve, the
datasets (``mlflow.data``: the prepared splits, their DVC md5 as digest) and the
Prefect flow run it belongs to. The model card that links its plots is
:mod:`alien.tracking.review`.

Register runs inside the flow but cannot see the other stages or Prefect (``alien``
never imports Prefect), so the flow passes them as an argument: a :class:`FlowContext`
(``alien.stages.register.run(..., context=...)``). Under ``dvc repro`` there is none;
the fine-tuning stage's own ``seconds`` is then the only timing.
"""

from __future__ import annotations

import hashlib
import re
import time
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from alien.task import get_task
from alien.tracking.names import (
    INPUT_RAW_MD5,
    INPUT_RAW_MD5_FROM,
    INPUT_SOURCE,
    RUN_FLOW_RUN_ID,
    RUN_FLOW_RUN_URL,
)
from alien.tracking.run_logging import numeric_leaves

if TYPE_CHECKING:
    from mlflow import MlflowClient

# split file -> the context MLflow's UI shows beside the dataset
SPLIT_CONTEXTS = {"train": "train", "validation": "validation", "test": "test"}
_SKIP_CURVE_KEYS = {"step", "epoch", "total_flos"}


@dataclass(frozen=True)
class FlowContext:
    """What the flow that runs ``register`` knows and the stage cannot see: its stages' seconds, its run.

    ``alien`` never imports Prefect; the flow builds this and passes it to
    ``alien.stages.register.run(..., context=...)``. Under ``dvc repro`` there is none.

    Attributes:
        stage_seconds: each earlier stage's seconds, by stage name.
        flow_run_id: the Prefect flow run's id.
        flow_run_url: its page in the Prefect UI.
    """

    stage_seconds: Mapping[str, float]
    flow_run_id: str | None
    flow_run_url: str | None


def short_name(source: str) -> str:
    """A dataset or backbone spec as a reviewer says it: ``package:trec`` -> ``trec``.

    >>> short_name("package:minilm"), short_name("/data/tiny.csv"), short_name("org/model-x")
    ('minilm', 'tiny', 'model-x')
    """
    if not isinstance(source, str) or not source.strip():
        raise ValueError(f"source must be a non-empty string, got {source!r}")
    name = source.strip().rstrip("/").rpartition(":")[2] if source.startswith("package:") else source
    name = Path(name.rstrip("/")).name or name
    return re.sub(r"\.(csv|jsonl|json|parquet|conll|txt|tsv)$", "", name)


def run_name(*, dataset: str, backbone: str, version: str | None) -> str:
    """``trec · minilm · v3`` (``… · registering`` until the version is known).

    >>> run_name(dataset="package:trec", backbone="package:minilm", version="3")
    'trec · minilm · v3'
    """
    tail = "registering" if version is None else f"v{version}"
    return f"{short_name(dataset)} · {short_name(backbone)} · {tail}"


def name_run(client: MlflowClient, run_id: str, *, dataset: str, backbone: str, version: str) -> str:
    """Rename the run once its version is known (``trec · minilm · v3``); returns the name."""
    name = run_name(dataset=dataset, backbone=backbone, version=version)
    client.update_run(run_id, name=name)
    return name


def stage_seconds(
    context: FlowContext | None, finetune_metrics: Mapping[str, Any] | None = None
) -> dict[str, float]:
    """Each stage's seconds: the flow's (``context``), else fine-tuning's own."""
    if context is not None:
        given = context.stage_seconds.items()
        return {str(k): float(v) for k, v in given if isinstance(v, int | float) and not isinstance(v, bool)}
    seconds = (finetune_metrics or {}).get("seconds")
    return {"finetune": float(seconds)} if isinstance(seconds, int | float) else {}


def flow_run_tags(context: FlowContext | None) -> dict[str, str]:
    """``prefect.flow_run_id`` / ``prefect.flow_run_url`` when the flow passed them."""
    if context is None:
        return {}
    found = {RUN_FLOW_RUN_ID: context.flow_run_id, RUN_FLOW_RUN_URL: context.flow_run_url}
    return {tag: value for tag, value in found.items() if value and value.strip()}


def curve_points(history: Sequence[Mapping[str, Any]]) -> list[tuple[str, float, int]]:
    """``(metric, value, step)`` of a Hugging Face ``log_history`` (``finetune.loss`` at each step).

    >>> curve_points([{"loss": 0.7, "step": 5, "epoch": 1.0}, {"eval_loss": 0.6, "step": 10}])
    [('finetune.loss', 0.7, 5), ('finetune.eval_loss', 0.6, 10)]
    """
    points = []
    for entry in history:
        step = entry.get("step")
        if not isinstance(step, int):
            continue
        for key, value in entry.items():
            if key in _SKIP_CURVE_KEYS or key.startswith("train_") or isinstance(value, bool):
                continue
            if isinstance(value, int | float):
                points.append((f"finetune.{key}", float(value), step))
    return points


def _md5(path: Path) -> str:
    with path.open("rb") as handle:
        return hashlib.file_digest(handle, "md5").hexdigest()


def split_datasets(
    prepared: str | Path, *, task: str, dataset: str, data_version: Mapping[str, str]
) -> list[tuple[str, Any, dict[str, str]]]:
    """``(context, mlflow dataset, input tags)`` per prepared split file that exists.

    The digest is the split file's md5, which is how DVC 3 hashes that file inside the
    ``prepared`` output; the input tags name the raw data and its DVC md5.
    """
    import pandas as pd
    from mlflow.data.dataset_source_registry import resolve_dataset_source
    from mlflow.data.pandas_dataset import from_pandas

    kind = get_task(task)
    out = []
    for split, context in SPLIT_CONTEXTS.items():
        path = Path(prepared) / f"{split}.jsonl"
        if not path.is_file():
            continue
        frame = pd.read_json(path, lines=True)
        with warnings.catch_warnings():  # a local path matches two identical local sources
            warnings.filterwarnings("ignore", message=".*can be interpreted in multiple ways")
            source = resolve_dataset_source(str(path.resolve()))
        found = from_pandas(
            frame,
            source=source,
            targets=kind.label_key if kind.label_key in frame else None,
            name=f"{short_name(dataset)}-{split}",
            digest=_md5(path),
        )
        tags = {
            INPUT_SOURCE: dataset,
            INPUT_RAW_MD5: str(data_version.get("md5", "")),
            INPUT_RAW_MD5_FROM: str(data_version.get("source", "")),
        }
        out.append((context, found, tags))
    return out


def _dataset_inputs(datasets: list[tuple[str, Any, dict[str, str]]]) -> list[Any]:
    """What ``mlflow.log_input`` would log for each ``(context, dataset, tags)``."""
    from mlflow.entities import DatasetInput, InputTag
    from mlflow.utils.mlflow_tags import MLFLOW_DATASET_CONTEXT

    return [
        DatasetInput(
            dataset=found._to_mlflow_entity(),
            tags=[*(InputTag(k, v) for k, v in tags.items()), InputTag(MLFLOW_DATASET_CONTEXT, context)],
        )
        for context, found, tags in datasets
    ]


def log_run_context(
    client: MlflowClient,
    run_id: str,
    *,
    prepared: str | Path,
    finetune_metrics: Mapping[str, Any] | None,
    task: str,
    dataset: str,
    data_version: Mapping[str, str],
    context: FlowContext | None,
) -> None:
    """Log into run ``run_id``: stage timings, the fine-tuning curve and numbers, the datasets, Prefect tags.

    Args:
        client: a client of the store that holds the run.
        run_id: the run.
        prepared: ``paths.prepared`` (the split files become the run's datasets).
        finetune_metrics: the fine-tuning stage's metrics (``finetune.*``; a Hugging Face
            ``log_history`` in them becomes the loss curve by step), ``None`` if it wrote none.
        task: the task name (which column is the target).
        dataset: ``data.source``.
        data_version: the raw data's ``{"md5", "source", "path"}``.
        context: what the flow passed (``None`` under ``dvc repro``).
    """
    from mlflow.entities import Metric, RunTag

    seconds = stage_seconds(context, finetune_metrics)
    metrics = {f"stage_seconds.{name}": value for name, value in seconds.items()}
    if seconds:
        metrics["stage_seconds.total"] = round(sum(seconds.values()), 3)
    finetune = dict(finetune_metrics or {})
    history = finetune.pop("log_history", None)
    metrics.update(numeric_leaves(finetune, prefix="finetune."))
    now = int(time.time() * 1000)
    points = [Metric(k, v, now, 0) for k, v in metrics.items()]
    points += [
        Metric(k, v, now, step) for k, v, step in curve_points(history if isinstance(history, list) else [])
    ]
    tags = [RunTag(k, v) for k, v in flow_run_tags(context).items()]
    client.log_batch(run_id, metrics=points, tags=tags)
    found = split_datasets(prepared, task=task, dataset=dataset, data_version=data_version)
    if found:
        client.log_inputs(run_id, datasets=_dataset_inputs(found))
