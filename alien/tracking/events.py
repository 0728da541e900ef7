"""The promotion history: who moved which alias, when, from which version to which, and why.

Each event is one registered-model tag ``alien.event.<UTC time>.<nonce>`` whose
value is a small JSON object. It is written as a step of the same journal plan
as the change it describes (:mod:`alien.tracking.journal`), so the history and
the aliases cannot disagree. Tag keys sort by time, so the history is the
sorted tags.
"""

from __future__ import annotations

import getpass
import json
import os
import secrets
import socket
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from alien.tracking.names import EVENT_PREFIX

ACTOR_ENV = "ALIEN_ACTOR"
ACTIONS = ("promote", "rollback", "unpin", "register", "cleanup", "experiment")


def now() -> str:
    """The current UTC time, ISO-8601 to the second."""
    return datetime.now(UTC).isoformat(timespec="seconds")


def actor() -> str:
    """Who is acting: ``$ALIEN_ACTOR`` (e.g. a CI job or flow run), else ``user@host``."""
    if os.environ.get(ACTOR_ENV):
        return os.environ[ACTOR_ENV]
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "unknown"
    return f"{user}@{socket.gethostname()}"


def event_step(
    action: str,
    *,
    from_version: str | None,
    to_version: str | None,
    reason: str,
    by: str | None = None,
    extra: Mapping[str, Any] | None = None,
) -> tuple[str, str, str]:
    """The journal step (``("mtag", key, json)``) that records one event.

    Raises:
        ValueError: ``action`` is not one of :data:`ACTIONS`.
    """
    if action not in ACTIONS:
        raise ValueError(f"unknown event action {action!r}; allowed: {list(ACTIONS)}")
    at = datetime.now(UTC)
    key = f"{EVENT_PREFIX}{at.strftime('%Y%m%dT%H%M%S.%fZ')}.{secrets.token_hex(3)}"
    record = {
        "at": at.isoformat(timespec="seconds"),
        "by": by or actor(),
        "action": action,
        "from": from_version,
        "to": to_version,
        "reason": reason,
        **dict(extra or {}),
    }
    return ("mtag", key, json.dumps(record, sort_keys=True, default=str))


def events_from_tags(tags: Mapping[str, str]) -> list[dict[str, Any]]:
    """The events among a registered model's tags, oldest first (unreadable ones are skipped)."""
    out = []
    for key in sorted(k for k in tags if k.startswith(EVENT_PREFIX)):
        try:
            record = json.loads(tags[key])
        except ValueError:
            continue
        if isinstance(record, dict):
            out.append(record)
    return out
