"""Promotion, rollback and pinning: the lifecycle rules, each change one journal plan.

Rules (``docs/lifecycle.md`` explains them to users):

* promotion is a compare-and-set: it happens only if the champion is still the
  one the caller (the gate) compared against, re-read just before the move;
* never in ``experiment`` mode, never while the champion is pinned, never for
  a version tagged not eligible (rolled back, failed its gate, an experiment);
* a rollback returns ``@champion`` to the previous eligible champion, marks the
  replaced version not eligible, and pins the restored champion until
  :func:`unpin`; every change records who, when, from → to and why.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from alien.tracking import journal
from alien.tracking.cards import refresh_cards
from alien.tracking.events import actor, event_step, now
from alien.tracking.names import (
    CHAMPION,
    PREVIOUS,
    PRODUCTION,
    ROLLED_BACK,
    RUN_PROMOTED,
    RUN_ROLLED_BACK,
    TAG_ELIGIBLE,
    TAG_INELIGIBLE,
    TAG_PENDING,
    TAG_PIN,
    TAG_PROMOTED_AT,
    TAG_PROMOTED_BY,
    TAG_PROMOTED_FROM,
    TAG_ROLLED_BACK_AT,
)
from alien.tracking.recovery import recover

if TYPE_CHECKING:
    from alien.tracking.store import Store

Step = tuple[str, ...]


@dataclass(frozen=True)
class Promotion:
    """The outcome of a promotion attempt: whether it happened, the champion before and after, why."""

    promoted: bool
    previous: str | None
    champion: str | None
    reason: str


MAX_REASON = 1000  # the journal plan carrying it must fit a 5000-character tag


def _require_reason(reason: str) -> str:
    if not isinstance(reason, str) or not reason.strip():
        raise ValueError(f"a reason is required (who reads the history needs it), got {reason!r}")
    if len(reason) > MAX_REASON:
        raise ValueError(
            f"the reason is {len(reason)} characters; at most {MAX_REASON} are kept in the history"
        )
    return reason.strip()


def blocker(store: Store, version: str, *, expected_champion: str | None) -> str | None:
    """Why ``version`` may not become champion now, or ``None`` if it may (reads the live registry)."""
    if store.mode != PRODUCTION:
        return f"registry.mode is {store.mode!r}: experiments never move production aliases"
    tags = store.model_version(version).tags
    if tags.get(TAG_ELIGIBLE, "true") != "true":
        return f"version {version} is not eligible for promotion ({tags.get(TAG_INELIGIBLE, 'marked')})"
    pin = store.pin()
    if pin is not None:
        return (
            f"champion v{pin['version']} is pinned since {pin['at']} by {pin['by']} (rollback: "
            f"{pin['reason']}); run `alien unpin --reason ...` to allow promotions"
        )
    current = store.champion()
    if current != expected_champion:
        return (
            f"the champion changed from {expected_champion or 'none'} (what the gate compared with) "
            f"to {current or 'none'}: not promoted; rerun the gate"
        )
    return None


def promote_steps(
    version: str, old: str | None, *, reason: str, by: str, run_id: str | None, extra: dict[str, Any]
) -> list[Step]:
    """The steps that make ``version`` champion, the ``champion`` move last (the commit point)."""
    steps: list[Step] = [] if old is None else [("alias", PREVIOUS, old)]
    steps += [
        ("vtag", version, TAG_PROMOTED_AT, now()),
        ("vtag", version, TAG_PROMOTED_FROM, old or ""),
        ("vtag", version, TAG_PROMOTED_BY, by),
        event_step("promote", from_version=old, to_version=version, reason=reason, by=by, extra=extra),
    ]
    if run_id:
        steps.append(("rtag", run_id, RUN_PROMOTED, "true"))
    return [*steps, ("alias", CHAMPION, version)]


def promote(
    store: Store,
    version: str,
    *,
    expected_champion: str | None,
    reason: str,
    run_id: str | None = None,
    extra: dict[str, Any] | None = None,
) -> Promotion:
    """Make ``version`` the champion if the champion is still ``expected_champion`` (compare-and-set).

    Refused (``promoted=False`` with the reason) in experiment mode, while the
    champion is pinned, for a version that is not eligible, or when the champion
    changed since the caller looked. Finishes an interrupted change first (hold the lock).

    Raises:
        ValueError: an empty or too long reason, an unknown or unfinished (pending) version.
    """
    reason = _require_reason(reason)
    if store.model_version(version).tags.get(TAG_PENDING) == "true":
        raise ValueError(f"version {version} is an unfinished registration; it cannot be promoted")
    recover(store)
    current = store.champion()
    if current == version:
        return Promotion(False, current, current, f"version {version} is already the champion")
    why_not = blocker(store, version, expected_champion=expected_champion)
    if why_not is not None:
        return Promotion(False, current, current, why_not)
    steps = promote_steps(version, current, reason=reason, by=actor(), run_id=run_id, extra=extra or {})
    journal.apply(store.client, store.model_name, journal.Plan("promote", tuple(steps), (version,)))
    refresh_cards(store, [v for v in (version, current) if v])
    return Promotion(True, current, store.champion(), reason)


def _rollback_target(store: Store, current: str) -> str:
    """The version ``previous-champion`` names, walking back past versions not eligible."""
    known = {str(v.version): dict(v.tags) for v in store.versions()}
    target = store.aliases().get(PREVIOUS)
    seen = {current}
    while target is not None and target in known and target not in seen:
        if known[target].get(TAG_ELIGIBLE, "true") == "true":
            return target
        seen.add(target)
        target = known[target].get(TAG_PROMOTED_FROM) or None
    raise ValueError(
        f"cannot roll back {store.model_name!r}: champion v{current} has no earlier eligible "
        "champion to return to (see `alien champion --history`)"
    )


def rollback(store: Store, *, reason: str, by: str | None = None) -> tuple[str, str]:
    """Return ``@champion`` to the previous eligible champion and pin it; returns ``(from, to)``.

    Raises:
        ValueError: empty reason, experiment mode, no champion, or nothing to return to.
    """
    reason, by = _require_reason(reason), by or actor()
    if store.mode != PRODUCTION:
        raise ValueError(f"registry.mode is {store.mode!r}: a rollback moves production aliases")
    recover(store)
    current = store.champion()
    if current is None:
        raise ValueError(f"cannot roll back {store.model_name!r}: it has no {CHAMPION!r} alias")
    target = _rollback_target(store, current)
    before = store.model_version(target).tags.get(TAG_PROMOTED_FROM) or None
    versions = {str(v.version): v for v in store.versions()}
    eligible_before = before in versions and versions[before].tags.get(TAG_ELIGIBLE, "true") == "true"
    at = now()
    pin = {"version": target, "at": at, "by": by, "reason": reason, "rolled_back": current}
    steps: list[Step] = [
        ("vtag", current, TAG_ELIGIBLE, "false"),
        ("vtag", current, TAG_INELIGIBLE, f"rolled back on {at} by {by}: {reason}"),
        ("vtag", current, TAG_ROLLED_BACK_AT, at),
        ("alias", ROLLED_BACK, current),
        ("alias", PREVIOUS, before)
        if before and eligible_before and before != current
        else ("unalias", PREVIOUS),
        ("mtag", TAG_PIN, json.dumps(pin, sort_keys=True)),
        event_step("rollback", from_version=current, to_version=target, reason=reason, by=by),
    ]
    run_id = versions[current].run_id
    if run_id:
        steps += [("rtag", run_id, RUN_PROMOTED, "false"), ("rtag", run_id, RUN_ROLLED_BACK, "true")]
    steps.append(("alias", CHAMPION, target))
    journal.apply(store.client, store.model_name, journal.Plan("rollback", tuple(steps), (current, target)))
    refresh_cards(store, [current, target])
    return current, target


def unpin(store: Store, *, reason: str, by: str | None = None) -> str:
    """Allow promotions again after a rollback; returns the version that was pinned.

    Raises:
        ValueError: empty reason, or nothing is pinned.
    """
    reason, by = _require_reason(reason), by or actor()
    recover(store)
    pin = store.pin()
    if pin is None:
        raise ValueError(f"the champion of {store.model_name!r} is not pinned")
    version = str(pin["version"])
    steps = (
        ("muntag", TAG_PIN),
        event_step("unpin", from_version=version, to_version=version, reason=reason, by=by),
    )
    journal.apply(store.client, store.model_name, journal.Plan("unpin", steps, (version,)))
    refresh_cards(store, [version])
    return version
