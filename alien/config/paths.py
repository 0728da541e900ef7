"""The ``paths`` section: where each stage writes, relative to the project root.

Every path is set once, in ``params.yaml``; ``dvc.yaml`` refers to them by ``${paths.<key>}``.
"""

from __future__ import annotations

from pydantic.dataclasses import dataclass

from alien.options.base import OPTIONS, Text


@dataclass(frozen=True, config=OPTIONS)
class PathsConfig:
    """Where each stage writes (the stage that writes it, then what)."""

    raw: Text = "data/raw/dataset.jsonl"
    prepared: Text = "data/prepared"
    backbone: Text = "models/backbone"
    features: Text = "artifacts/features"
    grid: Text = "reports/grid.json"
    deployable: Text = "models/deployable"
    metrics: Text = "reports/metrics.json"
    plots: Text = "reports/plots"
    gate_report: Text = "reports/gate_report.json"
    registration: Text = "reports/registration.json"
    scores: Text = "reports/scores.npz"
