"""The scaled-out prediction log: the tables of :data:`~.schema.POSTGRES_DDL` (docs/scale-out.md).

Selected by a ``postgresql://`` URL in ``monitor.log`` (:func:`~.stores.open_log`);
the tables are created on first use when missing (or by a DBA, from the same DDL).

- Concurrent writers: each call is one transaction on a connection of its own from a
  small per-process pool (one per concurrently calling thread, ``max_idle`` kept open;
  a forked worker opens its own). Request ids are fresh uuid4s, the primary key.
- Durability: appends commit without waiting for the server's disk flush (unless the URL
  sets ``synchronous_commit``), as local JSONL rows are not fsynced either.
- Crashes: a batch is committed whole or not at all. A writer killed mid-append
  leaves an open transaction that the server rolls back when the connection drops,
  so readers never see part of a batch, and no record can be torn (unlike JSONL).
- Lost connections: a pooled connection the server dropped while idle is replaced
  and the call retried once; inserts say ``ON CONFLICT DO NOTHING``, so a batch whose
  commit went through but whose reply was lost is not stored twice.
- Late labels: checked inside the transaction that writes them; one refusal writes nothing.
- Secrets: the password comes from ``PGPASSWORD`` or ``~/.pgpass`` (libpq), or the URL;
  messages show the URL through :func:`~.location.redact_url` and mask it in driver errors.
"""

from __future__ import annotations

import logging
import os
import threading
import uuid
import weakref
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import pandas as pd
import psycopg

from alien.monitoring.feedback import check_labels
from alien.monitoring.location import SCHEMES, is_postgres_url, mask_password, redact_url
from alien.monitoring.schema import (
    LOG_COLUMNS,
    POSTGRES_DDL,
    as_utc,
    empty_frame,
    join_labels,
    now_utc,
    to_record,
    typed_frame,
)

_LOG = logging.getLogger(__name__)
_DDL_LOCK = 0x616C69656E5F6C67  # pg_advisory_xact_lock key ("alien_lg"): one creator of the tables at a time
_INSERT = (
    f"INSERT INTO alien_predictions ({', '.join(LOG_COLUMNS)}) "
    f"VALUES ({', '.join(['%s'] * len(LOG_COLUMNS))}) ON CONFLICT (request_id) DO NOTHING"
)
_SELECT = (
    f"SELECT {', '.join(f'p.{c}' for c in LOG_COLUMNS)}, "
    "(SELECT l.label FROM alien_labels l WHERE l.request_id = p.request_id "
    "ORDER BY l.time DESC LIMIT 1) AS true_label FROM alien_predictions p"
)


