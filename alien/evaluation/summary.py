"""The end-of-run summary printed by the flow and attached to it as a Prefect artifact.

It is derived from the live registry at the moment it is written: the caller
passes the registry's state then (the champion, this run's version and its
aliases, the tracking URI), so a summary never repeats what a file recorded
before a rollback or a promotion elsewhere. The gate verdict is rendered from
``gate_report.json`` itself (:meth:`GateReport.from_dict`), never from a copy.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from alien.config import PathsConfig
from alien.evaluation.gates import GateReport

REGISTRY_KEYS = ("champion", "version", "aliases", "tracking_uri")


def _check_registry(registry: Mapping[str, Any]) -> None:
    missing = [key for key in REGISTRY_KEYS if key not in registry]
    if missing:
        raise ValueError(f"registry state lacks {missing}; expected the keys {list(REGISTRY_KEYS)}")
    if not isinstance(registry["aliases"], list | tuple):
        raise TypeError(f"registry state 'aliases' must be a list, got {type(registry['aliases']).__name__}")


def _stage_rows(stages: Sequence[Mapping[str, Any]]) -> list[str]:
    rows = ["| stage | ran | seconds |", "|---|---|---|"]
    rows += [
        f"| {s['stage']} | {'skipped (unchanged)' if s['skipped'] else 'yes'} | {s['seconds']} |"
        for s in stages
    ]
    return rows


def _registry_lines(registry: Mapping[str, Any], model_name: str) -> list[str]:
    version, champion = registry["version"], registry["champion"]
    aliases = ", ".join(f"@{a}" for a in registry["aliases"]) or "no alias"
    if version is None:
        this_run = "this run registered no version"
    elif str(version) == str(champion):
        this_run = f"version {version} is the champion ({aliases})"
    else:
        this_run = f"version {version} is not the champion ({aliases})"
    where = (
        f"`models:/{model_name}@champion` = version {champion}"
        if champion
        else "none yet (no version has passed the gates)"
    )
    return [
        f"Registry `{registry['tracking_uri']}`, model `{model_name}`, read when this summary was written:",
        f"- this run: {this_run};",
        f"- champion: {where}.",
    ]


def render_run_summary(
    paths: PathsConfig,
    *,
    stages: Sequence[Mapping[str, Any]],
    data_version: Mapping[str, Any],
    registry: Mapping[str, Any],
    model_name: str,
) -> str:
    """Markdown: what ran, the data version, the gate verdict and the registry as it is now.

    Args:
        paths: reads ``paths.gate_report``.
        stages: each stage's ``{"stage", "skipped", "seconds"}`` in this run.
        data_version: ``{"md5", "source"}`` of the raw data.
        registry: the live registry's state: ``{"champion": "3" | None, "version": "5" | None,
            "aliases": [...], "tracking_uri": ...}`` (``version``: this run's, with its ``aliases``).
        model_name: the registered model.

    Raises:
        ValueError: ``registry`` lacks a key, or the gate report is malformed.
        TypeError: ``registry["aliases"]`` is not a list.
    """
    _check_registry(registry)
    lines = ["# ALIEN retrain", "", *_stage_rows(stages), ""]
    lines += [f"Data version: `{data_version.get('md5')}` ({data_version.get('source')})", ""]
    report = Path(paths.gate_report)
    if report.is_file():
        gate = GateReport.from_dict(
            json.loads(report.read_text(encoding="utf-8")), where=f"gate report {report}"
        )
        lines.append(gate.to_markdown())
    else:
        lines += ["_no gate report_", ""]
    lines += _registry_lines(registry, model_name)
    return "\n".join(lines) + "\n"
