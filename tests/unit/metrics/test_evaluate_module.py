"""The local ``evaluate`` module returns exactly the pure functions' numbers."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from alien.metrics import evaluate_module_path, uncertainty_metrics


def test_evaluate_load_by_path_matches_uncertainty_metrics(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    monkeypatch.setenv("HF_MODULES_CACHE", str(tmp_path / "hf" / "modules"))
    import evaluate

    rng = np.random.default_rng(0)
    errors = rng.integers(0, 2, size=120)
    u = np.clip(0.3 * errors + 0.7 * rng.random(120), 0, 1)
    metric = evaluate.load(evaluate_module_path("alien_uncertainty"))
    got = metric.compute(uncertainties=u.tolist(), errors=errors.tolist(), n_bins=10)
    assert got == uncertainty_metrics(u, errors, n_bins=10)
    ranking_only = metric.compute(
        uncertainties=(u * 40).tolist(), errors=errors.tolist(), is_probability=False
    )
    assert ranking_only == uncertainty_metrics(u * 40, errors, is_probability=False)


def test_unknown_module_lists_choices() -> None:
    with pytest.raises(ValueError, match="alien_uncertainty"):
        evaluate_module_path("accuracy")
