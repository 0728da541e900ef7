"""Repairing what an interrupted change left: a recorded plan, orphaned pending versions, stuck runs.

Every write — a registration, a promotion, a rollback, an unpin — first calls
:func:`recover`, under the registry lock: it runs a plan still recorded in the journal
to its end (roll forward; every step is idempotent), deletes *orphans* and ends
their MLflow runs FAILED, then ends FAILED every *abandoned run*.

A pending version (``alien.pending=true``, created by the first write of a
registration) is an orphan when the attempt that began it can no longer finish it:
its token is ours (an earlier attempt of this very registration), or its owner
process on this machine is gone (or is this process, which holds the lock), or —
another machine's, which cannot be asked — its run has ended or it is older than
:data:`STALE_AFTER_S`.

A registration's run is tagged from its start (one call: :func:`registering_tags`)
with its phase, its model and its owner — ``host:pid`` and the process's start time,
so a recycled pid is not mistaken for the owner. It is *abandoned* when it is still
RUNNING and its owner is gone by the same rule (another machine's: started over
:data:`STALE_AFTER_S` ago) — wherever the owner died, also inside ``log_model``
before any version exists. ``alien champion`` lists abandoned runs
(:func:`abandoned_runs`); recovery ends them FAILED with the reason in
``alien.failed_reason``. A live owner's run is never touched.
"""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import psutil

from alien.assets.processes import pid_alive
from alien.tracking import journal
from alien.tracking.cards import refresh_cards
from alien.tracking.names import (
    REGISTERING,
    RUN_FAILED_REASON,
    RUN_MODEL,
    RUN_PHASE,
    TAG_OWNER,
    TAG_OWNER_STARTED,
    TAG_PENDING,
    TAG_TOKEN,
)

if TYPE_CHECKING:
    from mlflow.entities import Run
    from mlflow.entities.model_registry import ModelVersion

    from alien.tracking.store import Store

# a pending version of another machine is presumed dead after this long (it cannot be asked)
STALE_AFTER_S = 3600.0
_ENDED = ("FINISHED", "FAILED", "KILLED")


@dataclass(frozen=True)
class AbandonedRun:
    """A registration's run left RUNNING by an owner that is gone (what ``alien champion`` lists)."""

    run_id: str
    run_name: str
    status: str
    owner: str  # pid@host
    started_at: str  # ISO-8601 UTC
    version: str | None  # the version it created, if it got that far
    reason: str  # also the run's alien.failed_reason once ended

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Recovery:
    """What :func:`recover` repaired: the finished plan's action, the orphans deleted, the runs ended."""

    finished: str | None = None
    deleted: tuple[str, ...] = field(default=())
    ended: tuple[AbandonedRun, ...] = field(default=())

    def __bool__(self) -> bool:
        return self.finished is not None or bool(self.deleted) or bool(self.ended)


def owner() -> str:
    """This process, as recorded on the versions it begins: ``host:pid``."""
    return f"{socket.gethostname()}:{os.getpid()}"


def owner_tags() -> dict[str, str]:
    """This process as the owner of a version or a run: ``host:pid`` and its start time."""
    return {TAG_OWNER: owner(), TAG_OWNER_STARTED: f"{psutil.Process().create_time():.3f}"}


def registering_tags(model_name: str) -> dict[str, str]:
    """The tags a registration's run starts with (in its creating call): phase, model, owner."""
    return {RUN_PHASE: REGISTERING, RUN_MODEL: model_name, **owner_tags()}


def _recycled(pid: int, started: str | None) -> bool:
    """Whether live ``pid`` is another process than the one that started at ``started``."""
    try:
        return abs(psutil.Process(pid).create_time() - float(started or "nan")) > 1.0
    except psutil.NoSuchProcess:
        return True
    except (psutil.AccessDenied, ValueError):
        return False


