"""Choosing the prediction log's store from ``monitor.log``: the one place a store is picked.

A folder is the local JSONL log (:class:`~.log.PredictionLog`); a ``postgresql://``
URL is the scaled-out table (:class:`~.postgres.PostgresLog`, docs/scale-out.md).
Every caller that opens the log for writing, reading or labelling goes through
:func:`open_log`, so the two stores never diverge in how they are chosen.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from alien.monitoring.location import SCHEMES, is_postgres_url, redact_url
from alien.monitoring.log import PredictionLog

if TYPE_CHECKING:
    from alien.monitoring.postgres import PostgresLog


def open_log(location: str | Path, *, log_text: bool = False) -> PredictionLog | PostgresLog:
    """The prediction log at ``location``; nothing is opened or connected until its first call.

    Args:
        location: a folder, or ``postgresql://user@host:port/db`` (the password from
            ``PGPASSWORD`` or ``~/.pgpass``).
        log_text: keep each input's text, not only its SHA-256.

    Raises:
        ValueError: a URL of another scheme (shown without its password).

    >>> type(open_log("monitoring/log")).__name__, type(open_log("postgresql://a@db/m")).__name__
    ('PredictionLog', 'PostgresLog')
    """
    if is_postgres_url(location):
        from alien.monitoring.postgres import PostgresLog  # a folder never loads the database driver

        return PostgresLog(str(location), log_text=log_text)
    if isinstance(location, str) and "://" in location:
        schemes = " or ".join(f"{s}://" for s in SCHEMES)
        raise ValueError(f"prediction log: {redact_url(location)} is neither a folder nor a {schemes} URL")
    return PredictionLog(location, log_text=log_text)
