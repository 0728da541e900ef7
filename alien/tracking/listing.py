"""What ``alien champion`` shows: the registry's versions as a table (or JSON), and its history.

Everything is read from the live registry when the command runs; nothing is written.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from alien.tracking.registration import orphans

if TYPE_CHECKING:
    from alien.tracking.registry import Registry

COLUMNS = ("version", "aliases", "dataset", "labels", "gate", "roc_auc", "ece", "when", "state")
HEADERS = {"roc_auc": "ROC-AUC", "ece": "ECE"}
EVENT_COLUMNS = ("at", "action", "from", "to", "by", "reason")
_WIDTH = {"dataset": 28, "labels": 30, "reason": 60}


def _state(row: dict[str, Any], orphaned: set[str]) -> str:
    if row["version"] in orphaned:
        return "orphan (deleted by the next registration)"
    if row["pending"]:
        return "registration in progress"
    if row["mode"] != "production":
        return f"{row['mode']} (never promoted)"
    return "" if row["eligible"] else f"not eligible: {row['tags'].get('alien.ineligible', 'marked')}"


def report(registry: Registry) -> dict[str, Any]:
    """The registry as plain data: champion, pin, unfinished change, orphans, one row per version."""
    orphaned = {str(v.version) for v in orphans(registry)}
    rows = []
    for row in registry.history():
        tags = row["tags"]
        gate = {True: "pass", False: "fail", None: "—"}[row["gate_passed"]]
        rows.append(
            {
                "version": row["version"],
                "aliases": row["aliases"],
                "dataset": tags.get("alien.dataset") or tags.get("data_path", ""),
                "labels": tags.get("alien.labels", ""),
                "gate": gate,
                "roc_auc": tags.get("alien.roc_auc", ""),
                "ece": tags.get("alien.ece", ""),
                "when": row["created_at"][:19].replace("T", " "),
                "state": _state(row, orphaned),
                "run_id": row["run_id"],
                "data_version": tags.get("data_version", ""),
            }
        )
    change = registry.pending_change()
    return {
        "model": registry.model_name,
        "tracking_uri": registry.uri,
        "champion": registry.champion(),
        "pinned": registry.pin(),
        "unfinished_change": None if change is None else change.action,
        "orphans": sorted(orphaned, key=int),
        "versions": rows,
    }


def _table(rows: list[dict[str, Any]], columns: tuple[str, ...]) -> list[str]:
    def cell(row: dict[str, Any], column: str) -> str:
        value = row.get(column)
        text = ", ".join(value) if isinstance(value, list) else ("—" if value in (None, "") else str(value))
        limit = _WIDTH.get(column)
        return text if limit is None or len(text) <= limit else text[: limit - 1] + "…"

    cells = [[cell(r, c) for c in columns] for r in rows]
    titles = [HEADERS.get(c, c) for c in columns]
    widths = [max(len(t), *(len(r[i]) for r in cells)) for i, t in enumerate(titles)]
    line = lambda values: "  ".join(v.ljust(w) for v, w in zip(values, widths, strict=True)).rstrip()  # noqa: E731
    return [line(titles), line(["-" * w for w in widths]), *(line(r) for r in cells)]


def render(data: dict[str, Any]) -> str:
    """The table ``alien champion`` prints, with the pin, unfinished change and orphans above it."""
    lines = [f"model {data['model']!r} at {data['tracking_uri']}"]
    if not data["versions"]:
        return lines[0] + ": no versions registered yet\n"
    lines.append(f"champion: {'v' + data['champion'] if data['champion'] else 'none'}")
    if data["pinned"]:
        pin = data["pinned"]
        lines.append(
            f"pinned: v{pin['version']} since {pin['at']} by {pin['by']} ({pin['reason']}); "
            "promotions are refused until `alien unpin --reason ...`"
        )
    if data["unfinished_change"]:
        lines.append(f"unfinished change: {data['unfinished_change']!r} (the next registration completes it)")
    if data["orphans"]:
        lines.append(
            f"orphans: {', '.join('v' + v for v in data['orphans'])} (the next registration deletes them)"
        )
    return "\n".join([*lines, "", *_table(data["versions"], COLUMNS)]) + "\n"


def render_history(events: list[dict[str, Any]]) -> str:
    """The promotion history as a table, oldest first."""
    if not events:
        return "no promotions or rollbacks recorded yet\n"
    return "\n".join(_table(events, EVENT_COLUMNS)) + "\n"
