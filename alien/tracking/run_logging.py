"""Logging one pipeline execution as one MLflow run.

Params are ``params.yaml`` flattened (``align.alphas``); metrics are the
numeric leaves of ``metrics.json`` with the method as prefix (``alien.roc_auc``,
``entropy.ece``, ``task.accuracy``) plus per-stage metrics (``align.best.val_auroc``);
tags carry the lineage (data version, git commit and whether the tree was dirty, library
versions, gate verdict). :mod:`alien.tracking.run_context` adds what a reviewer needs beside.
"""

from __future__ import annotations

import importlib.metadata
import math
import re
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import alien

_BAD_NAME_CHARS = re.compile(r"[^A-Za-z0-9_\-. /]")
_PARAM_VALUE_LIMIT = 6000  # MLflow rejects longer param values
LIBRARIES = ("torch", "transformers", "mlflow", "peft", "scikit-learn")


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


def git_commit(root: str | Path = ".") -> str:
    """``git rev-parse HEAD`` in ``root``, or ``"unknown"`` outside git."""
    return (_git(root, "rev-parse", "HEAD") or "").strip() or "unknown"


def git_dirty(root: str | Path = ".") -> str:
    """``"true"`` when ``git status --porcelain`` lists anything (the commit alone does not say what ran),
    ``"false"`` for a clean tree, ``"unknown"`` outside git."""
    status = _git(root, "status", "--porcelain")
    return "unknown" if status is None else str(bool(status.strip())).lower()


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
    *, data_version: Mapping[str, str], gate_passed: bool, root: str | Path = "."
) -> dict[str, str]:
    """Tags shared by the run and the registered version."""
    tags = {
        "data_version": data_version["md5"],
        "data_version_source": data_version.get("source", "unknown"),
        "data_path": data_version.get("path", ""),
        "git_commit": git_commit(root),
        "git_dirty": git_dirty(root),
        "gate_passed": str(gate_passed).lower(),
    }
    tags.update({f"version.{name}": v for name, v in library_versions().items()})
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
        "alien.dataset": dataset or str(lineage.get("data_path", "")),
        "alien.task": str(metadata.get("task", "")),
        "alien.labels": ",".join(map(str, metadata.get("label_names", [])))[:1000],
    }
    for key in ("roc_auc", "ece"):
        if isinstance(metrics.get(key), int | float):
            tags[f"alien.{key}"] = f"{float(metrics[key]):.4f}"
    tags["gate_passed"] = str(bool(gate_passed)).lower()
    return tags


def log_pipeline_run(
    *,
    params: Mapping[str, Any],
    metrics: Mapping[str, Any],
    tags: Mapping[str, str],
    files: Sequence[str | Path] = (),
    folders: Mapping[str, str | Path] | None = None,
    stages: Mapping[str, Mapping[str, Any]] | None = None,
) -> None:
    """Log params, metrics, tags and artifacts into the active MLflow run.

    Args:
        params: ``params.yaml`` as a nested mapping.
        metrics: ``metrics.json``.
        tags: run tags (see :func:`lineage_tags`).
        files: files logged at the artifact root (missing ones are skipped).
        folders: artifact folder name -> local folder (missing ones are skipped).
        stages: per-stage metrics (see :func:`pipeline_metrics`).

    Raises:
        RuntimeError: there is no active run.
    """
    import mlflow

    if mlflow.active_run() is None:
        raise RuntimeError("log_pipeline_run needs an active MLflow run (mlflow.start_run())")
    mlflow.log_params(run_params(params))
    mlflow.log_metrics(pipeline_metrics(metrics, stages=stages))
    mlflow.set_tags(dict(tags))
    for path in map(Path, files):
        if path.is_file():
            mlflow.log_artifact(str(path))
    for name, folder in (folders or {}).items():
        if Path(folder).is_dir():
            mlflow.log_artifacts(str(folder), artifact_path=name)
