"""The status block of each version's model card, derived from the live registry.

A version's description is its model card (up to 5000 characters, so never part of a
journal plan). Its status block says what the version is *now* — champion, pinned,
rolled back, re-judged by the gate — and is rewritten from the live aliases and
tags after every change and every recovery; rewriting it twice changes nothing. It
opens with the outcome of the version's last registration (``alien.outcome``: promoted;
not promoted because …; registered as challenger because …), then what it is now.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from alien.tracking.events import now
from alien.tracking.names import (
    CHALLENGER,
    CHAMPION,
    TAG_ELIGIBLE,
    TAG_GATE_DECIDED_AT,
    TAG_GATE_PASSED,
    TAG_GATE_REPORT,
    TAG_INELIGIBLE,
    TAG_OUTCOME,
    TAG_PENDING,
)

if TYPE_CHECKING:
    from alien.tracking.store import Store

MAX_OUTCOME = 400  # characters of the last registration's outcome a card's status block shows


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
        parts.append(f"not eligible for promotion — {tags.get(TAG_INELIGIBLE, 'marked')}")
    elif aliases.get(CHAMPION) != version:
        parts.append("eligible for promotion" if aliases.get(CHALLENGER) == version else "not the champion")
    now_ = "; ".join(parts)
    outcome = tags.get(TAG_OUTCOME, "")
    if len(outcome) > MAX_OUTCOME:  # the description (card + status) must stay under MLflow's 5000
        outcome = outcome[: MAX_OUTCOME - 1] + "…"
    return f"last registration: {outcome} — now: {now_}" if outcome else now_


def refresh_cards(store: Store, versions: list[str]) -> None:
    """Rewrite the status block of each version's card from the live registry (idempotent)."""
    from alien.evaluation.model_card import with_status

    aliases, pin = store.aliases(), store.pin()
    for version in dict.fromkeys(versions):
        found = store.model_version(version)
        status = f"{role_of(version, aliases, dict(found.tags), pin)} (as of {now()})"
        text = with_status(found.description or "", status)
        if text != (found.description or ""):
            store.client.update_model_version(store.model_name, version, description=text)
