"""The prediction log's schema: one row per served prediction, the same for every store.

A row holds what the caller received (``label``, ``u``, ``raw_uncertainty``,
``abstain``) with the request id it was given, the time, the model's name and
version, and the SHA-256 of the text (the text itself only when the log is told
to keep it). Labels arrive later and are stored apart, keyed by request id, so a
prediction row is written once and never rewritten.

:class:`LogStore` is what a store offers: the local JSONL folder
(:class:`alien.monitoring.log.PredictionLog`), or the PostgreSQL tables of
:data:`POSTGRES_DDL` (:class:`alien.monitoring.postgres.PostgresLog`);
:func:`alien.monitoring.stores.open_log` picks one from ``monitor.log``.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, Protocol, runtime_checkable

import pandas as pd

LOG_COLUMNS: tuple[str, ...] = (
    "request_id",
    "time",
    "model_name",
    "model_version",
    "label",
    "u",
    "raw_uncertainty",
    "abstain",
    "text_sha256",
    "text",
)
"""Columns of a prediction row, in storage order (``text`` is null unless the log keeps texts)."""

LABEL_COLUMNS: tuple[str, ...] = ("request_id", "label", "time")
"""Columns of a late label; the latest label written for a request id wins."""

TRUE_LABEL = "true_label"
"""Column the readers add: the late label of the row, null where none has arrived."""

PARTITION_PREFIX = "date="
"""Local layout: ``<directory>/date=YYYY-MM-DD/<writer>.jsonl`` holds the predictions of one UTC day."""

LABELS_DIR = "labels"
"""Local layout: ``<directory>/labels/<writer>.jsonl`` holds the late labels."""

INPUT_KEYS = frozenset({"model_name", "model_version", "label", "u", "raw_uncertainty", "abstain", "text"})
"""Keys a caller passes to ``append`` for each row (``time`` optional: now, in UTC)."""

POSTGRES_DDL = """\
CREATE TABLE IF NOT EXISTS alien_predictions (
    request_id      CHAR(32)         PRIMARY KEY,
    time            TIMESTAMPTZ      NOT NULL,
    model_name      TEXT             NOT NULL,
    model_version   TEXT             NOT NULL,
    label           TEXT             NOT NULL,
    u               DOUBLE PRECISION NOT NULL CHECK (u >= 0 AND u <= 1),
    raw_uncertainty DOUBLE PRECISION NOT NULL,
    abstain         BOOLEAN          NOT NULL,
    text_sha256     CHAR(64)         NOT NULL,
    text            TEXT
);
CREATE INDEX IF NOT EXISTS alien_predictions_version_time
    ON alien_predictions (model_name, model_version, time);
