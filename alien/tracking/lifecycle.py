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
from alien.tracking.events import actor, event_step, now
from alien.tracking.gate_record import TAG_GATE_DECIDED_AT, TAG_GATE_REPORT
from alien.tracking.registry import (
    CHALLENGER,
    CHAMPION,
    PIN_TAG,
    PREVIOUS,
    ROLLED_BACK,
    TAG_ELIGIBLE,
    TAG_GATE_PASSED,
    TAG_PENDING,
    TAG_PROMOTED_AT,
    TAG_PROMOTED_FROM,
)

if TYPE_CHECKING:
    from alien.tracking.registry import Registry

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


def blocker(registry: Registry, version: str, *, expected_champion: str | None) -> str | None:
    """Why ``version`` may not become champion now, or ``None`` if it may (reads the live registry)."""
    if registry.mode != "production":
        return f"registry.mode is {registry.mode!r}: experiments never move production aliases"
    tags = registry.model_version(version).tags
    if tags.get(TAG_ELIGIBLE, "true") != "true":
        return f"version {version} is not eligible for promotion ({tags.get('alien.ineligible', 'marked')})"
    pin = registry.pin()
    if pin is not None:
        return (
            f"champion v{pin['version']} is pinned since {pin['at']} by {pin['by']} (rollback: "
            f"{pin['reason']}); run `alien unpin --reason ...` to allow promotions"
        )
    current = registry.champion()
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
        ("vtag", version, "alien.promoted_by", by),
        event_step("promote", from_version=old, to_version=version, reason=reason, by=by, extra=extra),
    ]
    if run_id:
        steps.append(("rtag", run_id, "promoted", "true"))
    return [*steps, ("alias", CHAMPION, version)]


def promote(
    registry: Registry,
    version: str,
    *,
    expected_champion: str | None,
    reason: str,
    run_id: str | None = None,
    extra: dict[str, Any] | None = None,
) -> Promotion:
    """See :meth:`alien.tracking.registry.Registry.promote`."""
    reason = _require_reason(reason)
    if registry.model_version(version).tags.get(TAG_PENDING) == "true":
        raise ValueError(f"version {version} is an unfinished registration; it cannot be promoted")
    registry.recover()
    current = registry.champion()
    if current == version:
        return Promotion(False, current, current, f"version {version} is already the champion")
    why_not = blocker(registry, version, expected_champion=expected_champion)
    if why_not is not None:
        return Promotion(False, current, current, why_not)
    steps = promote_steps(version, current, reason=reason, by=actor(), run_id=run_id, extra=extra or {})
    journal.apply(registry.client, registry.model_name, journal.Plan("promote", tuple(steps), (version,)))
    refresh_cards(registry, [v for v in (version, current) if v])
    return Promotion(True, current, registry.champion(), reason)


def _rollback_target(registry: Registry, current: str) -> str:
    """The version ``previous-champion`` names, walking back past versions not eligible."""
    known = {str(v.version): dict(v.tags) for v in registry.versions()}
    target = registry.aliases().get(PREVIOUS)
    seen = {current}
    while target is not None and target in known and target not in seen:
        if known[target].get(TAG_ELIGIBLE, "true") == "true":
            return target
        seen.add(target)
        target = known[target].get(TAG_PROMOTED_FROM) or None
    raise ValueError(
        f"cannot roll back {registry.model_name!r}: champion v{current} has no earlier eligible "
        "champion to return to (see `alien champion --history`)"
    )


