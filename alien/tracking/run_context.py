"""What a reviewer needs on a pipeline execution's MLflow run beside its numbers.

The run of one execution is named after what it trained and what it became
(``trec · minilm · v3``) and holds the stage timings, the fine-tuning curve, the
datasets (``mlflow.data``: the prepared splits, their DVC md5 as digest), the
Prefect flow run it belongs to, and links to its plots that MLflow's UI follows.

Register runs inside the flow but cannot see the other stages or Prefect (``alien``
never imports Prefect), so the flow hands them over in environment variables:
:data:`ENV_STAGE_SECONDS` (JSON ``{stage: seconds}``), :data:`ENV_FLOW_RUN_ID` and
:data:`ENV_FLOW_RUN_URL`. Under ``dvc repro`` there are none; the fine-tuning stage's
own ``seconds`` is then the only timing.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from alien.task import get_task

if TYPE_CHECKING:
    from alien.tracking.registry import Registry

log = logging.getLogger(__name__)
ENV_STAGE_SECONDS = "ALIEN_STAGE_SECONDS"
ENV_FLOW_RUN_ID = "ALIEN_PREFECT_FLOW_RUN_ID"
ENV_FLOW_RUN_URL = "ALIEN_PREFECT_FLOW_RUN_URL"
# split file -> the context MLflow's UI shows beside the dataset
SPLIT_CONTEXTS = {"train": "train", "validation": "validation", "test": "test"}
_SKIP_CURVE_KEYS = {"step", "epoch", "total_flos"}
FINETUNE_METRICS = (
    "finetune_metrics.json"  # alien.stages.finetune.METRICS_FILE (tracking never imports stages)
)


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


def stage_seconds(finetune_metrics: Mapping[str, Any] | None = None) -> dict[str, float]:
    """Each stage's seconds: the flow's (:data:`ENV_STAGE_SECONDS`), else fine-tuning's own."""
    raw = os.environ.get(ENV_STAGE_SECONDS, "").strip()
    if raw:
        try:
            given = json.loads(raw)
            return {str(k): float(v) for k, v in given.items() if isinstance(v, int | float)}
        except (ValueError, AttributeError):
            log.warning("ignoring %s: not a JSON object of numbers (%.80s)", ENV_STAGE_SECONDS, raw)
    seconds = (finetune_metrics or {}).get("seconds")
    return {"finetune": float(seconds)} if isinstance(seconds, int | float) else {}


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


def flow_run_tags() -> dict[str, str]:
    """``prefect.flow_run_id`` / ``prefect.flow_run_url`` when the flow passed them."""
    found = {"prefect.flow_run_id": ENV_FLOW_RUN_ID, "prefect.flow_run_url": ENV_FLOW_RUN_URL}
    return {tag: os.environ[env] for tag, env in found.items() if os.environ.get(env, "").strip()}


def plot_links(run_id: str, plots: str | Path, *, folder: str = "plots") -> dict[str, str]:
    """Plot name -> ``get-artifact?path=plots/<name>&run_uuid=<run>``, relative to the MLflow server.

    MLflow's UI drops ``runs:/`` links from markdown; this route is what the UI itself
    fetches artifacts from (``mlflow server`` and ``mlflow ui`` alike, under any
    ``--static-prefix`` since it is relative), so the card's links and inline images work.
    """
    if not isinstance(run_id, str) or not re.fullmatch(r"[0-9a-zA-Z]+", run_id):
        raise ValueError(f"run_id must be an MLflow run id (letters and digits), got {run_id!r}")
    return {
        p.name: f"get-artifact?path={quote(f'{folder}/{p.name}')}&run_uuid={run_id}"
        for p in sorted(Path(plots).glob("*.png"))
    }


def _read_object(path: Path) -> dict[str, Any] | None:
    if not path.is_file():
        return None
    try:
        found = json.loads(path.read_text(encoding="utf-8"))
    except ValueError:
        log.warning("ignoring %s: not JSON", path)
        return None
    return found if isinstance(found, dict) else None


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
            frame, source=source, targets=kind.label_key if kind.label_key in frame else None,
            name=f"{short_name(dataset)}-{split}", digest=_md5(path),
        )  # fmt: skip
        tags = {"alien.source": dataset, "alien.raw_md5": str(data_version.get("md5", "")),
                "alien.raw_md5_from": str(data_version.get("source", ""))}  # fmt: skip
        out.append((context, found, tags))
    return out


