"""Registering a version idempotently, and cleaning up after an interrupted registration.

A registration is identified by its *token*: a hash of what it registers (the
deployable's files, the data version, the model name and mode) — not of the gate
report, which names the current champion and so changes on every unchanged nightly
run; the same model is never registered twice.
It proceeds in two writes that each take effect at once:

1. the version is created with ``alien.pending=true``, its token, run id and
   owner (``host:pid``) — one call; readers ignore pending versions and no alias
   points to one;
2. one journal plan (:mod:`alien.tracking.journal`) clears ``pending``, moves
   ``challenger`` and, when allowed, ``champion`` (last) and records the event.

A crash before (2) is recorded leaves a pending version with no alias: an
*orphan*. :func:`recover` — run by the next registration, under the lock —
finishes a recorded plan and deletes orphans (ending their MLflow runs as
FAILED). A retry with the same token finds the finished version instead of
registering another (and promotes it if the gate passed and it is not the champion).
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from alien.assets.processes import pid_alive
from alien.tracking import journal
from alien.tracking.events import actor, event_step, now
from alien.tracking.gate_record import TAG_GATE_REPORT, record_gate
from alien.tracking.lifecycle import Promotion, blocker, promote_steps, refresh_cards
from alien.tracking.registry import CHALLENGER, TAG_ELIGIBLE, TAG_MODE, TAG_PENDING

if TYPE_CHECKING:
    from mlflow.entities.model_registry import ModelVersion

    from alien.tracking.registry import Registry

TAG_TOKEN = "alien.registration_token"
TAG_OWNER = "alien.owner"
TAG_PENDING_SINCE = "alien.pending_since"
# a pending version of another machine is presumed dead after this long (it cannot be asked)
STALE_AFTER_S = 3600.0


@dataclass(frozen=True)
class Recovery:
    """What :func:`recover` repaired: the finished plan's action, the orphans deleted."""

    finished: str | None = None
    deleted: tuple[str, ...] = field(default=())

    def __bool__(self) -> bool:
        return self.finished is not None or bool(self.deleted)


def registration_token(
    deployable: str | Path,
    data_version: Mapping[str, Any],
    *,
    model_name: str,
    mode: str,
) -> str:
    """The sha256 that identifies one registration (same inputs -> same token)."""
    digest = hashlib.sha256(f"{model_name}\n{mode}\n".encode())
    root = Path(deployable)
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        digest.update(str(path.relative_to(root)).encode() + b"\0")
        with path.open("rb") as handle:
            digest.update(hashlib.file_digest(handle, "sha256").digest())
    digest.update(json.dumps(dict(data_version), sort_keys=True, default=str).encode())
    return digest.hexdigest()


def owner() -> str:
    """This process, as recorded on the versions it begins: ``host:pid``."""
    return f"{socket.gethostname()}:{os.getpid()}"


def _owner_gone(tags: Mapping[str, str]) -> bool | None:
    """Whether the process that began a version is gone (``None``: it ran on another machine).

    This very process counts as gone: it holds the lock, so it is not still registering.
    """
    host, _, pid = tags.get(TAG_OWNER, ":").rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return None
    return int(pid) == os.getpid() or not pid_alive(int(pid))


def is_orphan(version: ModelVersion, *, token: str | None = None, run_status: str | None = None) -> bool:
    """Whether a pending version was left by an attempt that can no longer finish it.

    Ours (same ``token``), or its owner on this machine is gone, or (another machine's)
    its run has ended or it is older than :data:`STALE_AFTER_S`.
    """
    tags = version.tags
    if tags.get(TAG_PENDING) != "true":
        return False
    if token is not None and tags.get(TAG_TOKEN) == token:
        return True
    gone = _owner_gone(tags)
    if gone is not None:
        return gone
    if run_status in ("FINISHED", "FAILED", "KILLED"):
        return True
    return time.time() - version.creation_timestamp / 1000 > STALE_AFTER_S