CREATE TABLE IF NOT EXISTS alien_labels (
    request_id      CHAR(32)         NOT NULL REFERENCES alien_predictions (request_id),
    label           TEXT             NOT NULL,
    time            TIMESTAMPTZ      NOT NULL
);
CREATE INDEX IF NOT EXISTS alien_labels_request ON alien_labels (request_id, time);
"""
"""The same schema as a PostgreSQL table pair, for the scaled-out store (docs/scale-out.md)."""


@runtime_checkable
class LogStore(Protocol):
    """Where predictions and their late labels are kept (a local folder, or a database)."""

    def append(self, rows: Sequence[Mapping[str, Any]]) -> list[str]:
        """Store ``rows`` (keys :data:`INPUT_KEYS`); return their new request ids, in order."""
        ...

    def read(
        self,
        *,
        model_version: str | None = None,
        since: datetime | str | None = None,
        until: datetime | str | None = None,
    ) -> pd.DataFrame:
        """Rows with ``since <= time < until``: :data:`LOG_COLUMNS` plus :data:`TRUE_LABEL`."""
        ...

    def attach_labels(self, labels: Mapping[str, Any], *, label_names: Sequence[str]) -> int:
        """Store late labels by request id, all or none; return how many were stored."""
        ...


def text_sha256(text: str) -> str:
    """Hex SHA-256 of the UTF-8 text, so repeated inputs can be found without keeping them.

    >>> text_sha256("hello")[:12]
    '2cf24dba5fb0'
    """
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def as_utc(value: datetime | str, name: str) -> datetime:
    """A timezone-aware datetime (or ISO string) converted to UTC.

    Raises:
        ValueError: not parseable, or naive (no timezone: the log would have to guess it).

    >>> as_utc("2024-05-01T14:00:00+02:00", "since").isoformat()
    '2024-05-01T12:00:00+00:00'
    """
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError as err:
            raise ValueError(f"{name} must be an ISO-8601 time, got {value!r}") from err
    if not isinstance(value, datetime):
        raise TypeError(f"{name} must be a datetime or an ISO-8601 string, got {type(value).__name__}")
    if value.tzinfo is None:
        raise ValueError(
            f"{name} must carry a timezone (e.g. +00:00), got the naive time {value.isoformat()}"
        )
    return value.astimezone(UTC)


def to_record(row: Mapping[str, Any], *, request_id: str, now: datetime, log_text: bool) -> dict[str, Any]:
    """The stored record of one input row (see :data:`LOG_COLUMNS`).

    Raises:
        ValueError: a missing or unknown key, ``u`` outside ``[0, 1]``, or a field of the wrong kind;
            the message names the key and the value.
    """
    missing = sorted(INPUT_KEYS - set(row))
    unknown = sorted(set(row) - INPUT_KEYS - {"time"})
    if missing or unknown:
        raise ValueError(
            f"log row: missing keys {missing}, unknown keys {unknown}; expected {sorted(INPUT_KEYS)}"
        )
    for key in ("model_name", "model_version", "label", "text"):
        if not isinstance(row[key], str | int) or isinstance(row[key], bool):
            raise ValueError(f"log row: {key} must be a string, got {row[key]!r:.80}")
    u = _probability(row["u"], "u")
    raw = _probability(row["raw_uncertainty"], "raw_uncertainty")
    if not isinstance(row["abstain"], bool | int) or row["abstain"] not in (0, 1):
        raise ValueError(f"log row: abstain must be a bool, got {row['abstain']!r:.80}")
    time = as_utc(row["time"], "time") if "time" in row else now
    text = str(row["text"])
    return {
        "request_id": request_id,
        "time": time.isoformat(timespec="microseconds"),
        "model_name": str(row["model_name"]),
        "model_version": str(row["model_version"]),
        "label": str(row["label"]),
        "u": u,
        "raw_uncertainty": raw,
        "abstain": bool(row["abstain"]),
        "text_sha256": text_sha256(text),
        "text": text if log_text else None,
    }


def _probability(value: Any, key: str) -> float:
    try:
        out = float(value)
    except (TypeError, ValueError) as err:
        raise ValueError(f"log row: {key} must be a number in [0, 1], got {value!r:.80}") from err
    if math.isnan(out) or not 0.0 <= out <= 1.0:
        raise ValueError(f"log row: {key} must be a number in [0, 1], got {value!r:.80}")
    return out


def empty_frame() -> pd.DataFrame:
    """A log frame with no rows and every column (what readers return for nothing)."""
    return typed_frame([])


def typed_frame(records: list[dict[str, Any]]) -> pd.DataFrame:
    """Records as a frame: :data:`LOG_COLUMNS` + :data:`TRUE_LABEL`, UTC times, oldest first."""
    columns = [*LOG_COLUMNS, TRUE_LABEL]
    frame = pd.DataFrame.from_records(records, columns=columns)
    # microseconds always: pandas would pick seconds for an empty column, and frames of one log differ
    frame["time"] = pd.to_datetime(frame["time"], utc=True, format="ISO8601").astype("datetime64[us, UTC]")
    frame["u"] = frame["u"].astype("float64")
    frame["raw_uncertainty"] = frame["raw_uncertainty"].astype("float64")
    frame["abstain"] = frame["abstain"].astype(bool)
    frame = frame.astype(
        {c: str for c in ("request_id", "model_name", "model_version", "label", "text_sha256")}
    )
    frame = frame.astype({c: object for c in ("text", TRUE_LABEL)})
    # stable: rows of one append share a time and keep the order they were given in
    return frame.sort_values("time", kind="stable").reset_index(drop=True)


def join_labels(frame: pd.DataFrame, labels: Mapping[str, str]) -> pd.DataFrame:
    """``frame`` with :data:`TRUE_LABEL` set from ``labels`` (request id -> label), None elsewhere.

    A frame is left as it is when ``labels`` is empty, as every store's reader does.
    """
    if labels:
        frame[TRUE_LABEL] = frame["request_id"].map(labels).astype(object)
        frame[TRUE_LABEL] = frame[TRUE_LABEL].where(frame[TRUE_LABEL].notna(), None)
    return frame


def now_utc() -> datetime:
    """The current time in UTC (one place, so tests can read the log's clock)."""
    return datetime.now(UTC)
