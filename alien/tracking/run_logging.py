"""Logging one pipeline execution as one MLflow run.

Params are ``params.yaml`` flattened (``align.alphas``); metrics are the
numeric leaves of ``metrics.json`` with the method as prefix (``alien.roc_auc``,
``entropy.ece``, ``task.accuracy``) plus per-stage metrics (``align.best.val_auroc``);
tags carry the lineage (data version, git commit and whether the code that ran differs
from it, library versions, gate verdict). Everything is written through an explicit client. :mod:`alien.tracking.run_context` adds what a reviewer needs beside.
"""

from __future__ import annotations

import importlib.metadata
import logging
import math
import os
import re
import subprocess
import time
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

import alien
from alien.tracking.names import (
    LIBRARY_TAG_PREFIX,
    TAG_DATA_PATH,
    TAG_DATA_VERSION,
    TAG_DATA_VERSION_SOURCE,
    TAG_DATASET,
    TAG_ECE,
    TAG_GATE_PASSED,
    TAG_GIT_COMMIT,
    TAG_GIT_DIRTY,
    TAG_LABELS,
    TAG_ROC_AUC,
    TAG_TASK,
)

if TYPE_CHECKING:
    from mlflow import MlflowClient

log = logging.getLogger(__name__)
_BAD_NAME_CHARS = re.compile(r"[^A-Za-z0-9_\-. /]")
_PARAM_VALUE_LIMIT = 6000  # MLflow rejects longer param values
LIBRARIES = ("torch", "transformers", "mlflow", "peft", "scikit-learn")
DVC_LOCK = "dvc.lock"  # rewritten by every run: never counts as a change to the code


def flatten(mapping: Mapping[str, Any], *, prefix: str = "") -> dict[str, Any]:
    """Nested mappings to dotted keys: ``{"a": {"b": 1}}`` -> ``{"a.b": 1}``.

    >>> flatten({"align": {"alphas": [0.1, 1.0]}, "seed": 3})
    {'align.alphas': [0.1, 1.0], 'seed': 3}
    """
    out: dict[str, Any] = {}
    for key, value in mapping.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            out.update(flatten(value, prefix=f"{name}."))
        else:
            out[name] = value
    return out


def _metric_name(name: str) -> str:
    return _BAD_NAME_CHARS.sub("_", name)


def numeric_leaves(mapping: Mapping[str, Any], *, prefix: str = "") -> dict[str, float]:
    """Finite numbers (not booleans) among the flattened leaves, names made MLflow-safe.

    >>> numeric_leaves({"best": {"val_auroc": 0.8, "lr": "x"}, "ok": True, "n": float("nan")})
    {'best.val_auroc': 0.8}
    """
    out = {}
    for key, value in flatten(mapping, prefix=prefix).items():
        if isinstance(value, bool) or not isinstance(value, int | float):
            continue
        if math.isfinite(float(value)):
            out[_metric_name(key)] = float(value)
    return out


def pipeline_metrics(
    metrics: Mapping[str, Any], *, stages: Mapping[str, Mapping[str, Any]] | None = None
) -> dict[str, float]:
    """The run's metrics: ``metrics.json`` per method (``alien.roc_auc``) and per stage.

    Args:
        metrics: ``metrics.json`` (``methods``, ``task``, ``rows``, ...). Entries under
            ``methods`` are prefixed by the method name alone; other top-level
            sections keep their name (``task.accuracy``).
        stages: extra per-stage metrics, e.g. ``{"align": grid}`` -> ``align.best.val_auroc``.

    >>> pipeline_metrics({"methods": {"alien": {"ece": 0.1}}, "task": {"accuracy": 0.9}})
    {'alien.ece': 0.1, 'task.accuracy': 0.9}
    """
    out = numeric_leaves(metrics.get("methods", {}))
    out.update(numeric_leaves({k: v for k, v in metrics.items() if k != "methods"}))
    for stage, values in (stages or {}).items():
        out.update(numeric_leaves(values, prefix=f"{stage}."))
    return out


def params_record(params_file: str | Path) -> dict[str, Any]:
    """The params file as written, to log it as the run's record (``{}`` with a warning when missing).

    Only the record: a stage takes the values it acts on as typed sections, never from here.
    """
    path = Path(params_file)
    if not path.is_file():
        log.warning("params file %s not found; the run will have no params", path)
        return {}
    return dict(yaml.safe_load(path.read_text(encoding="utf-8")) or {})


def run_params(params: Mapping[str, Any]) -> dict[str, str]:
    """``params.yaml`` flattened into MLflow params (strings, length-capped)."""
    return {_metric_name(k): str(v)[:_PARAM_VALUE_LIMIT] for k, v in flatten(params).items()}


