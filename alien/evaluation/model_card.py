"""The model card: the markdown a reviewer reads to accept or reject a registered version.

It becomes the registered version's description and a ``model_card.md``
artifact of the run. Pure string formatting: no MLflow here.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

ALIEN = "alien"
# The registry status block: rewritten in place whenever the version's role changes.
STATUS_START = "<!-- alien:status -->"
STATUS_END = "<!-- /alien:status -->"
# (column title, key in a method's metrics, lower is better); the best method is bold
METRIC_COLUMNS: tuple[tuple[str, str, bool], ...] = (
    ("ROC-AUC ↑", "roc_auc", False),
    ("PR-AUC ↑", "pr_auc", False),
    ("PRR ↑", "prr", False),
    ("AURC ↓", "aurc", True),
    ("ECE ↓", "ece", True),
    ("Brier ↓", "brier", True),
    ("accuracy ↑", "accuracy", False),
)
KEY_PARAMS: tuple[str, ...] = (
    "data.source", "data.task", "data.max_rows", "backbone.name", "backbone.max_length", "finetune.method",
    "finetune.epochs", "finetune.learning_rate", "align.uncertainty", "align.train_split",
    "align.learning_rates", "align.alphas", "align.betas", "calibration.method", "calibration.target_risk",
    "gates.require_backbone_improvement", "gates.max_ece", "gates.champion_auroc_margin",
    "gates.champion_brier_margin", "gates.champion_accuracy_margin",
)  # fmt: skip


def _number(value: Any) -> str:
    if isinstance(value, bool) or value is None:
        return "—" if value is None else str(value)
    if isinstance(value, int | float):
        return "nan" if isinstance(value, float) and math.isnan(value) else f"{value:.4f}"
    return str(value)


def _cell(text: Any) -> str:
    """Markdown table cells cannot hold pipes or newlines."""
    return str(text).replace("|", "\\|").replace("\n", " ")


def _values(values: Mapping[str, Any]) -> str:
    return ", ".join(f"{k}={_number(v)}" for k, v in values.items()) or "—"


def _flatten(params: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in params.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            out.update(_flatten(value, f"{name}."))
        else:
            out[name] = value
    return out


def _gate_table(gate_report: Mapping[str, Any]) -> list[str]:
    lines = ["| gate | status | numbers | detail |", "|---|---|---|---|"]
    for gate in gate_report.get("gates", []):
        status = str(gate.get("status", "pass" if gate.get("passed") else "fail"))
        mark = {"pass": "✅ pass", "fail": "❌ fail"}.get(status, f"➖ {status}")
        numbers = {**(gate.get("baselines") or {}), **(gate.get("values") or {})}  # baselines named first
        lines.append(
            f"| {_cell(gate.get('name', '?'))} | {mark} | {_cell(_values(numbers))} "
            f"| {_cell(gate.get('detail', ''))} |"
        )
    return lines


def _metrics_table(metrics: Mapping[str, Any], champion: Mapping[str, Any] | None) -> list[str]:
    methods: Mapping[str, Mapping[str, Any]] = metrics.get("methods", {})
    task: Mapping[str, Any] = metrics.get("task", {})
    header = "| method | " + " | ".join(title for title, _, _ in METRIC_COLUMNS) + " |"
    lines = [header, "|---|" + "---|" * len(METRIC_COLUMNS)]
    # accuracy belongs to the classifier, which every uncertainty method shares
    order = sorted(methods, key=lambda name: (name != ALIEN, name))
    rows = {name: {**task, **methods[name]} for name in order}
    best = {}  # the best method per column is bold
    for _, key, lower in METRIC_COLUMNS:
        values = [r[key] for r in rows.values() if isinstance(r.get(key), int | float)]
        values = [v for v in values if not math.isnan(v)]
        if values and key != "accuracy":
            best[key] = min(values) if lower else max(values)
    for name, row in rows.items():
        label = f"**{name.upper()}** (this version)" if name == ALIEN else name
        cells = [
            f"**{_number(row.get(k))}**" if k in best and row.get(k) == best[k] else _number(row.get(k))
            for _, k, _ in METRIC_COLUMNS
        ]
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    if champion:
        row = dict(champion.get("metrics") or champion)
        label = f"champion v{_cell(champion.get('version', '?'))} (ALIEN, same test split)"
        lines.append(f"| {label} | " + " | ".join(_number(row.get(k)) for _, k, _ in METRIC_COLUMNS) + " |")
    return lines


def identity_warnings(identity: Mapping[str, Any], champion: Mapping[str, Any] | None) -> list[str]:
    """Warnings when this version predicts another label set, or another task, than the champion.

    Args:
        identity: this version's ``task`` and ``labels`` (a list or comma-separated).
        champion: the champion's ``version``, ``task`` and ``labels``, or ``None``.

    >>> identity_warnings({"task": "t", "labels": ["a", "b"]}, {"version": "3", "task": "t", "labels": "a,b,c"})
    ["the label set (a,b) differs from champion v3's (a,b,c): its metrics and this version's are not comparable"]
    """
    if not champion:
        return []
    out = []
    for key, what in (("labels", "label set"), ("task", "task")):
        ours, theirs = _joined(identity.get(key)), _joined(champion.get(key))
        if theirs and ours != theirs:
            out.append(
                f"the {what} ({ours or '?'}) differs from champion v{champion.get('version', '?')}'s "
                f"({theirs}): its metrics and this version's are not comparable"
            )
    return out


def _joined(value: Any) -> str:
    if value is None:
        return ""
    return ",".join(map(str, value)) if isinstance(value, list | tuple) else str(value)


def _data_lines(data_version: Mapping[str, Any] | str, metrics: Mapping[str, Any]) -> list[str]:
    if isinstance(data_version, Mapping):
        lines = [
            f"- raw data `{data_version.get('path', '?')}`: md5 `{data_version.get('md5', '?')}` "
            f"(from {data_version.get('source', '?')})"
        ]
    else:
        lines = [f"- data version: `{data_version}`"]
    rows = metrics.get("rows") or {}
    return lines + (["- " + ", ".join(f"{k}: {v}" for k, v in rows.items())] if rows else [])


def _plot_lines(plot_uris: Mapping[str, str]) -> list[str]:
    """Each plot inline (the UI renders ``<img>`` from a relative URL) and as a link to the full image."""
    lines = ["", "## Plots", ""]
    for name, uri in sorted(plot_uris.items()):
        lines += [f"**{_cell(name)}** ([open]({uri}))", "", f"![{_cell(name)}]({uri})", ""]
    return lines


def _verdict(passed: bool) -> str:
    if passed:
        return "✅ **PASSED** all gates"
    return "❌ **FAILED** a gate — not eligible for promotion; the champion is unchanged"


def _params_lines(params: Mapping[str, Any]) -> list[str]:
    """The key parameters as a table (nested or flattened ``params``)."""
    flat = _flatten(params)
    lines = ["", "## Key parameters", "", "| param | value |", "|---|---|"]
    return lines + [f"| {key} | {_cell(flat[key])} |" for key in KEY_PARAMS if key in flat]


def render_model_card(
    gate_report: Mapping[str, Any],
    metrics: Mapping[str, Any],
    *,
    data_version: Mapping[str, Any] | str,
    params: Mapping[str, Any],
    champion: Mapping[str, Any] | None,
    plot_uris: Mapping[str, str],
    title: str = "ALIEN classifier",
    warnings: Sequence[str] = (),
    identity: Mapping[str, Any] | None = None,
    champion_identity: Mapping[str, Any] | None = None,
    provenance: Mapping[str, str] | None = None,
) -> str:
    """Markdown a reviewer can decide from.

    Args:
        gate_report: ``gate_report.json`` (``passed``, ``gates`` with ``name``,
            ``status``, ``detail``, ``values``).
        metrics: ``metrics.json`` (``methods: {name: {roc_auc, ...}}``, ``task: {accuracy, ...}``).
        data_version: ``{"md5", "source", "path"}`` of the raw data, or a string.
        params: ``params.yaml`` as a (nested or flattened) mapping.
        champion: the champion compared against (``version`` plus its metrics,
            flat or under ``metrics``), or ``None`` for the first model.
        plot_uris: plot name → URL the MLflow UI resolves (see
            :func:`alien.tracking.run_context.plot_links`); shown inline and as links.
        title: the card's heading.
        warnings: lines a reviewer must see first.
        identity: this version's ``task`` and ``labels``; with ``champion_identity``
            (the live champion's ``version``, ``task``, ``labels``) a difference becomes a warning.
        champion_identity: see ``identity``.
        provenance: label → text (run, git commit and dirty flag, Prefect flow run), listed under "Provenance".

    Returns:
        The card: warnings, verdict, gate table, metrics table (ALIEN, every baseline,
        the champion), data version, key params, provenance, plots.

    Raises:
        ValueError: ``gate_report`` has no boolean ``passed``.
    """
    passed = gate_report.get("passed")
    if not isinstance(passed, bool):
        raise ValueError(f"gate_report['passed'] must be true or false, got {passed!r}")
    warned = [*identity_warnings(identity or {}, champion_identity), *warnings]
    lines = [f"# {title}", ""]
    lines += [f"> ⚠️ **Warning:** {_cell(w)}" for w in warned] + ([""] if warned else [])
    lines += [f"**Gate verdict:** {_verdict(passed)}", "", "## Gates", "", *_gate_table(gate_report)]
    lines += ["", "## Metrics (test split)", "", *_metrics_table(metrics, champion), ""]
    lines += [
        "ROC-AUC / PR-AUC / PRR / AURC: how well the uncertainty detects misclassifications; "
        "ECE / Brier: calibration of 1 − uncertainty as the probability of being right.",
        "", "## Data", "", *_data_lines(data_version, metrics),
    ]  # fmt: skip
    lines += _params_lines(params)
    if provenance:
        lines += ["", "## Provenance", "", *(f"- {k}: {v}" for k, v in provenance.items())]
    if plot_uris:
        lines += _plot_lines(plot_uris)
    return "\n".join(lines) + "\n"


def with_status(card: str, status: str) -> str:
    """``card`` with its registry status block set to ``status`` (replaced if present, else under the title).

    The block says what the version is *now* (champion, rolled back, not eligible, ...);
    the rest of the card is what the gate found when it was registered.

    >>> print(with_status("# T\\n\\nbody\\n", "serving as champion"))
    # T
    <BLANKLINE>
    <!-- alien:status -->
    **Registry status:** serving as champion
    <!-- /alien:status -->
    <BLANKLINE>
    body
    <BLANKLINE>
    """
    if not isinstance(status, str) or not status.strip():
        raise ValueError(f"status must be a non-empty string, got {status!r}")
    block = f"{STATUS_START}\n**Registry status:** {_cell(status)}\n{STATUS_END}"
    start, end = card.find(STATUS_START), card.find(STATUS_END)
    if start != -1 and end > start:
        return card[:start] + block + card[end + len(STATUS_END) :]
    head, sep, rest = card.partition("\n\n")
    if head.startswith("# ") and sep:
        return f"{head}\n\n{block}\n\n{rest}"
    return f"{block}\n\n{card}"
