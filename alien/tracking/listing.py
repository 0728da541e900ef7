"""What ``alien champion`` shows: the registry's versions as a table (or JSON), and its history.

Everything is read from the live registry when the command runs; nothing is written.
Beside the versions it names what the next registration repairs: an unfinished change,
orphaned pending versions, and runs abandoned RUNNING by a registering process that is
gone (``abandoned_runs``, also when no version was ever created).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from alien.tracking.names import (
    PRODUCTION,
    TAG_DATA_PATH,
    TAG_DATA_VERSION,
    TAG_DATASET,
    TAG_ECE,
    TAG_INELIGIBLE,
    TAG_LABELS,
    TAG_ROC_AUC,
)
from alien.tracking.recovery import abandoned_runs, orphans

if TYPE_CHECKING:
    from alien.tracking.store import Store

COLUMNS = ("version", "aliases", "dataset", "labels", "gate", "roc_auc", "ece", "when", "state")
HEADERS = {"roc_auc": "ROC-AUC", "ece": "ECE"}
EVENT_COLUMNS = ("at", "action", "from", "to", "by", "reason")
_WIDTH = {"dataset": 28, "labels": 30, "reason": 60}


def _state(row: dict[str, Any], orphaned: set[str]) -> str:
    if row["version"] in orphaned:
        return "orphan (deleted by the next registration)"
    if row["pending"]:
        return "registration in progress"
    if row["mode"] != PRODUCTION:
        return f"{row['mode']} (never promoted)"
    return "" if row["eligible"] else f"not eligible: {row['tags'].get(TAG_INELIGIBLE, 'marked')}"


def report(registry: Store) -> dict[str, Any]:
    """The registry as plain data: champion, pin, unfinished change, orphans, abandoned runs, versions.

    ``abandoned_runs``: one object per run (``run_id``, ``run_name``, ``status``, ``owner``,
    ``started_at``, ``version``, ``reason``) that the next registration ends FAILED.
    """
    orphaned = {str(v.version) for v in orphans(registry)}
    rows = []
    for row in registry.history():
        tags = row["tags"]
        gate = {True: "pass", False: "fail", None: "—"}[row["gate_passed"]]
        rows.append(
            {
                "version": row["version"],
                "aliases": row["aliases"],
                "dataset": tags.get(TAG_DATASET) or tags.get(TAG_DATA_PATH, ""),
                "labels": tags.get(TAG_LABELS, ""),
                "gate": gate,
                "roc_auc": tags.get(TAG_ROC_AUC, ""),
                "ece": tags.get(TAG_ECE, ""),
                "when": row["created_at"][:19].replace("T", " "),
                "state": _state(row, orphaned),
                "run_id": row["run_id"],
                "data_version": tags.get(TAG_DATA_VERSION, ""),
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
        "abandoned_runs": [run.to_dict() for run in abandoned_runs(registry)],
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


def _abandoned_lines(runs: list[dict[str, Any]]) -> list[str]:
    if not runs:
        return []
    return [
        f"abandoned runs ({len(runs)}, the next registration ends them FAILED):",
        *(f"  {r['run_id']} {r['run_name']!r} since {r['started_at'][:19]}: {r['reason']}" for r in runs),
    ]


def render(data: dict[str, Any]) -> str:
    """The table ``alien champion`` prints, with the pin, unfinished change, orphans, abandoned runs above it."""
    lines = [f"model {data['model']!r} at {data['tracking_uri']}"]
    abandoned = _abandoned_lines(data.get("abandoned_runs", []))
    if not data["versions"]:
        return "\n".join([lines[0] + ": no versions registered yet", *abandoned]) + "\n"
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
    return "\n".join([*lines, *abandoned, "", *_table(data["versions"], COLUMNS)]) + "\n"


def render_history(events: list[dict[str, Any]]) -> str:
    """The promotion history as a table, oldest first."""
    if not events:
        return "no promotions or rollbacks recorded yet\n"
    return "\n".join(_table(events, EVENT_COLUMNS)) + "\n"
