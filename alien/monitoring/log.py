"""The local prediction log: JSON lines in one folder, one sub-folder per day.

Layout::

    <directory>/date=YYYY-MM-DD/<writer>.jsonl   predictions (the day of each row's UTC time)
    <directory>/labels/<writer>.jsonl            late labels (:mod:`alien.monitoring.feedback`)

Why JSON lines rather than Parquet: serving appends a few rows per request, from
many threads and several worker processes at once. A JSONL record is one
``write()`` of one buffer to a file opened with ``O_APPEND``, so the kernel
places it whole at the end of the file, and writers never coordinate beyond a
lock per process. Parquet files are immutable once their footer is written: an
append means buffering rows in memory (lost on a crash) and rewriting or adding
files, and a crash mid-file leaves a footer-less file the reader cannot open.
With JSONL, a SIGKILL in the middle of a ``write()`` leaves at worst one torn
last line, which :func:`read_log` skips and counts; the next writer on that file
first ends the torn line, so the rows it adds are never glued to it. Days are
folders named ``date=...`` (the Hive convention), so pandas/pyarrow/DuckDB read
the folder as a partitioned dataset and a reader of one day opens one folder.

Each process writes its own file (``<host>-<pid>-<random>``), so processes never
share a file; threads of one process share it under a lock. Rows are not fsynced:
a killed process loses nothing it wrote, a power cut may lose the last seconds.
"""

from __future__ import annotations

import logging
import os
import re
import secrets
import socket
import threading
import uuid
import weakref
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import pandas as pd

from alien.monitoring.feedback import attach_labels, read_labels
from alien.monitoring.jsonl import encode_lines, iter_records, open_append, write_all
from alien.monitoring.schema import (
    PARTITION_PREFIX,
    TRUE_LABEL,
    as_utc,
    empty_frame,
    now_utc,
    to_record,
    typed_frame,
)

_LOG = logging.getLogger(__name__)
SKIPPED_ATTR = "skipped_lines"
_WRITER_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")


def default_writer_name() -> str:
    """``<host>-<pid>-<6 hex>``: unique per process, so no two processes share a file."""
    host = re.sub(r"[^A-Za-z0-9._-]", "_", socket.gethostname())[:64] or "host"
    return f"{host}-{os.getpid()}-{secrets.token_hex(3)}"


def check_writer_name(writer: str) -> str:
    """Refuse a writer name that is not a plain file name.

    Raises:
        ValueError: names the value and the allowed characters.
    """
    if not isinstance(writer, str) or not _WRITER_NAME.match(writer):
        raise ValueError(f"writer must be 1-128 characters of [A-Za-z0-9._-], got {writer!r}")
    return writer


def _call(hook: weakref.WeakMethod[Callable[[], None]]) -> None:
    method = hook()
    if method is not None:
        method()


class PredictionLog:
    """Append-only, thread-safe writer of the local prediction log (a :class:`~.schema.LogStore`).

    Args:
        directory: the log's folder (created on the first append).
        log_text: keep each input's text, not only its SHA-256.
        writer: this writer's file name; default :func:`default_writer_name`.

    Example:
        >>> import tempfile
        >>> folder = tempfile.TemporaryDirectory()
        >>> log = PredictionLog(folder.name)
        >>> [rid] = log.append([{"model_name": "m", "model_version": "3", "label": "pos", "u": 0.1,
        ...                      "raw_uncertainty": 0.2, "abstain": False, "text": "great"}])
        >>> log.read()["request_id"].tolist() == [rid]
        True
        >>> log.close(); folder.cleanup()
    """

    def __init__(self, directory: str | Path, *, log_text: bool = False, writer: str | None = None) -> None:
        self.directory = Path(directory)
        self.log_text = bool(log_text)
        self._fixed_writer = check_writer_name(writer) if writer is not None else None
        self._lock = threading.Lock()
        self._writer: str | None = None
        self._fds: dict[str, int] = {}
        if hasattr(os, "register_at_fork"):
            hook = weakref.WeakMethod(self._forked)
            os.register_at_fork(after_in_child=lambda: _call(hook))

    @property
    def writer(self) -> str:
        """This process's file name (without ``.jsonl``)."""
        with self._lock:
            return self._writer_name()

    def append(self, rows: Sequence[Mapping[str, Any]]) -> list[str]:
        """Append ``rows``; return the new request ids (uuid4 hex), one per row, in order.

        Args:
            rows: mappings with keys ``model_name, model_version, label, u,
                raw_uncertainty, abstain, text`` and optionally ``time``
                (timezone-aware; default now, in UTC).

        Raises:
            ValueError: a row is malformed (the message names the key and value);
                nothing is written then.
        """
        now = now_utc()
        ids = [uuid.uuid4().hex for _ in rows]
        records = [
            to_record(r, request_id=i, now=now, log_text=self.log_text)
            for r, i in zip(rows, ids, strict=True)
        ]
        by_day: dict[str, list[dict[str, Any]]] = {}
        for record in records:
            by_day.setdefault(record["time"][:10], []).append(record)
        payloads = {day: encode_lines(day_records) for day, day_records in by_day.items()}
        with self._lock:
            for day, payload in payloads.items():
                write_all(self._fd(day), payload)
        return ids

    def read(
        self,
        *,
        model_version: str | None = None,
        since: datetime | str | None = None,
        until: datetime | str | None = None,
    ) -> pd.DataFrame:
        """:func:`read_log` of this log's folder."""
        return read_log(self.directory, model_version=model_version, since=since, until=until)

    def attach_labels(self, labels: Mapping[str, Any], *, label_names: Sequence[str]) -> int:
        """:func:`alien.monitoring.feedback.attach_labels` on this log's folder."""
        return attach_labels(self.directory, labels, label_names=label_names, writer=self.writer)

    def close(self) -> None:
        """Close the open day files (a later append opens them again)."""
        with self._lock:
            for fd in self._fds.values():
                os.close(fd)
            self._fds.clear()

    def __enter__(self) -> PredictionLog:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _forked(self) -> None:
        # In a forked worker: the parent's lock may have been held at the fork, and its files are
        # the parent's; the child starts afresh and writes files named after its own pid.
        self._lock = threading.Lock()
        for fd in self._fds.values():
            os.close(fd)
        self._fds = {}
        self._writer = None

    def _writer_name(self) -> str:
        if self._writer is None:
            self._writer = self._fixed_writer or default_writer_name()
        return self._writer

    def _fd(self, day: str) -> int:
        if day not in self._fds:
            for old in [d for d in self._fds if d < day]:
                os.close(self._fds.pop(old))
            path = self.directory / f"{PARTITION_PREFIX}{day}" / f"{self._writer_name()}.jsonl"
            self._fds[day] = open_append(path)
        return self._fds[day]