def _git(root: str | Path, *args: str) -> str | None:
    """``git <args>``'s stdout in ``root``, or ``None`` outside git (or without git)."""
    try:
        done = subprocess.run(
            ["git", *args], cwd=root, capture_output=True, text=True, timeout=10, check=False
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout if done.returncode == 0 else None


def git_commit(root: str | Path) -> str:
    """``git rev-parse HEAD`` in ``root``, or ``"unknown"`` outside git."""
    return (_git(root, "rev-parse", "HEAD") or "").strip() or "unknown"


def changed_files(root: str | Path) -> list[str] | None:
    """Tracked files that differ from ``HEAD`` (staged or not), relative to ``root``; ``None`` outside git.

    Untracked files are not listed: the pipeline's outputs are untracked, and so is
    anything else git was not told about.
    """
    found = _git(root, "status", "--porcelain=v1", "-z", "--untracked-files=no")
    top = _git(root, "rev-parse", "--show-toplevel")
    if found is None or top is None:
        return None
    entries, out = iter(found.split("\0")), []
    for entry in entries:
        if len(entry) < 4:
            continue
        if {"R", "C"} & set(entry[:2]):  # a rename or copy: the original path follows; the new one counts
            next(entries, None)
        out.append(os.path.relpath(Path(top.strip()) / entry[3:], Path(root).resolve()))
    return out


def git_dirty(root: str | Path, *, outputs: Iterable[str | Path] = ()) -> str:
    """Whether the code that ran differs from the commit: ``"true"``, ``"false"``, or ``"unknown"`` outside git.

    ``"true"`` when a tracked file differs from ``HEAD``, not counting ``dvc.lock`` nor
    ``outputs`` (files or folders relative to ``root``: what the pipeline writes, which a
    run changes by running).
    """
    changed = changed_files(root)
    if changed is None:
        return "unknown"
    here = Path(root).resolve()
    ignored = [Path(os.path.relpath(Path(here, o).resolve(), here)) for o in (DVC_LOCK, *outputs)]
    code = [f for f in changed if not any(Path(f) == o or o in Path(f).parents for o in ignored)]
    return str(bool(code)).lower()


def library_versions() -> dict[str, str]:
    """Installed versions of the libraries a model depends on, plus alien's own."""
    versions = {"alien": alien.__version__}
    for name in LIBRARIES:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def lineage_tags(
    *,
    data_version: Mapping[str, str],
    gate_passed: bool,
    root: str | Path,
    outputs: Iterable[str | Path] = (),
) -> dict[str, str]:
    """Tags shared by the run and the registered version.

    Args:
        data_version: the raw data's ``{"md5", "source", "path"}``.
        gate_passed: the gate's verdict.
        root: the project root (its git commit, and whether the code differs from it).
        outputs: what the pipeline writes, relative to ``root`` (see :func:`git_dirty`).
    """
    tags = {
        TAG_DATA_VERSION: data_version["md5"],
        TAG_DATA_VERSION_SOURCE: data_version.get("source", "unknown"),
        TAG_DATA_PATH: data_version.get("path", ""),
        TAG_GIT_COMMIT: git_commit(root),
        TAG_GIT_DIRTY: git_dirty(root, outputs=outputs),
        TAG_GATE_PASSED: str(gate_passed).lower(),
    }
    tags.update({f"{LIBRARY_TAG_PREFIX}{name}": v for name, v in library_versions().items()})
    return tags


def version_tags(
    lineage: Mapping[str, str],
    *,
    metadata: Mapping[str, Any],
    metrics: Mapping[str, Any],
    dataset: str,
    gate_passed: bool,
) -> dict[str, str]:
    """A registered version's tags: the lineage plus what ``alien champion`` lists.

    Args:
        lineage: :func:`lineage_tags`.
        metadata: the deployable's ``alien.json`` (``task``, ``label_names``).
        metrics: ALIEN's test metrics (``roc_auc``, ``ece``).
        dataset: ``data.source``.
        gate_passed: the gate verdict (the ``gate_passed`` tag; a failed gate never promotes).

    >>> tags = version_tags({"gate_passed": "false"}, metadata={"task": "t", "label_names": ["a", "b"]},
    ...                     metrics={"roc_auc": 0.81234}, dataset="package:x", gate_passed=False)
    >>> tags["alien.labels"], tags["alien.roc_auc"], tags["gate_passed"]
    ('a,b', '0.8123', 'false')
    """
    tags = {
        **lineage,
        TAG_DATASET: dataset or str(lineage.get(TAG_DATA_PATH, "")),
        TAG_TASK: str(metadata.get("task", "")),
        TAG_LABELS: ",".join(map(str, metadata.get("label_names", [])))[:1000],
    }
    for key, tag in (("roc_auc", TAG_ROC_AUC), ("ece", TAG_ECE)):
        if isinstance(metrics.get(key), int | float):
            tags[tag] = f"{float(metrics[key]):.4f}"
    tags[TAG_GATE_PASSED] = str(bool(gate_passed)).lower()
    return tags


def log_pipeline_run(
    client: MlflowClient,
    run_id: str,
    *,
    params: Mapping[str, Any],
    metrics: Mapping[str, Any],
    tags: Mapping[str, str],
    files: Sequence[str | Path] = (),
    folders: Mapping[str, str | Path] | None = None,
    stages: Mapping[str, Mapping[str, Any]] | None = None,
) -> None:
    """Log params, metrics, tags and artifacts into run ``run_id``.

    Args:
        client: a client of the store that holds the run.
        run_id: the run.
        params: ``params.yaml`` as a nested mapping.
        metrics: ``metrics.json``.
        tags: run tags (see :func:`lineage_tags`).
        files: files logged at the artifact root (missing ones are skipped).
        folders: artifact folder name -> local folder (missing ones are skipped).
        stages: per-stage metrics (see :func:`pipeline_metrics`).
    """
    from mlflow.entities import Metric, Param, RunTag

    now = int(time.time() * 1000)
    client.log_batch(
        run_id,
        metrics=[Metric(k, v, now, 0) for k, v in pipeline_metrics(metrics, stages=stages).items()],
        params=[Param(k, v) for k, v in run_params(params).items()],
        tags=[RunTag(k, str(v)) for k, v in tags.items()],
    )
    for path in map(Path, files):
        if path.is_file():
            client.log_artifact(run_id, str(path))
    for name, folder in (folders or {}).items():
        if Path(folder).is_dir():
            client.log_artifacts(run_id, str(folder), artifact_path=name)
