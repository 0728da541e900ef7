"""The end-of-run summary printed by the flow and attached to it as a Prefect artifact.

It is derived from the live registry at the moment it is written: the caller
passes the registry's state then (the champion, this run's version and its
aliases, the tracking URI), so a summary never repeats what a file recorded
before a rollback or a promotion elsewhere. The gate verdict is rendered from
``gate_report.json`` itself (:meth:`GateReport.from_dict`), never from a copy.

Its headline (:func:`outcome_headline`) says what the run did to the registry — promoted;
not promoted because …; registered as challenger because … — from ``paths.registration``
(the register stage's result), the one place that reason is recorded. The gate verdict
stands next to it, never instead of it: a passed gate is not a promotion.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from alien.config.paths import PathsConfig
from alien.evaluation.gates import GateReport

REGISTRY_KEYS = ("champion", "version", "aliases", "tracking_uri")
OUTCOME_KEYS = ("version", "promoted", "reason", "gate_passed")


def outcome_headline(registration: Mapping[str, Any]) -> str:
    """What the run did to the registry, in one line, with the gate verdict beside it.

    ``registration`` is the register stage's result (``reports/registration.json``).
    "promoted: version N is @champion"; "registered as challenger because <reason>"
    (a new production version left as challenger); "unchanged since the decision of …" (gate
    and register found their last decision standing, :mod:`alien.tracking.decision`); else
    "not promoted because <reason>" (already registered, rolled back, champion pinned, experiment, …).

    Raises:
        ValueError: ``registration`` lacks one of :data:`OUTCOME_KEYS`.
    """
    missing = [key for key in OUTCOME_KEYS if key not in registration]
    if missing:
        raise ValueError(f"registration result lacks {missing}; expected the keys {list(OUTCOME_KEYS)}")
    version, reason = registration["version"], registration["reason"]
    if registration["promoted"]:
        what = f"promoted: version {version} is @champion"
    elif registration.get("unchanged"):
        what = f"{reason} (version {version})"
    elif registration.get("mode", "production") == "production" and not registration.get("reused"):
        what = f"registered as challenger (version {version}) because {reason}"
    else:
        what = f"not promoted (version {version}) because {reason}"
    gate = "PASSED" if registration["gate_passed"] else "FAILED"
    return f"{what} · gate verdict: {gate}"


def experiment_warning(registration: Mapping[str, Any]) -> str | None:
    """A warning when production params were left in experiment mode (not a ``dvc exp run``), else ``None``."""
    if registration.get("mode") != "experiment" or registration.get("experiment"):
        return None
    return (
        "WARNING: params.yaml has registry.mode: experiment (left by an experiment?), so this run "
        "never promotes; set it back to production, or run experiments with `dvc exp run --temp`"
    )


def _outcome_lines(path: Path) -> list[str]:
    if not path.is_file():
        return ["**Registry: this run registered nothing** (no registration result)", ""]
    registration = json.loads(path.read_text(encoding="utf-8"))
    warning = experiment_warning(registration)
    return [
        f"**Registry: {outcome_headline(registration)}**",
        "",
        *([f"**{warning}**", ""] if warning else []),
    ]


def _check_registry(registry: Mapping[str, Any]) -> None:
    missing = [key for key in REGISTRY_KEYS if key not in registry]
    if missing:
        raise ValueError(f"registry state lacks {missing}; expected the keys {list(REGISTRY_KEYS)}")
    if not isinstance(registry["aliases"], list | tuple):
        raise TypeError(f"registry state 'aliases' must be a list, got {type(registry['aliases']).__name__}")


def _ran(stage: Mapping[str, Any]) -> str:
    """``yes``, or why the stage did no work: its outputs came from DVC's run-cache, or nothing changed."""
    if not stage["skipped"]:
        return "yes"
    return "restored (DVC run-cache)" if stage.get("restored") else "skipped (unchanged)"


def _stage_rows(stages: Sequence[Mapping[str, Any]]) -> list[str]:
    rows = ["| stage | ran | seconds |", "|---|---|---|"]
    rows += [f"| {s['stage']} | {_ran(s)} | {s['seconds']} |" for s in stages]
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
    """Markdown: the outcome headline, what ran, the data version, the gate verdict, the registry now.

    Args:
        paths: reads ``paths.registration`` (the headline) and ``paths.gate_report``.
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
    lines = ["# ALIEN retrain", "", *_outcome_lines(Path(paths.registration)), *_stage_rows(stages), ""]
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
