"""Human-facing reports: PNG plots of the evaluation curves."""

from __future__ import annotations

from alien.reporting.plots import plot_reliability_diagrams, plot_risk_coverage, write_plots

__all__ = ["plot_reliability_diagrams", "plot_risk_coverage", "write_plots"]