def _run_status(registry: Registry, run_id: str | None) -> str | None:
    from mlflow.exceptions import MlflowException

    if not run_id:
        return None
    try:
        return str(registry.client.get_run(run_id).info.status)
    except MlflowException:
        return None


def orphans(registry: Registry, *, token: str | None = None) -> list[ModelVersion]:
    """Pending versions that no running attempt will finish (reads only)."""
    plan = registry.pending_change()
    claimed = set(plan.versions) if plan is not None else set()
    return [
        v
        for v in registry.versions()
        if str(v.version) not in claimed
        and is_orphan(v, token=token, run_status=_run_status(registry, v.run_id))
    ]


def end_abandoned_run(registry: Registry, version: ModelVersion) -> None:
    """End ``version``'s run FAILED if it is still RUNNING although the process that ran it is gone."""
    if version.run_id and _owner_gone(version.tags) and _run_status(registry, version.run_id) == "RUNNING":
        registry.client.set_terminated(version.run_id, "FAILED")


def recover(registry: Registry, *, token: str | None = None) -> Recovery:
    """Finish a recorded plan, then delete orphans and end their runs FAILED (hold the lock)."""
    plan = journal.recover(registry.client, registry.model_name)
    if plan is not None:
        refresh_cards(registry, list(plan.versions))
        for version in plan.versions:
            end_abandoned_run(registry, registry.model_version(version))
    deleted = []
    for found in orphans(registry, token=token):
        if found.run_id and _run_status(registry, found.run_id) == "RUNNING":
            registry.client.set_terminated(found.run_id, "FAILED")
        registry.client.delete_model_version(registry.model_name, str(found.version))
        deleted.append(str(found.version))
    return Recovery(None if plan is None else plan.action, tuple(deleted))


def find_registered(registry: Registry, token: str) -> ModelVersion | None:
    """The finished version registered with ``token``, if any."""
    for version in registry.versions():
        if version.tags.get(TAG_TOKEN) == token and version.tags.get(TAG_PENDING) != "true":
            return version
    return None


def begin_version(
    registry: Registry, *, source: str, model_id: str | None, run_id: str, token: str,
    tags: Mapping[str, str], description: str,
) -> str:  # fmt: skip
    """Create the version, pending (one write); returns its number."""
    from mlflow.exceptions import MlflowException

    if not registry.exists():
        try:
            registry.client.create_registered_model(registry.model_name)
        except MlflowException as exc:
            if getattr(exc, "error_code", "") not in ("RESOURCE_ALREADY_EXISTS", "ALREADY_EXISTS"):
                raise
    marks = {TAG_PENDING: "true", TAG_TOKEN: token, TAG_OWNER: owner(), TAG_PENDING_SINCE: now()}
    version = registry.client.create_model_version(
        registry.model_name, source, run_id=run_id, model_id=model_id, description=description,
        tags={**tags, "run_id": run_id, TAG_MODE: registry.mode, **marks},
    )  # fmt: skip
    return str(version.version)


def finish_version(
    registry: Registry, version: str, *, promote: bool, expected_champion: str | None, reason: str,
    run_id: str, extra: dict[str, Any],
) -> Promotion:  # fmt: skip
    """The commit plan: clear pending, move ``challenger``, promote if wanted and allowed (CAS)."""
    by = actor()
    current = registry.champion()
    why_not = blocker(registry, version, expected_champion=expected_champion) if promote else None
    steps: list[tuple[str, ...]] = [("vuntag", version, TAG_PENDING)]
    if registry.mode == "production":
        steps.insert(0, ("alias", CHALLENGER, version))
    else:
        steps.insert(0, ("vtag", version, TAG_ELIGIBLE, "false"))
        steps.append(event_step("experiment", from_version=None, to_version=version, reason=reason, by=by))
    promoted = promote and why_not is None
    if promoted:
        steps += promote_steps(version, current, reason=reason, by=by, run_id=run_id, extra=extra)
    touched = (version, current) if promoted and current else (version,)
    journal.apply(registry.client, registry.model_name, journal.Plan("register", tuple(steps), touched))
    refresh_cards(registry, list(touched))
    after = registry.champion()
    if promoted and after != version:
        return Promotion(
            False, current, after, f"champion moved to {after} by another writer during the move"
        )
    return Promotion(promoted, current, after, reason if promoted else (why_not or reason))


