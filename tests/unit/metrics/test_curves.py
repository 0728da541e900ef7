"""Curve data for plots: reliability diagram and risk–coverage curve."""

from __future__ import annotations

import json

import numpy as np
import pytest

from alien.metrics import aurc, expected_calibration_error, reliability_diagram, risk_coverage_curve


def test_reliability_bins_are_right_closed_and_zero_joins_first() -> None:
    d = reliability_diagram([1 / 3, 2 / 3, 0.0, 1.0, 0.5], [1, 0, 0, 1, 1], n_bins=3)
    assert d["count"] == [2, 2, 1]
    assert d["accuracy"] == [0.5, 0.5, 1.0]
    assert d["bin_edges"] == pytest.approx([0, 1 / 3, 2 / 3, 1])


def test_reliability_diagram_reproduces_ece_and_is_json() -> None:
    rng = np.random.default_rng(0)
    conf = rng.uniform(0.5, 0.9, size=300)
    correct = (rng.random(300) < conf).astype(int)
    d = reliability_diagram(conf, correct, n_bins=15)
    ece = sum(
        n / 300 * abs(a - c) for a, c, n in zip(d["accuracy"], d["confidence"], d["count"], strict=True) if n
    )
    assert ece == pytest.approx(expected_calibration_error(conf, correct, n_bins=15))
    assert d["accuracy"][0] is None  # no confidence below 0.5
    json.dumps(d, allow_nan=False)


def test_risk_coverage_mean_is_aurc_and_subsampling_keeps_full_coverage() -> None:
    rng = np.random.default_rng(1)
    e = rng.integers(0, 2, size=1000)
    u = np.round(rng.random(1000) + 0.3 * e, 2)
    full = risk_coverage_curve(u, e)
    assert len(full["coverage"]) == 1000
    assert np.mean(full["risk"]) == pytest.approx(aurc(u, e))
    small = risk_coverage_curve(u, e, max_points=50)
    assert len(small["risk"]) == 50
    assert small["coverage"][-1] == 1.0
    assert small["risk"][-1] == pytest.approx(e.mean())
    json.dumps(small, allow_nan=False)


def test_curve_inputs_are_validated() -> None:
    with pytest.raises(ValueError, match="max_points"):
        risk_coverage_curve([0.1, 0.2], [0, 1], max_points=1)
    with pytest.raises(ValueError, match="n_bins"):
        reliability_diagram([0.5], [1], n_bins=0)
