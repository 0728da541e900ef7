"""Shared formatting of the benchmarks' markdown tables."""

from __future__ import annotations

import numpy as np


def mean_std(values: list[float]) -> str:
    """``mean ± std`` of the values (one value as itself; none as ``—``), 4 decimals."""
    if not values:
        return "—"
    return f"{np.mean(values):.4f} ± {np.std(values):.4f}" if len(values) > 1 else f"{values[0]:.4f}"
