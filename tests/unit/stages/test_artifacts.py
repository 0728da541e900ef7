"""Files shared between stages: per-row test scores and the data version."""

from __future__ import annotations

import numpy as np
import pytest

from alien.evaluation.free_baseline import FREE_SCORES, FreeBaseline
from alien.stages.artifacts import TestScores, data_version, file_md5


def _scores(n_bins: int = 7) -> TestScores:
    rng = np.random.default_rng(0)
    return TestScores(
        uncertainty={"alien": rng.random(12), "entropy": rng.random(12), "mahalanobis": rng.random(12) * 40},
        is_probability={"alien": True, "entropy": True, "mahalanobis": False},
        errors=rng.integers(0, 2, 12),
        predictions=rng.integers(0, 3, 12),
        labels=rng.integers(0, 3, 12),
        n_bins=n_bins,
        free_baseline=FreeBaseline("alignment", 0.8, dict(zip(FREE_SCORES, (0.7, 0.71, 0.72), strict=True))),
    )


def test_scores_round_trip_bit_for_bit(tmp_path):
    scores = _scores(n_bins=7)
    scores.save(tmp_path / "reports" / "scores.npz")
    again = TestScores.load(tmp_path / "reports" / "scores.npz")
    assert again.n_bins == 7
    assert (
        again.free_baseline == scores.free_baseline and again.free_baseline.ranking == "temperature_scaling"
    )
    assert again.is_probability == scores.is_probability
    for name, u in scores.uncertainty.items():
        np.testing.assert_array_equal(again.method(name), u)
    for field in ("errors", "predictions", "labels"):
        np.testing.assert_array_equal(getattr(again, field), getattr(scores, field))


def test_scores_validate_shapes_and_names():
    good = _scores()
    with pytest.raises(ValueError, match="uncertainty of 'alien' has shape \\(3,\\), expected \\(12,\\)"):
        bad = {**good.uncertainty, "alien": np.zeros(3)}
        TestScores(bad, good.is_probability, good.errors, good.predictions, good.labels, 15)
    with pytest.raises(ValueError, match="labels has 2 rows but errors has 12"):
        TestScores(good.uncertainty, good.is_probability, good.errors, good.predictions, good.labels[:2], 15)
    with pytest.raises(ValueError, match="no test scores for method 'rde'; evaluated: \\['alien'"):
        good.method("rde")


def test_missing_scores_point_to_evaluate(tmp_path):
    with pytest.raises(FileNotFoundError, match="run the evaluate stage"):
        TestScores.load(tmp_path / "scores.npz")


def test_data_version_comes_from_dvc_lock_only_when_the_md5_matches(tmp_path):
    raw = tmp_path / "data" / "raw.jsonl"
    raw.parent.mkdir()
    raw.write_text('{"text": "a", "label": "x"}\n')
    md5 = file_md5(raw)
    assert data_version(raw, root=tmp_path)["source"] == "file"
    lock = "stages:\n  fetch:\n    outs:\n    - path: {path}\n      md5: {md5}\n"
    (tmp_path / "dvc.lock").write_text(lock.format(path=raw, md5=md5))
    assert data_version(raw, root=tmp_path) == {"md5": md5, "source": "dvc.lock", "path": str(raw)}
    (tmp_path / "dvc.lock").write_text(lock.format(path=raw, md5="0" * 32))
    assert data_version(raw, root=tmp_path)["source"] == "file"
    with pytest.raises(FileNotFoundError, match="run the fetch stage"):
        data_version(tmp_path / "none.jsonl", root=tmp_path)
