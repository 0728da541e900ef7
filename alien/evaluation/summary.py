"""The end-of-run summary printed by the flow and attached to it as a Prefect artifact."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from alien.config import PathsConfig


def render_run_summary(
    paths: PathsConfig, *, stages: Sequence[Mapping[str, Any]], data_version: Mapping[str, Any]
) -> str:
    """Markdown: what ran, the data version, the gate report and where the champion is."""
    lines = ["# ALIEN retrain", "", "| stage | ran | seconds |", "|---|---|---|"]
    lines += [
        f"| {s['stage']} | {'skipped (unchanged)' if s['skipped'] else 'yes'} | {s['seconds']} |"
        for s in stages
    ]
    lines += ["", f"Data version: `{data_version.get('md5')}` ({data_version.get('source')})", ""]
    report_md = Path(paths.gate_report).with_suffix(".md")
    lines.append(report_md.read_text() if report_md.is_file() else "_no gate report_")
    registration = Path(paths.registration)
    if registration.is_file():
        reg = json.loads(registration.read_text())
        verdict = "promoted to @champion" if reg.get("promoted") else "registered as @challenger only"
        champion = reg.get("champion_version")
        where = (
            f"`models:/{reg.get('model_name')}@champion` = version {champion}"
            if champion
            else "none yet (no version has passed the gates)"
        )
        lines += [
            "",
            f"Model `{reg.get('model_name')}` version {reg.get('version')}: {verdict}.",
            f"Champion: {where}; tracking URI `{reg.get('tracking_uri')}`.",
        ]
    return "\n".join(lines) + "\n"