def read_log(
    directory: str | Path,
    *,
    model_version: str | None = None,
    since: datetime | str | None = None,
    until: datetime | str | None = None,
) -> pd.DataFrame:
    """The logged predictions with their late labels, oldest first.

    Args:
        directory: the log's folder (a missing folder reads as an empty log).
        model_version: keep only this model version.
        since: keep rows at or after this time (timezone-aware).
        until: keep rows before this time (timezone-aware).

    Returns:
        Columns :data:`~.schema.LOG_COLUMNS` plus ``true_label`` (null where no label
        arrived). ``frame.attrs["skipped_lines"]`` counts lines that did not parse.

    Raises:
        ValueError: ``since``/``until`` naive or not a time.
    """
    lo = as_utc(since, "since") if since is not None else None
    hi = as_utc(until, "until") if until is not None else None
    root = Path(directory)
    skipped = [0]
    records: list[dict[str, Any]] = []
    for folder in sorted(root.glob(f"{PARTITION_PREFIX}*")) if root.is_dir() else []:
        day = folder.name.removeprefix(PARTITION_PREFIX)
        if (lo is not None and day < lo.date().isoformat()) or (
            hi is not None and day > hi.date().isoformat()
        ):
            continue
        for path in sorted(folder.glob("*.jsonl")):
            records.extend(r for r in iter_records(path, skipped) if _keep(r, model_version))
    frame = typed_frame(records) if records else empty_frame()
    if lo is not None:
        frame = frame[frame["time"] >= pd.Timestamp(lo)]
    if hi is not None:
        frame = frame[frame["time"] < pd.Timestamp(hi)]
    frame = frame.reset_index(drop=True)
    labels = read_labels(root, skipped)
    if labels:
        frame[TRUE_LABEL] = frame["request_id"].map(labels).astype(object)
        frame[TRUE_LABEL] = frame[TRUE_LABEL].where(frame[TRUE_LABEL].notna(), None)
    if skipped[0]:
        _LOG.warning("prediction log %s: skipped %d unreadable line(s) (torn by a crash)", root, skipped[0])
    frame.attrs[SKIPPED_ATTR] = skipped[0]
    return frame


def _keep(record: dict[str, Any], model_version: str | None) -> bool:
    return model_version is None or str(record.get("model_version")) == str(model_version)


def rows_from_frame(
    frame: pd.DataFrame, texts: Sequence[str], *, model_name: str, model_version: str
) -> list[dict[str, Any]]:
    """The rows to log for one served response (:func:`alien.tracking.pyfunc_io.predictions_frame`).

    Raises:
        ValueError: the frame and ``texts`` differ in length, or a served column is missing.
    """
    needed = ("label", "uncertainty", "raw_uncertainty", "abstain")
    missing = [c for c in needed if c not in frame.columns]
    if missing:
        raise ValueError(f"served frame lacks columns {missing}; it has {list(frame.columns)}")
    if len(frame) != len(texts):
        raise ValueError(f"served frame has {len(frame)} rows but {len(texts)} texts were given")
    return [
        {
            "model_name": model_name,
            "model_version": model_version,
            "label": label,
            "u": u,
            "raw_uncertainty": raw,
            "abstain": bool(abstain),
            "text": text,
        }
        for label, u, raw, abstain, text in zip(
            *(frame[c].tolist() for c in needed),  # plain lists: pandas per-item access costs under load
            texts,
            strict=True,
        )
    ]
