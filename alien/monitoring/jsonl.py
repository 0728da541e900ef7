"""Append-only JSON-lines files that survive concurrent writers and crashes.

A record is one line, and a batch of lines goes to the file in one ``write()``
on a descriptor opened with ``O_APPEND``: the kernel moves the offset to the end
and copies the buffer under the inode's lock, so lines from concurrent writers
(threads or processes) never interleave. A SIGKILL during the copy can leave a
torn last line; readers skip it (and count it), and the next writer ends it with
a newline before appending, so its own lines are never glued to the torn one.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

FILE_MODE = 0o644


def open_append(path: Path) -> int:
    """Open ``path`` for appending (creating it and its folder), ending a torn last line first."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, FILE_MODE)
    size = os.fstat(fd).st_size
    with open(path, "rb") as reader:
        reader.seek(max(size - 1, 0))
        last = reader.read(1)
    if last not in (b"", b"\n"):
        write_all(fd, b"\n")
    return fd


def write_all(fd: int, payload: bytes) -> None:
    """One ``write()`` normally; a short write (disk full, signal) is continued, never dropped."""
    view = memoryview(payload)
    while view:
        view = view[os.write(fd, view) :]


def encode_lines(records: list[dict[str, Any]]) -> bytes:
    """Records as UTF-8 JSON lines, each ended by a newline."""
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records).encode("utf-8")


def append_records(path: Path, records: list[dict[str, Any]]) -> None:
    """Append ``records`` to ``path`` in one write (open, write, close)."""
    fd = open_append(path)
    try:
        write_all(fd, encode_lines(records))
    finally:
        os.close(fd)


def iter_records(path: Path, skipped: list[int], *, key: str = "request_id") -> Iterator[dict[str, Any]]:
    """The records of one JSONL file that parse and hold ``key``.

    Args:
        path: the file.
        skipped: a one-element counter, incremented per line that does not
            parse (torn by a crash) or is not a record.
        key: the field every record must have.
    """
    with path.open("rb") as handle:
        for raw in handle:
            if not raw.strip():
                continue
            try:
                record = json.loads(raw)
            except (UnicodeDecodeError, json.JSONDecodeError):
                skipped[0] += 1
                continue
            if isinstance(record, dict) and key in record:
                yield record
            else:
                skipped[0] += 1