def abandon(registry: Registry, version: str) -> None:
    """After an in-process failure: finish the recorded plan, or delete the pending version."""
    plan = journal.recover(registry.client, registry.model_name)
    if plan is None and registry.model_version(version).tags.get(TAG_PENDING) == "true":
        registry.client.delete_model_version(registry.model_name, version)


@dataclass(frozen=True)
class Registration:
    """A registered version, what became of its promotion, and whether an earlier attempt made it."""

    version: str
    promotion: Promotion
    reused: bool


def register_version(
    registry: Registry, source: str, *, token: str, run_id: str, model_id: str | None,
    tags: Mapping[str, str], description: str, promote: bool, expected_champion: str | None,
    reason: str, extra: dict[str, Any] | None = None,
) -> Registration:  # fmt: skip
    """See :meth:`alien.tracking.registry.Registry.register_version`."""
    found = find_registered(registry, token)
    if found is not None:
        return reused(registry, found, promote=promote, expected_champion=expected_champion, reason=reason)
    version = begin_version(
        registry, source=source, model_id=model_id, run_id=run_id, token=token, tags=tags,
        description=description,
    )  # fmt: skip
    try:
        promotion = finish_version(
            registry, version, promote=promote, expected_champion=expected_champion, reason=reason,
            run_id=run_id, extra=extra or {},
        )  # fmt: skip
    except BaseException as exc:
        try:
            abandon(registry, version)
        except Exception as undo:
            exc.add_note(
                f"cleaning up version {version} failed too ({undo!r}); the next registration "
                "finishes or deletes it, and `alien champion` reports it until then"
            )
        raise
    return Registration(version, promotion, reused=False)


def reused(
    registry: Registry, found: ModelVersion, *, promote: bool, expected_champion: str | None, reason: str,
    run_id: str | None = None, gate_report: Mapping[str, Any] | None = None,
) -> Registration:  # fmt: skip
    """This model and data are registered already (an earlier attempt, or an unchanged nightly run).

    Nothing is registered again; a changed verdict is recorded (:func:`record_gate`), and
    if the gate passed and it is not the champion, it is promoted under the same
    compare-and-set as a new version.
    """
    end_abandoned_run(registry, found)
    report_uri = None if gate_report is None else record_gate(registry, found, gate_report)
    version, champion = str(found.version), registry.champion()
    touched = [version] if report_uri is not None else []  # the card's status names the new verdict
    challenger = registry.aliases().get(CHALLENGER)
    # @challenger is the latest run's candidate, also when that candidate was registered before
    if challenger != version and registry.mode == found.tags.get(TAG_MODE, "production") == "production":
        registry.client.set_registered_model_alias(registry.model_name, CHALLENGER, version)
        touched += [version, *([challenger] if challenger else [])]
    if touched:
        refresh_cards(registry, touched)
    note = f"this model and data are already registered as version {version} (run {found.run_id})"
    if champion == version:
        return Registration(version, Promotion(False, champion, champion, f"{note}, the champion"), True)
    if not promote:
        return Registration(version, Promotion(False, champion, champion, f"{note}; {reason}"), True)
    extra = {"run_id": found.run_id, "gate_report": report_uri or found.tags.get(TAG_GATE_REPORT)}
    outcome = registry.promote(
        version, expected_champion=expected_champion, reason=reason, run_id=run_id,
        extra={k: v for k, v in extra.items() if v},
    )  # fmt: skip
    return Registration(
        version, Promotion(outcome.promoted, champion, outcome.champion, f"{note}; {outcome.reason}"), True
    )
