"""PNG plots are written atomically, sized by the number of methods, and validated."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from matplotlib.image import imread

from alien.evaluation.plots import plot_reliability_diagrams, plot_risk_coverage, write_plots
from alien.metrics import reliability_diagram, risk_coverage_curve

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture
def curves() -> tuple[dict[str, dict], dict[str, dict]]:
    rng = np.random.default_rng(0)
    errors = rng.integers(0, 2, size=300)
    reliability, risk = {}, {}
    for i, method in enumerate(
        ["alien", "entropy", "softmax_response", "temperature_scaling", "linear_probe"]
    ):
        u = np.clip(0.2 * i * errors + rng.random(300) * 0.8, 0, 1)
        reliability[method] = reliability_diagram(1 - u, 1 - errors, n_bins=10)
        risk[method] = risk_coverage_curve(u, errors, max_points=100)
    return reliability, risk


def test_write_plots_writes_pngs_and_leaves_no_temp_files(
    tmp_path: Path, curves: tuple[dict[str, dict], dict[str, dict]]
) -> None:
    reliability, risk = curves
    out = tmp_path / "reports" / "plots"
    paths = write_plots(out, reliability=reliability, risk_coverage=risk)
    assert paths == {"reliability": out / "reliability.png", "risk_coverage": out / "risk_coverage.png"}
    for path in paths.values():
        data = path.read_bytes()
        assert data.startswith(PNG_MAGIC) and len(data) > 5_000
    assert sorted(p.name for p in out.iterdir()) == ["reliability.png", "risk_coverage.png"]


def test_reliability_figure_grows_with_methods_and_overwrites(
    tmp_path: Path, curves: tuple[dict[str, dict], dict[str, dict]]
) -> None:
    reliability, _ = curves
    path = tmp_path / "r.png"
    plot_reliability_diagrams(dict(list(reliability.items())[:1]), path)
    one_height, one_width = imread(path).shape[:2]
    plot_reliability_diagrams(reliability, path)  # five methods: a 2 x 4 grid
    five_height, five_width = imread(path).shape[:2]
    assert five_width > 2 * one_width
    assert five_height > 1.5 * one_height


def test_risk_coverage_image_depends_on_the_curves(tmp_path: Path) -> None:
    a = plot_risk_coverage({"m": {"coverage": [0.5, 1.0], "risk": [0.0, 0.2]}}, tmp_path / "a.png")
    b = plot_risk_coverage({"m": {"coverage": [0.5, 1.0], "risk": [0.4, 0.2]}}, tmp_path / "b.png")
    assert not np.array_equal(imread(a), imread(b))


def test_bad_curves_raise_naming_the_problem(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="no methods"):
        plot_risk_coverage({}, tmp_path / "x.png")
    with pytest.raises(ValueError, match=r"'alien' lacks keys \['risk'\]"):
        plot_risk_coverage({"alien": {"coverage": [1.0]}}, tmp_path / "x.png")
    with pytest.raises(ValueError, match="lacks keys"):
        plot_reliability_diagrams({"alien": {"bin_edges": [0, 1]}}, tmp_path / "y.png")
    assert not list(tmp_path.iterdir())
