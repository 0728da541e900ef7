"""Registering a version once per model and data, and meeting it again on a later run.

A registration is identified by its *token*: a hash of what it registers (the
deployable's files, the data version, the model name and mode) — not of the gate
report, which names the current champion and so changes on every unchanged nightly
run; the same model is never registered twice.
It proceeds in two writes that each take effect at once:

1. the version is created with ``alien.pending=true``, its token, run id and
   owner (``host:pid`` and the process's start time) — one call; readers ignore pending versions and no alias
   points to one;
2. one journal plan (:mod:`alien.tracking.journal`) clears ``pending``, moves
   ``challenger`` and, when allowed, ``champion`` (last) and records the event.

A crash before (2) is recorded leaves a pending version with no alias: an
*orphan*, which the next write deletes (:mod:`alien.tracking.recovery`). A retry
with the same token — or an unchanged nightly run — finds the finished version
instead of registering another (:func:`reused`): the gate's verdict on it is
recorded if it changed, and it is promoted if the gate passed and it is not the champion.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from alien.tracking import journal, lifecycle
from alien.tracking.cards import refresh_cards
from alien.tracking.events import actor, event_step, now
from alien.tracking.lifecycle import Promotion, blocker, promote_steps
from alien.tracking.names import (
    CHALLENGER,
    PRODUCTION,
    TAG_ELIGIBLE,
    TAG_GATE_DECIDED_AT,
    TAG_GATE_PASSED,
    TAG_GATE_REPORT,
    TAG_MODE,
    TAG_PENDING,
    TAG_PENDING_SINCE,
    TAG_RUN_ID,
    TAG_TOKEN,
)
from alien.tracking.recovery import end_abandoned_run, owner_tags

if TYPE_CHECKING:
    from mlflow.entities.model_registry import ModelVersion

    from alien.tracking.store import Store


@dataclass(frozen=True)
class Registration:
    """A registered version, what became of its promotion, and whether an earlier attempt made it."""

    version: str
    promotion: Promotion
    reused: bool


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


def find_registered(store: Store, token: str) -> ModelVersion | None:
    """The finished version registered with ``token``, if any."""
    for version in store.versions():
        if version.tags.get(TAG_TOKEN) == token and version.tags.get(TAG_PENDING) != "true":
            return version
    return None


def begin_version(
    store: Store,
    *,
    source: str,
    model_id: str | None,
    run_id: str,
    token: str,
    tags: Mapping[str, str],
    description: str,
) -> str:
    """Create the version, pending (one write); returns its number."""
    from mlflow.exceptions import MlflowException

    if not store.exists():
        try:
            store.client.create_registered_model(store.model_name)
        except MlflowException as exc:
            if getattr(exc, "error_code", "") not in ("RESOURCE_ALREADY_EXISTS", "ALREADY_EXISTS"):
                raise
    marks = {TAG_PENDING: "true", TAG_TOKEN: token, **owner_tags(), TAG_PENDING_SINCE: now()}
    version = store.client.create_model_version(
        store.model_name,
        source,
        run_id=run_id,
        model_id=model_id,
        description=description,
        tags={**tags, TAG_RUN_ID: run_id, TAG_MODE: store.mode, **marks},
    )
    return str(version.version)


def finish_version(
    store: Store,
    version: str,
    *,
    promote: bool,
    expected_champion: str | None,
    reason: str,
    run_id: str,
    extra: dict[str, Any],
) -> Promotion:
    """The commit plan: clear pending, move ``challenger``, promote if wanted and allowed (CAS)."""
    by = actor()
    current = store.champion()
    why_not = blocker(store, version, expected_champion=expected_champion) if promote else None
    steps: list[tuple[str, ...]] = [("vuntag", version, TAG_PENDING)]
    if store.mode == PRODUCTION:
        steps.insert(0, ("alias", CHALLENGER, version))
    else:
        steps.insert(0, ("vtag", version, TAG_ELIGIBLE, "false"))
        steps.append(event_step("experiment", from_version=None, to_version=version, reason=reason, by=by))
    promoted = promote and why_not is None
    if promoted:
        steps += promote_steps(version, current, reason=reason, by=by, run_id=run_id, extra=extra)
    touched = (version, current) if promoted and current else (version,)
    journal.apply(store.client, store.model_name, journal.Plan("register", tuple(steps), touched))
    refresh_cards(store, list(touched))
    after = store.champion()
    if promoted and after != version:
        return Promotion(
            False, current, after, f"champion moved to {after} by another writer during the move"
        )
    return Promotion(promoted, current, after, reason if promoted else (why_not or reason))


def abandon(store: Store, version: str) -> None:
    """After an in-process failure: finish the recorded plan, or delete the pending version."""
    plan = journal.recover(store.client, store.model_name)
    if plan is None and store.model_version(version).tags.get(TAG_PENDING) == "true":
        store.client.delete_model_version(store.model_name, version)


def register_version(
    store: Store,
    source: str,
    *,
    token: str,
    run_id: str,
    model_id: str | None,
    tags: Mapping[str, str],
    description: str,
    promote: bool,
    expected_champion: str | None,
    reason: str,
    extra: dict[str, Any] | None = None,
) -> Registration:
    """Register ``source`` once per ``token``: pending version, then one commit plan.

    A finished version with the same token is returned instead of a new one
    (``reused``). Promotion, when ``promote``, is the compare-and-set of
    :func:`alien.tracking.lifecycle.promote`; ``challenger`` moves in production mode
    only. On failure the pending version is cleaned up (or left, reported, for the
    next run) and the error re-raised. Hold the lock and recover first.
    """
    found = find_registered(store, token)
    if found is not None:
        return reused(store, found, promote=promote, expected_champion=expected_champion, reason=reason)
    version = begin_version(
        store,
        source=source,
        model_id=model_id,
        run_id=run_id,
        token=token,
        tags=tags,
        description=description,
    )
    try:
        promotion = finish_version(
            store,
            version,
            promote=promote,
            expected_champion=expected_champion,
            reason=reason,
            run_id=run_id,
            extra=extra or {},
        )
    except BaseException as exc:
        try:
            abandon(store, version)
        except Exception as undo:
            exc.add_note(
                f"cleaning up version {version} failed too ({undo!r}); the next registration "
                "finishes or deletes it, and `alien champion` reports it until then"
            )
        raise
    return Registration(version, promotion, reused=False)


def record_gate(store: Store, found: ModelVersion, gate_report: Mapping[str, Any]) -> str | None:
    """Record a new verdict on an already registered version (the gate re-decided it).

    The same model and data can meet a different verdict later: other gate params, another
    champion. When the verdict differs from the version's ``gate_passed`` tag, the report
    is logged into the version's run as ``gate_reports/<UTC>.json`` and the tags point at
    it, so the listing, the card and the promotion event name the verdict that acted.

    Returns:
        The report's ``runs:/`` URI, or ``None`` when the verdict is unchanged.
    """
    passed = str(bool(gate_report["passed"])).lower()
    if found.tags.get(TAG_GATE_PASSED) == passed:
        return None
    at = now()
    artifact = f"gate_reports/{at.replace(':', '').replace('+0000', 'Z')}.json"
    if found.run_id is None:  # registered without a run (not by this product): nowhere to keep the report
        uri = "(no run to keep the report in)"
    else:
        store.client.log_text(found.run_id, json.dumps(dict(gate_report), indent=2), artifact)
        uri = f"runs:/{found.run_id}/{artifact}"
    for key, value in ((TAG_GATE_PASSED, passed), (TAG_GATE_REPORT, uri), (TAG_GATE_DECIDED_AT, at)):
        store.client.set_model_version_tag(store.model_name, str(found.version), key, value)
    return uri


def _move_challenger(store: Store, found: ModelVersion) -> list[str]:
    """Point ``@challenger`` at ``found`` (production only); returns the versions whose role changed."""
    version, challenger = str(found.version), store.aliases().get(CHALLENGER)
    if challenger == version or not store.mode == found.tags.get(TAG_MODE, PRODUCTION) == PRODUCTION:
        return []
    store.client.set_registered_model_alias(store.model_name, CHALLENGER, version)
    return [version, *([challenger] if challenger else [])]


def reused(
    store: Store,
    found: ModelVersion,
    *,
    promote: bool,
    expected_champion: str | None,
    reason: str,
    run_id: str | None = None,
    gate_report: Mapping[str, Any] | None = None,
) -> Registration:
    """This model and data are registered already (an earlier attempt, or an unchanged nightly run).

    Nothing is registered again; a changed verdict is recorded (:func:`record_gate`),
    ``@challenger`` moves to it (it is the latest run's candidate), and if the gate
    passed and it is not the champion, it is promoted under the same compare-and-set
    as a new version.
    """
    end_abandoned_run(store, found)
    report_uri = None if gate_report is None else record_gate(store, found, gate_report)
    version, champion = str(found.version), store.champion()
    touched = [version] if report_uri is not None else []  # the card's status names the new verdict
    touched += _move_challenger(store, found)
    if touched:
        refresh_cards(store, touched)
    note = f"this model and data are already registered as version {version} (run {found.run_id})"
    if champion == version:
        return Registration(version, Promotion(False, champion, champion, f"{note}, the champion"), True)
    if not promote:
        return Registration(version, Promotion(False, champion, champion, f"{note}; {reason}"), True)
    extra = {"run_id": found.run_id, "gate_report": report_uri or found.tags.get(TAG_GATE_REPORT)}
    outcome = lifecycle.promote(
        store,
        version,
        expected_champion=expected_champion,
        reason=reason,
        run_id=run_id,
        extra={k: v for k, v in extra.items() if v},
    )
    return Registration(
        version, Promotion(outcome.promoted, champion, outcome.champion, f"{note}; {outcome.reason}"), True
    )
