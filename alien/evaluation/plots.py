"""PNG plots of reliability diagrams and risk–coverage curves for several methods.

The inputs are the dicts of :func:`alien.metrics.reliability_diagram` and
:func:`alien.metrics.risk_coverage_curve`, keyed by method name, so the numbers
written for ``dvc plots`` and the pictures cannot disagree. Figures are drawn
on an explicit Agg canvas: no pyplot global state and no backend switch that
would leak into the caller's process.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from alien.assets.atomic import atomic_file

_MAX_COLUMNS = 4


def _check_curves(curves: Mapping[str, Mapping[str, Any]], keys: tuple[str, ...], what: str) -> None:
    if not curves:
        raise ValueError(f"{what}: no methods to plot")
    for method, curve in curves.items():
        missing = [k for k in keys if k not in curve]
        if missing:
            raise ValueError(f"{what}: curve of {method!r} lacks keys {missing}; expected {list(keys)}")


def _save_atomically(fig: Figure, path: str | Path) -> Path:
    FigureCanvasAgg(fig)
    with atomic_file(path) as tmp:
        fig.savefig(tmp, format="png", dpi=120, bbox_inches="tight")
    return Path(path)


def plot_reliability_diagrams(diagrams: Mapping[str, Mapping[str, Any]], path: str | Path) -> Path:
    """One reliability-diagram panel per method: per-bin accuracy against the diagonal.

    Args:
        diagrams: method name → :func:`alien.metrics.reliability_diagram` output.
        path: PNG file to write (parent folders are created).

    Returns:
        The written path.

    Raises:
        ValueError: no methods, or a diagram missing ``bin_edges``/``accuracy``/``confidence``/``count``.
    """
    _check_curves(diagrams, ("bin_edges", "accuracy", "confidence", "count"), "reliability diagrams")
    n = len(diagrams)
    cols = min(n, _MAX_COLUMNS)
    rows = math.ceil(n / cols)
    fig = Figure(figsize=(3.2 * cols, 3.2 * rows))
    axes = fig.subplots(rows, cols, squeeze=False)
    for ax, (method, d) in zip(axes.flat, diagrams.items(), strict=False):
        edges = d["bin_edges"]
        lefts = edges[:-1]
        widths = [hi - lo for lo, hi in itertools.pairwise(edges)]
        acc = [a if a is not None else 0.0 for a in d["accuracy"]]
        gap = [
            c - a if c is not None and a is not None else 0.0
            for a, c in zip(acc, d["confidence"], strict=True)
        ]
        ax.bar(lefts, acc, width=widths, align="edge", edgecolor="black", linewidth=0.5, label="accuracy")
        ax.bar(lefts, gap, bottom=acc, width=widths, align="edge", color="tab:red", alpha=0.3, label="gap")
        ax.plot([0, 1], [0, 1], linestyle="--", color="gray", linewidth=1)
        ax.set(xlim=(0, 1), ylim=(0, 1), title=method, xlabel="confidence", ylabel="accuracy")
    for ax in list(axes.flat)[n:]:
        ax.set_visible(False)
    axes.flat[0].legend(loc="upper left", fontsize="small")
    fig.tight_layout()
    return _save_atomically(fig, path)


def plot_risk_coverage(curves: Mapping[str, Mapping[str, Any]], path: str | Path) -> Path:
    """Risk–coverage curves of several methods on one axes (lower is better).

    Args:
        curves: method name → :func:`alien.metrics.risk_coverage_curve` output.
        path: PNG file to write.

    Returns:
        The written path.

    Raises:
        ValueError: no methods, or a curve missing ``coverage``/``risk``.
    """
    _check_curves(curves, ("coverage", "risk"), "risk-coverage curves")
    fig = Figure(figsize=(5.5, 4.0))
    ax = fig.subplots()
    for method, c in curves.items():
        ax.plot(c["coverage"], c["risk"], label=method, linewidth=1.2)
    ax.set(xlim=(0, 1), xlabel="coverage", ylabel="risk (error rate among retained)", title="Risk–coverage")
    ax.grid(alpha=0.3)
    ax.legend(fontsize="small")
    fig.tight_layout()
    return _save_atomically(fig, path)


def write_plots(
    out_dir: str | Path,
    *,
    reliability: Mapping[str, Mapping[str, Any]],
    risk_coverage: Mapping[str, Mapping[str, Any]],
) -> dict[str, Path]:
    """Write ``reliability.png`` and ``risk_coverage.png`` under ``out_dir``.

    Returns:
        ``{"reliability": path, "risk_coverage": path}``.
    """
    out = Path(out_dir)
    return {
        "reliability": plot_reliability_diagrams(reliability, out / "reliability.png"),
        "risk_coverage": plot_risk_coverage(curves=risk_coverage, path=out / "risk_coverage.png"),
    }