def log_run_context(
    *, prepared: str | Path, backbone: str | Path, task: str, dataset: str, data_version: Mapping[str, str]
) -> None:  # fmt: skip
    """Log into the active run: stage timings, the fine-tuning curve and numbers, the datasets, Prefect tags.

    Args:
        prepared: ``paths.prepared`` (the split files become the run's datasets).
        backbone: ``paths.backbone``; its ``finetune_metrics.json`` gives ``finetune.*`` metrics
            and, if it holds a Hugging Face ``log_history``, the loss curve by step.
        task: the task name (which column is the target).
        dataset: ``data.source``.
        data_version: the raw data's ``{"md5", "source", "path"}``.

    Raises:
        RuntimeError: there is no active run.
    """
    import mlflow

    from alien.tracking.run_logging import numeric_leaves

    if mlflow.active_run() is None:
        raise RuntimeError("log_run_context needs an active MLflow run (mlflow.start_run())")
    finetune_metrics = _read_object(Path(backbone) / FINETUNE_METRICS)
    seconds = stage_seconds(finetune_metrics)
    metrics = {f"stage_seconds.{name}": value for name, value in seconds.items()}
    if seconds:
        metrics["stage_seconds.total"] = round(sum(seconds.values()), 3)
    finetune = dict(finetune_metrics or {})
    history = finetune.pop("log_history", None)
    metrics.update(numeric_leaves(finetune, prefix="finetune."))
    mlflow.log_metrics(metrics)
    for key, value, step in curve_points(history if isinstance(history, list) else []):
        mlflow.log_metric(key, value, step=step)
    for context, found, tags in split_datasets(
        prepared, task=task, dataset=dataset, data_version=data_version
    ):
        mlflow.log_input(found, context=context, tags=tags)
    mlflow.set_tags(flow_run_tags())


def execution_name(params: Mapping[str, Any], version: str | None) -> str:
    """:func:`run_name` from ``params.yaml`` (``data.source``, ``backbone.name``)."""
    data, backbone = params.get("data") or {}, params.get("backbone") or {}
    return run_name(
        dataset=str(data.get("source") or "unknown"), backbone=str(backbone.get("name") or "unknown"),
        version=version,
    )  # fmt: skip


def name_run(run_id: str, params: Mapping[str, Any], version: str) -> str:
    """Rename the run once its version is known (``trec · minilm · v3``); returns the name."""
    from mlflow import MlflowClient

    name = execution_name(params, version)
    MlflowClient().update_run(run_id, name=name)
    return name


def provenance(run_id: str, experiment_id: str, lineage: Mapping[str, str]) -> dict[str, str]:
    """The card's provenance lines: the run (a UI route), git commit and dirty flag, Prefect, stage timings."""
    flow = flow_run_tags()
    url, flow_id = flow.get("prefect.flow_run_url"), flow.get("prefect.flow_run_id")
    seconds = stage_seconds()
    return {
        "MLflow run": f"[{run_id}](#/experiments/{experiment_id}/runs/{run_id})",
        "git commit": f"`{lineage.get('git_commit', 'unknown')}` (uncommitted changes: "
        f"{lineage.get('git_dirty', 'unknown')})",
        "Prefect flow run": f"[{flow_id or 'open'}]({url})"
        if url
        else (flow_id or "none (not run by Prefect)"),
        "stage seconds": ", ".join(f"{k} {v:.1f}" for k, v in seconds.items()) or "not passed (dvc repro)",
    }


def champion_identity(registry: Registry) -> dict[str, str] | None:
    """The live champion's ``version``, ``task`` and ``labels`` (comma-separated), or ``None``."""
    version = registry.champion()
    if version is None:
        return None
    tags = registry.model_version(version).tags
    return {
        "version": str(version),
        "task": tags.get("alien.task", ""),
        "labels": tags.get("alien.labels", ""),
    }


def review_card(
    registry: Registry, *, run_id: str, plots: str | Path, lineage: Mapping[str, str],
    metadata: Mapping[str, Any], **card: Any,
) -> str:  # fmt: skip
    """The model card of the active run: plot links the UI follows, the champion's labels, provenance.

    ``card`` is passed on to :func:`alien.evaluation.model_card.render_model_card`
    (``gate_report``, ``metrics``, ``data_version``, ``params``, ``champion``, ``title``).
    """
    import mlflow

    from alien.evaluation.model_card import render_model_card

    active = mlflow.active_run()
    experiment = active.info.experiment_id if active is not None else "0"
    return render_model_card(
        **card, plot_uris=plot_links(run_id, plots),
        identity={"task": metadata.get("task"), "labels": list(metadata.get("label_names") or [])},
        champion_identity=champion_identity(registry), provenance=provenance(run_id, experiment, lineage),
    )  # fmt: skip
