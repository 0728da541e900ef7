"""Pre-flight: refuse bad input before any expensive stage (and before a Prefect server starts).

One pass, in a few seconds, over everything a run will need, each check with a
message that names the problem:

* params: every section and key present and in range (:func:`alien.config.load_params`);
* data: the packaged dataset is known and fits ``data.task``, or the local file
  exists, its header has the text and label columns, and its rows are what prepare
  would accept (labels, at least 2 classes, enough rows per class for the splits);
* backbone: :func:`alien.backbones.loading.check_backbone` (tokenizer present and
  not degenerate, safetensors unless ``backbone.allow_pickle``), no weights read;
* registry: one probe with no retries — ``/health`` of an HTTP tracking server,
  a read-only look into an existing sqlite store (or a writable folder for the
  first run's new one), MLflow's own probe for anything else.

Both runners call it: ``alien run`` before the flow (so a bad param costs a
second, not a Prefect server start) and ``dvc repro`` through the fetch stage.
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from alien.config.data import DataConfig
from alien.config.params import Params, load_params
from alien.config.registry import RegistryConfig
from alien.task import get_task

_PROBE_TIMEOUT_S = 3.0


class PreflightError(ValueError):
    """A run would fail: the message names the input and what is wrong with it."""


@dataclass(frozen=True)
class PreflightReport:
    """What was checked and how long each check took (seconds)."""

    params: Params
    seconds: dict[str, float] = field(default_factory=dict)


def check_data(data: DataConfig, *, trainable: bool = False) -> None:
    """The data source exists and fits the configured task and columns; a local file's rows load clean.

    Args:
        data: the ``data`` section.
        trainable: also refuse a local file's rows that prepare would refuse (too few rows,
            a class too small for the splits after ``data.max_rows``); :func:`preflight` sets it.

    Raises:
        PreflightError: unknown package, wrong task, missing file or columns, or (local
            files) rows that fetch or prepare would refuse; the message names the rows or classes.
    """
    source = data.source
    if source.startswith("package:"):
        from alien.assets.catalogue import get_dataset

        try:
            asset = get_dataset(source.removeprefix("package:"))
        except ValueError as exc:
            raise PreflightError(f"data.source: {exc}") from None
        if asset.task != data.task:
            raise PreflightError(
                f"data.source {source} is a {asset.task} dataset but data.task is {data.task!r}"
            )
        return
    path = Path(source).expanduser()
    if not path.exists():
        if path.suffix or os.sep in source or source.startswith("."):
            raise PreflightError(f"data.source {source!r} is not an existing file or directory")
        return  # a hub dataset id: checked when fetched
    if path.is_file():
        if not get_task(data.task).is_token:
            _check_columns(path, (data.text_column, data.label_column))  # headers first: the cheapest
        _check_content(data, trainable=trainable)


def _check_content(data: DataConfig, *, trainable: bool) -> None:
    """A local file's rows, as the fetch stage loads them (pandas/pyarrow; seconds), clean and trainable.

    The same functions as fetch and prepare: :func:`alien.data.load_source` (null or empty
    labels and texts, fewer than 2 classes) and :func:`alien.data.trainable.select_trainable`
    (too few rows, a class too small for ``data.*_fraction`` after ``data.max_rows``).
    """
    from alien.data.sources import load_source
    from alien.data.trainable import select_trainable

    try:
        dataset = load_source(data)
        if trainable:
            select_trainable(dataset.records, labels=dataset.labels, data=data, source=data.source)
    except (ValueError, FileNotFoundError) as exc:
        raise PreflightError(f"data.source: {exc}") from None


def _check_columns(path: Path, needed: tuple[str, ...]) -> None:
    suffix = path.suffix.lower()
    columns: list[str] | None = None
    if suffix == ".csv":
        import pandas as pd

        columns = list(pd.read_csv(path, nrows=0).columns)
    elif suffix == ".jsonl":
        with path.open(encoding="utf-8") as fh:
            first = next((line for line in fh if line.strip()), "")  # blank lines are skipped, as on load
        try:
            row = json.loads(first) if first else {}
        except json.JSONDecodeError as exc:
            raise PreflightError(f"data.source {path}: the first line is not JSON ({exc})") from None
        if not isinstance(row, dict):
            raise PreflightError(
                f"data.source {path}: the first record is {first.strip()!r:.40}, not an object"
            )
        columns = list(row)
    elif suffix == ".parquet":
        import pyarrow.parquet as pq

        columns = list(pq.read_schema(path).names)
    if columns is not None:
        missing = [c for c in needed if c not in columns]
        if missing:
            raise PreflightError(
                f"data.source {path} has no column(s) {missing}; it has {columns} "
                "(set data.text_column / data.label_column)"
            )


def check_registry(registry: RegistryConfig) -> str:
    """One fast probe of the registry a run would write to; returns the resolved URI.

    Raises:
        PreflightError: the registry does not answer, or a sqlite store cannot be created or read.
    """
    uri = os.environ.get("MLFLOW_TRACKING_URI") or registry.tracking_uri
    if uri.startswith("sqlite:///"):
        _check_sqlite(Path(uri.removeprefix("sqlite:///")), uri)
    elif uri.startswith(("http://", "https://")):
        _check_http(uri.rstrip("/") + "/health", uri)
    else:
        from alien.tracking.setup import RegistryUnavailableError, probe, resolve_tracking_uri

        try:
            probe(resolve_tracking_uri(uri), create=True)
        except RegistryUnavailableError as exc:
            raise PreflightError(str(exc)) from None
    return uri


def _check_sqlite(path: Path, uri: str) -> None:
    if not path.exists():
        parent = path.parent if str(path.parent) else Path(".")
        if not parent.is_dir() or not os.access(parent, os.W_OK):
            raise PreflightError(f"registry {uri}: {parent} is not a writable folder for a new store")
        return
    try:
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=_PROBE_TIMEOUT_S) as db:
            db.execute("select 1 from sqlite_master limit 1").fetchall()
    except sqlite3.Error as exc:
        raise PreflightError(f"registry {uri} cannot be read: {exc}") from None


def _check_http(health: str, uri: str) -> None:
    try:
        with urllib.request.urlopen(health, timeout=_PROBE_TIMEOUT_S) as response:
            if response.status != 200:
                raise PreflightError(f"registry {uri} is not healthy: {health} answered {response.status}")
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise PreflightError(
            f"registry {uri} cannot be reached ({reason}); is the tracking server up?"
        ) from None


def preflight(params_path: str | Path = "params.yaml", *, registry: bool = True) -> PreflightReport:
    """Every check above, in order; the first failure raises.

    Raises:
        FileNotFoundError: no params file.
        ConfigError: an invalid param (names the key).
        PreflightError: data, backbone or registry would make the run fail.
    """
    seconds: dict[str, float] = {}
    start = time.perf_counter()
    params = load_params(params_path)
    seconds["params"] = time.perf_counter() - start
    checks: list[tuple[str, Any]] = [
        ("data", lambda: check_data(params.data, trainable=True)),
        ("backbone", lambda: _backbone(params)),
    ]
    if registry:
        checks.append(("registry", lambda: check_registry(params.registry)))
    for name, check in checks:
        start = time.perf_counter()
        check()
        seconds[name] = round(time.perf_counter() - start, 3)
    return PreflightReport(params, seconds)


def _backbone(params: Params) -> None:
    name = params.backbone.name.strip()
    try:
        if name.startswith("package:"):
            # a catalogue lookup and a look at the cached folder: no torch or transformers import
            from alien.assets.backbones import cached_backbone
            from alien.assets.catalogue import get_backbone
            from alien.backbones.checks import check_folder

            cached = cached_backbone(get_backbone(name))
            if cached is not None:
                check_folder(cached)
            return
        from alien.backbones.loading import check_backbone

        check_backbone(name, allow_pickle=params.backbone.allow_pickle)
    except (ValueError, TypeError) as exc:
        raise PreflightError(f"backbone.name {params.backbone.name!r}: {exc}") from None