class PostgresLog:
    """The prediction log in PostgreSQL (a :class:`~.schema.LogStore`); thread- and fork-safe.

    Args:
        url: ``postgresql://user@host:port/database`` (libpq's URL; parameters such as
            ``sslmode`` pass through). Give the password in ``PGPASSWORD`` or ``~/.pgpass``.
        log_text: keep each input's text, not only its SHA-256.
        max_idle: connections kept open between calls (more are opened while more
            threads append at once, and closed after).
        connect_timeout: seconds to wait for the server when connecting.

    Nothing connects until the first call; the tables are created then if missing.

    Raises:
        ValueError: ``url`` is not a PostgreSQL URL, or ``max_idle``/``connect_timeout``
            out of range (named; the URL shown without its password).
    """

    def __init__(
        self, url: str, *, log_text: bool = False, max_idle: int = 16, connect_timeout: float = 10.0
    ) -> None:
        if not is_postgres_url(url):
            shown = redact_url(url) if isinstance(url, str) else repr(url)
            raise ValueError(
                f"PostgresLog needs a {' or '.join(f'{s}://' for s in SCHEMES)} URL, got {shown}"
            )
        if isinstance(max_idle, bool) or not isinstance(max_idle, int) or max_idle < 0:
            raise ValueError(f"max_idle must be an int >= 0, got {max_idle!r}")
        if not connect_timeout > 0:
            raise ValueError(f"connect_timeout must be > 0 seconds, got {connect_timeout!r}")
        self._url = url
        self.location = redact_url(url)
        """The URL without its password: what messages show."""
        self.log_text = bool(log_text)
        self.max_idle = max_idle
        self.connect_timeout = connect_timeout
        # see "Durability" above: a flushed commit costs ~7 ms per append here; labels always wait
        self._async_commit = "synchronous_commit" not in url.lower()
        self._lock = threading.Lock()
        self._idle: list[psycopg.Connection[Any]] = []
        self._inherited: list[psycopg.Connection[Any]] = []
        self._tables_ready = False
        if hasattr(os, "register_at_fork"):
            hook = weakref.WeakMethod(self._forked)  # a weak hook: the log can still be collected
            os.register_at_fork(after_in_child=lambda: (hook() or (lambda: None))())

    def __repr__(self) -> str:
        return f"PostgresLog({self.location!r}, log_text={self.log_text})"

    def append(self, rows: Sequence[Mapping[str, Any]]) -> list[str]:
        """Insert ``rows`` in one transaction; return their new request ids (uuid4 hex), in order.

        Args:
            rows: mappings with keys ``model_name, model_version, label, u,
                raw_uncertainty, abstain, text`` and optionally ``time``
                (timezone-aware; default now, in UTC).

        Raises:
            ValueError: a row is malformed (named); nothing is written then.
            ConnectionError: the server cannot be reached (the URL shown without its password).
            psycopg.Error: the server refused the batch; nothing is written then.
        """
        now = now_utc()
        # Rows of one append share their time; the reader breaks ties by request id, so sorting the
        # (random) ids keeps a batch in the order it was given, as the JSONL log does.
        ids = sorted(uuid.uuid4().hex for _ in rows)
        records = [
            to_record(r, request_id=i, now=now, log_text=self.log_text)
            for r, i in zip(rows, ids, strict=True)
        ]
        if not records:
            return []
        params = [
            tuple(datetime.fromisoformat(r[c]) if c == "time" else r[c] for c in LOG_COLUMNS) for r in records
        ]

        def insert(conn: psycopg.Connection[Any]) -> None:
            if self._async_commit:
                conn.execute("SET LOCAL synchronous_commit TO off")
            conn.cursor().executemany(_INSERT, params)

        self._run(insert)
        return ids

    def read(
        self,
        *,
        model_version: str | None = None,
        since: datetime | str | None = None,
        until: datetime | str | None = None,
    ) -> pd.DataFrame:
        """The logged predictions with their late labels, oldest first: the frame of
        :func:`alien.monitoring.log.read_log` (same columns and dtypes; ``skipped_lines`` is 0).

        Rows that share a time are ordered by request id.

        Raises:
            ValueError: ``since``/``until`` naive or not a time.
            ConnectionError: the server cannot be reached.
        """
        where: list[str] = []
        args: list[Any] = []
        if model_version is not None:
            where.append("p.model_version = %s")
            args.append(str(model_version))
        if since is not None:
            where.append("p.time >= %s")
            args.append(as_utc(since, "since"))
        if until is not None:
            where.append("p.time < %s")
            args.append(as_utc(until, "until"))
        sql = _SELECT + (" WHERE " + " AND ".join(where) if where else "") + " ORDER BY p.time, p.request_id"
        rows = self._run(lambda conn: conn.execute(sql, args).fetchall())
        records = [dict(zip(LOG_COLUMNS, row[:-1], strict=True)) for row in rows]
        labels = {str(row[0]): str(row[-1]) for row in rows if row[-1] is not None}
        for record in records:
            record["time"] = record["time"].astimezone(UTC).isoformat(timespec="microseconds")
        frame = join_labels(typed_frame(records) if records else empty_frame(), labels)
        frame.attrs["skipped_lines"] = 0
        return frame

    def attach_labels(self, labels: Mapping[str, Any], *, label_names: Sequence[str]) -> int:
        """Attach late labels to logged predictions, all or none, in one transaction.

        Args:
            labels: request id -> true label name.
            label_names: the model's label set; any other label is refused.

        Returns:
            How many labels were written (0 for an empty mapping).

        Raises:
            ValueError: an unknown request id or a label outside ``label_names``
                (named in the message); nothing is written then.
        """
        if not labels:
            return 0
        wanted = [str(i) for i in labels]
        time = now_utc()

        def attach(conn: psycopg.Connection[Any]) -> int:
            found = conn.execute(
                "SELECT request_id FROM alien_predictions WHERE request_id = ANY(%s)", (wanted,)
            ).fetchall()
            checked = check_labels(labels, label_names=label_names, known_ids={r[0] for r in found})
            conn.cursor().executemany(
                "INSERT INTO alien_labels (request_id, label, time) VALUES (%s, %s, %s)",
                [(rid, label, time) for rid, label in checked.items()],
            )
            return len(checked)

        return self._run(attach)

    def close(self) -> None:
        """Close the idle connections (a later call opens new ones)."""
        with self._lock:
            idle, self._idle = self._idle, []
        for conn in idle:
            conn.close()

    def __enter__(self) -> PostgresLog:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _run(self, work: Callable[[psycopg.Connection[Any]], Any]) -> Any:
        """``work(conn)`` in one transaction. A pooled connection the server dropped while it sat
        idle (a restart, an idle timeout) is replaced by a fresh one, once."""
        conn, pooled = self._checkout()
        try:
            return self._attempt(conn, work)
        except psycopg.OperationalError:
            if not (pooled and conn.broken):
                raise
        _LOG.warning("prediction log %s: a pooled connection was lost; retrying once", self.location)
        return self._attempt(self._connect(), work)

    def _attempt(self, conn: psycopg.Connection[Any], work: Callable[[psycopg.Connection[Any]], Any]) -> Any:
        try:
            with conn.transaction():
                return work(conn)
        finally:
            self._release(conn)

    def _checkout(self) -> tuple[psycopg.Connection[Any], bool]:
        with self._lock:
            if self._idle:
                return self._idle.pop(), True
        return self._connect(), False

    def _release(self, conn: psycopg.Connection[Any]) -> None:
        idle = psycopg.pq.TransactionStatus.IDLE
        if not conn.closed and not conn.broken and conn.info.transaction_status == idle:
            with self._lock:
                if len(self._idle) < self.max_idle:
                    self._idle.append(conn)
                    return
        conn.close()

    def _connect(self) -> psycopg.Connection[Any]:
        try:
            conn = psycopg.connect(
                self._url,
                autocommit=True,  # transactions are explicit: no session idles inside one
                connect_timeout=max(1, round(self.connect_timeout)),
                application_name="alien-prediction-log",
            )
        except psycopg.Error as err:
            message = mask_password(str(err), self._url)
            raise ConnectionError(f"prediction log {self.location}: cannot connect: {message}") from None
        if not self._tables_ready:
            try:
                self._ensure_tables(conn)
            except BaseException:
                conn.close()
                raise
            self._tables_ready = True
        return conn

    @staticmethod
    def _ensure_tables(conn: psycopg.Connection[Any]) -> None:
        # Look first, so a role without CREATE on the schema works against tables a DBA made;
        # the advisory lock keeps two first writers from racing through CREATE ... IF NOT EXISTS.
        tables = "to_regclass('alien_predictions') IS NOT NULL AND to_regclass('alien_labels') IS NOT NULL"
        with conn.transaction():
            if conn.execute(f"SELECT {tables}").fetchone() == (True,):
                return
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (_DDL_LOCK,))
            conn.execute(POSTGRES_DDL)
            _LOG.info("prediction log %s: created its tables", conn.info.dbname)

    def _forked(self) -> None:
        # In a forked worker the parent's connections are the parent's sockets: keep them referenced
        # (never used, never closed: closing would end the parent's sessions) and open new ones.
        self._lock = threading.Lock()
        self._inherited.extend(self._idle)
        self._idle = []