def rollback(registry: Registry, *, reason: str, by: str | None = None) -> tuple[str, str]:
    """See :meth:`alien.tracking.registry.Registry.rollback`.

    Raises:
        ValueError: empty reason, experiment mode, no champion, or nothing to return to.
    """
    reason, by = _require_reason(reason), by or actor()
    if registry.mode != "production":
        raise ValueError(f"registry.mode is {registry.mode!r}: a rollback moves production aliases")
    registry.recover()
    current = registry.champion()
    if current is None:
        raise ValueError(f"cannot roll back {registry.model_name!r}: it has no {CHAMPION!r} alias")
    target = _rollback_target(registry, current)
    before = registry.model_version(target).tags.get(TAG_PROMOTED_FROM) or None
    versions = {str(v.version): v for v in registry.versions()}
    eligible_before = before in versions and versions[before].tags.get(TAG_ELIGIBLE, "true") == "true"
    at = now()
    pin = {"version": target, "at": at, "by": by, "reason": reason, "rolled_back": current}
    steps: list[Step] = [
        ("vtag", current, TAG_ELIGIBLE, "false"),
        ("vtag", current, "alien.ineligible", f"rolled back on {at} by {by}: {reason}"),
        ("vtag", current, "rolled_back_at", at),
        ("alias", ROLLED_BACK, current),
        ("alias", PREVIOUS, before)
        if before and eligible_before and before != current
        else ("unalias", PREVIOUS),
        ("mtag", PIN_TAG, json.dumps(pin, sort_keys=True)),
        event_step("rollback", from_version=current, to_version=target, reason=reason, by=by),
    ]
    run_id = versions[current].run_id
    if run_id:
        steps += [("rtag", run_id, "promoted", "false"), ("rtag", run_id, "rolled_back", "true")]
    steps.append(("alias", CHAMPION, target))
    journal.apply(
        registry.client, registry.model_name, journal.Plan("rollback", tuple(steps), (current, target))
    )
    refresh_cards(registry, [current, target])
    return current, target


def unpin(registry: Registry, *, reason: str, by: str | None = None) -> str:
    """See :meth:`alien.tracking.registry.Registry.unpin`.

    Raises:
        ValueError: empty reason, or nothing is pinned.
    """
    reason, by = _require_reason(reason), by or actor()
    registry.recover()
    pin = registry.pin()
    if pin is None:
        raise ValueError(f"the champion of {registry.model_name!r} is not pinned")
    version = str(pin["version"])
    steps = (
        ("muntag", PIN_TAG),
        event_step("unpin", from_version=version, to_version=version, reason=reason, by=by),
    )
    journal.apply(registry.client, registry.model_name, journal.Plan("unpin", steps, (version,)))
    refresh_cards(registry, [version])
    return version


def comparison_warnings(registry: Registry, tags: dict[str, str]) -> list[str]:
    """Card warnings: a version with these tags predicts other labels, or another task, than the champion."""
    champion = registry.champion()
    if champion is None:
        return []
    theirs = registry.model_version(champion).tags
    out = []
    for key, what in (("alien.labels", "label set"), ("alien.task", "task")):
        if theirs.get(key) is not None and theirs.get(key) != tags.get(key):
            out.append(f"the {what} ({tags.get(key)}) differs from champion v{champion}'s ({theirs[key]})")
    return out


def role_of(version: str, aliases: dict[str, str], tags: dict[str, str], pin: dict[str, Any] | None) -> str:
    """A one-line status for a version's card, derived from the live registry."""
    names = sorted(a for a, v in aliases.items() if v == version)
    if tags.get(TAG_PENDING) == "true":
        return "registration unfinished (pending): not usable"
    parts = [f"aliases: {', '.join('@' + n for n in names)}" if names else "no alias"]
    if aliases.get(CHAMPION) == version:
        parts.append("serving as champion" + (f" (pinned by rollback: {pin['reason']})" if pin else ""))
    if tags.get(TAG_GATE_DECIDED_AT):  # the same model met a new verdict after registration
        verdict = "PASSED" if tags.get(TAG_GATE_PASSED) == "true" else "FAILED"
        parts.append(f"gate re-decided {tags[TAG_GATE_DECIDED_AT]}: {verdict} ({tags.get(TAG_GATE_REPORT)})")
    if tags.get(TAG_ELIGIBLE, "true") != "true":
        parts.append(f"not eligible for promotion — {tags.get('alien.ineligible', 'marked')}")
    elif aliases.get(CHAMPION) != version:
        parts.append("eligible for promotion" if aliases.get(CHALLENGER) == version else "not the champion")
    return "; ".join(parts)


def refresh_cards(registry: Registry, versions: list[str]) -> None:
    """Rewrite the status line of each version's card from the live registry (idempotent)."""
    from alien.evaluation.model_card import with_status

    aliases, pin = registry.aliases(), registry.pin()
    for version in dict.fromkeys(versions):
        found = registry.model_version(version)
        status = f"{role_of(version, aliases, dict(found.tags), pin)} (as of {now()})"
        text = with_status(found.description or "", status)
        if text != (found.description or ""):
            registry.client.update_model_version(registry.model_name, version, description=text)
