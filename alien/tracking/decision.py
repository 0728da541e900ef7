"""The last decision of gate and register, kept on the version it decided, and whether it still holds.

A nightly run whose data, params and code did not change would decide again what it
decided the night before: the same scores against the same champion, the same verdict,
the same version. Instead, the register stage records each decision on the version it
registered or reused — one version tag, :data:`TAG_DECISION`, a JSON object — and
both stages look it up first (:func:`last_decision`):

- the gate by its ``gate_key``: a hash of what it decides on (the scores, the test
  split, its params, the code; :func:`alien.stages.gate.decision_key`);
- register by its ``token`` (the model and data), the gate report it acted on and
  its ``registry`` section.

A decision is reused only while the registry is in the state it left it in
(:func:`registry_state`, read after register's writes, under its lock): the same
aliases (a rollback or a new champion moves ``@champion``), the same pin, no newer
event in the promotion history, no unfinished change or pending version, and the same
lifecycle tags on the champion and on the decided version. Tags that do not bear on a
decision (the monitor's run on the champion, the outcome line) are not part of it.
And only when its verdict compared with today's champion: a decision that promoted
its version is followed by one more (the new champion against itself), so that a
standing gate report always names the champion there is.

The record lives in the registry, not in a report file: ``dvc repro`` deletes a
stage's outputs before running it, and another clone of the project shares the
registry but not the files. It is kept as a tag rather than in the run's artifacts so
that the lookup is one query, not a download.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from alien.config.registry import RegistryConfig
from alien.tracking.events import now
from alien.tracking.names import (
    CHAMPION,
    EVENT_PREFIX,
    JOURNAL_TAG,
    TAG_DECISION,
    TAG_ELIGIBLE,
    TAG_GATE_PASSED,
    TAG_MODE,
    TAG_PENDING,
    TAG_PIN,
    TAG_PROMOTED_AT,
    TAG_ROLLED_BACK_AT,
    TAG_TOKEN,
)

if TYPE_CHECKING:
    from mlflow.entities.model_registry import ModelVersion

    from alien.tracking.store import Store

log = logging.getLogger(__name__)

# the version tags a decision depends on (eligibility, promotion, rollback, what it is)
LIFECYCLE_TAGS = (
    TAG_TOKEN,
    TAG_PENDING,
    TAG_MODE,
    TAG_ELIGIBLE,
    TAG_GATE_PASSED,
    TAG_PROMOTED_AT,
    TAG_ROLLED_BACK_AT,
)


@dataclass(frozen=True)
class Recorded:
    """A decision as :func:`record` kept it on ``version``.

    Attributes:
        version: the version it registered or reused.
        at: when (UTC, ISO-8601).
        inputs: what it was decided on (``gate_key``, ``token``, ``gate_report``, ``registry``).
        registration: the register stage's result then.
        state: :func:`registry_state` right after it.
    """

    version: str
    at: str
    inputs: dict[str, Any]
    registration: dict[str, Any]
    state: dict[str, Any]

    @property
    def gate_report(self) -> dict[str, Any]:
        """The gate report the decision acted on (as the gate wrote it)."""
        return dict(self.inputs["gate_report"])


def tree_digest(path: str | Path, *, suffix: str = "") -> str:
    """sha256 of a file, or of a folder's files (ending in ``suffix``) with their relative paths.

    A missing path has its own digest, so that it differs from every present one.
    """
    root, digest = Path(path), hashlib.sha256()
    if root.is_file():
        files = [root]
    elif root.is_dir():
        files = sorted(p for p in root.rglob(f"*{suffix}") if p.is_file())
    else:
        return hashlib.sha256(b"missing\0" + str(root).encode()).hexdigest()
    for file in files:
        digest.update(str(file.relative_to(root) if file != root else file.name).encode() + b"\0")
        with file.open("rb") as handle:
            digest.update(hashlib.file_digest(handle, "sha256").digest())
    return digest.hexdigest()


def _lifecycle(version: ModelVersion | None) -> dict[str, str | None] | None:
    return None if version is None else {key: version.tags.get(key) for key in LIFECYCLE_TAGS}


def registry_state(
    store: Store, version: str, *, versions: Sequence[ModelVersion] | None = None
) -> dict[str, Any]:
    """What in the registry a decision on ``version`` depends on, as plain JSON types.

    ``versions``: :meth:`Store.versions`, when the caller has just read them.
    """
    found = {str(v.version): v for v in (store.versions() if versions is None else versions)}
    aliases, tags = store.aliases(), store.model_tags()
    events = sorted(key for key in tags if key.startswith(EVENT_PREFIX))
    return {
        "aliases": dict(sorted(aliases.items())),
        "pin": tags.get(TAG_PIN),
        "unfinished_change": tags.get(JOURNAL_TAG),
        "last_event": events[-1] if events else None,
        "pending": [v for v, mv in found.items() if mv.tags.get(TAG_PENDING) == "true"],
        "champion": _lifecycle(found.get(aliases.get(CHAMPION, ""))),
        "decided": _lifecycle(found.get(version)),
    }


def decided_on(token: str, gate_report_file: str | Path, registry: RegistryConfig) -> dict[str, Any]:
    """What a registration decides on, besides the registry's state: the model and data (``token``),
    the verdict (the gate report as written, whose ``inputs`` is the gate's key) and the section."""
    report = json.loads(Path(gate_report_file).read_text(encoding="utf-8"))
    return {
        "token": token,
        "gate_report": report,
        "registry": dataclasses.asdict(registry),
        "gate_key": report.get("inputs"),
    }


def record(store: Store, version: str, *, inputs: Mapping[str, Any], registration: Mapping[str, Any]) -> None:
    """Keep the decision just made on ``version`` (call it last, after every other write, under the lock)."""
    state = registry_state(store, version)
    value = {
        "at": now(),
        "inputs": dict(inputs),
        "registration": dict(registration),
        "state": state,
    }
    store.client.set_model_version_tag(
        store.model_name, version, TAG_DECISION, json.dumps(value, default=str)
    )


def _parse(version: ModelVersion) -> Recorded | None:
    text = version.tags.get(TAG_DECISION)
    if text is None:
        return None
    try:
        value = json.loads(text)
        return Recorded(
            str(version.version), str(value["at"]), dict(value["inputs"]),
            dict(value["registration"]), dict(value["state"]),
        )  # fmt: skip
    except (ValueError, KeyError, TypeError):  # written by something else: not evidence
        log.warning("version %s has an unreadable %s tag; deciding again", version.version, TAG_DECISION)
        return None


def last_decision(store: Store, **inputs: Any) -> Recorded | None:
    """The newest decision made on ``inputs``, if the registry is still in the state it left.

    Args:
        store: the registered model.
        inputs: what the caller would decide on now, compared key by key with the recorded
            inputs (``gate_key=...``; or ``token=..., gate_report=..., registry=...``).

    Returns:
        The recorded decision, or ``None`` (none was made on these inputs, or the registry
        changed since: the caller decides again).

    Raises:
        ValueError: no ``inputs`` given (every decision would match).
    """
    if not inputs:
        raise ValueError("give the inputs to match (gate_key, or token, gate_report and registry)")
    if not store.exists():
        return None
    versions = store.versions()
    wanted = json.loads(json.dumps(inputs, default=str))  # compared as the record keeps them
    matches = [
        r
        for r in (_parse(v) for v in versions)
        if r is not None and all(r.inputs.get(k) == v for k, v in wanted.items())
    ]
    if not matches:
        return None
    newest = max(matches, key=lambda r: (r.at, int(r.version)))
    if newest.state != registry_state(store, newest.version, versions=versions):
        log.info("the registry changed since the decision of %s on version %s", newest.at, newest.version)
        return None
    if (newest.gate_report.get("champion") or {}).get("version") != newest.state["aliases"].get(CHAMPION):
        # that decision moved @champion: its verdict compared with the one before; compare with this one
        return None
    return newest


def unchanged_registration(recorded: Recorded) -> dict[str, Any]:
    """What the register stage reports when ``recorded`` still holds: nothing promoted or written,
    and since when nothing changed (the champion's role, or the reason it is not the champion)."""
    last = recorded.registration
    champion = recorded.state["aliases"].get(CHAMPION)
    standing = (
        f"version {recorded.version} is the champion" if champion == recorded.version else last["reason"]
    )
    return {
        **last,
        "promoted": False,
        "champion_version": champion,
        "previous_champion": champion,
        "reason": f"unchanged since the decision of {recorded.at} (same model, data, gate report and "
        f"registry state): {standing}",
        "reused": True,
        "recovered": [],
        "unchanged": True,
        "decided_at": recorded.at,
    }