def _owner_gone(tags: Mapping[str, str]) -> bool | None:
    """Whether the process that began a version or a run is gone (``None``: another machine's).

    This very process counts as gone: it holds the lock, so it is not still registering.
    A live pid whose start time differs from the recorded one was recycled: gone too.
    """
    host, _, pid = tags.get(TAG_OWNER, ":").rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return None
    if int(pid) == os.getpid() or not pid_alive(int(pid)):
        return True
    started = tags.get(TAG_OWNER_STARTED)
    return started is not None and _recycled(int(pid), started)


def _owner_name(tags: Mapping[str, str]) -> str:
    """``pid@host`` of the recorded owner (``unknown`` when untagged)."""
    host, _, pid = tags.get(TAG_OWNER, "").rpartition(":")
    return f"{pid}@{host}" if host and pid else "unknown"


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
    if run_status in _ENDED:
        return True
    return time.time() - version.creation_timestamp / 1000 > STALE_AFTER_S


def orphans(store: Store, *, token: str | None = None) -> list[ModelVersion]:
    """Pending versions that no running attempt will finish (reads only)."""
    plan = store.pending_change()
    claimed = set(plan.versions) if plan is not None else set()
    return [
        v
        for v in store.versions()
        if str(v.version) not in claimed and is_orphan(v, token=token, run_status=store.run_status(v.run_id))
    ]


def end_failed(store: Store, run_id: str, reason: str) -> None:
    """End run ``run_id`` FAILED, the reason first in ``alien.failed_reason`` (a FAILED run has one)."""
    store.client.set_tag(run_id, RUN_FAILED_REASON, reason)
    store.client.set_terminated(run_id, "FAILED")


def end_abandoned_run(store: Store, version: ModelVersion) -> None:
    """End ``version``'s run FAILED if it is still RUNNING although the process that ran it is gone."""
    if version.run_id and _owner_gone(version.tags) and store.run_status(version.run_id) == "RUNNING":
        why = f"owner process {_owner_name(version.tags)} gone after version {version.version} was created"
        end_failed(store, version.run_id, why)


def _abandoned(run: Run, version: str | None) -> AbandonedRun | None:
    """``run`` as an abandoned run, or ``None`` while its owner may still finish it."""
    tags, info = run.data.tags, run.info
    gone = _owner_gone(tags)
    stale = gone is None and time.time() - (info.start_time or 0) / 1000 > STALE_AFTER_S
    if not (gone or stale):
        return None
    who = _owner_name(tags)
    when = "before a version was created" if version is None else f"after version {version} was created"
    what = f"on another machine, its run RUNNING for over {STALE_AFTER_S:.0f} s" if stale else "gone"
    started = datetime.fromtimestamp((info.start_time or 0) / 1000, UTC).isoformat()
    reason = f"owner process {who} {what} {when}"
    return AbandonedRun(info.run_id, info.run_name or "", str(info.status), who, started, version, reason)


def abandoned_runs(store: Store) -> list[AbandonedRun]:
    """RUNNING runs of this model's registrations whose owner is gone (reads only)."""
    by_run = {v.run_id: str(v.version) for v in store.versions() if v.run_id}
    found = (_abandoned(run, by_run.get(run.info.run_id)) for run in store.registering_runs())
    return [run for run in found if run is not None]


def recover(store: Store, *, token: str | None = None) -> Recovery:
    """Finish a recorded plan, delete orphans, end abandoned runs FAILED (hold the lock)."""
    plan = journal.recover(store.client, store.model_name)
    if plan is not None:
        refresh_cards(store, list(plan.versions))
        for version in plan.versions:
            end_abandoned_run(store, store.model_version(version))
    deleted = []
    for found in orphans(store, token=token):
        if found.run_id and store.run_status(found.run_id) == "RUNNING":
            end_failed(store, found.run_id, f"its pending version {found.version} was deleted as an orphan")
        store.client.delete_model_version(store.model_name, str(found.version))
        deleted.append(str(found.version))
    ended = abandoned_runs(store)
    for run in ended:
        end_failed(store, run.run_id, run.reason)
    return Recovery(None if plan is None else plan.action, tuple(deleted), tuple(ended))
