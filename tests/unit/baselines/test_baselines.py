"""Baselines on tiny synthetic problems whose right answer is known."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
import yaml

from alien.baselines import (
    BASELINES,
    LinearProbe,
    Mahalanobis,
    PredictiveEntropy,
    RelativeMahalanobis,
    SoftmaxResponse,
    TemperatureScaling,
    make_baseline,
)
from alien.core.feature_set import FeatureSet
from alien.core.uncertainty import normalized_entropy
from alien.metrics import expected_calibration_error, roc_auc

REPO = Path(__file__).resolve().parents[3]


def _feature_set(features: np.ndarray, logits: np.ndarray, labels: np.ndarray) -> FeatureSet:
    return FeatureSet(
        torch.as_tensor(features, dtype=torch.float32),
        torch.as_tensor(logits, dtype=torch.float32),
        torch.as_tensor(labels, dtype=torch.int64),
    )


def _two_clusters(n: int, seed: int) -> FeatureSet:
    """Class c has features N(mu_c, I) with mu_0 = (-3, 0, 0, 0), mu_1 = (3, 0, 0, 0)."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 2, size=n)
    x = rng.normal(size=(n, 4))
    x[:, 0] += np.where(labels == 1, 3.0, -3.0)
    logits = np.stack([-x[:, 0], x[:, 0]], axis=1)
    return _feature_set(x, logits, labels)


def _over_confident(n: int, seed: int, *, scale: float = 3.0) -> FeatureSet:
    """Labels drawn from softmax(z); the model reports scale * z (over-confident for scale > 1)."""
    rng = np.random.default_rng(seed)
    z = rng.normal(scale=1.5, size=(n, 3))
    p = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
    labels = (rng.random((n, 1)) > p.cumsum(axis=1)).sum(axis=1)
    return _feature_set(rng.normal(size=(n, 2)), scale * z, labels)


def test_dispatch_names_cover_params_yaml() -> None:
    params = yaml.safe_load((REPO / "params.yaml").read_text())
    assert set(params["evaluate"]["baselines"]) <= set(BASELINES)
    for name, cls in BASELINES.items():
        baseline = make_baseline(name)
        assert isinstance(baseline, cls) and baseline.name == name


def test_unknown_baseline_lists_choices() -> None:
    with pytest.raises(ValueError, match=r"unknown baseline 'ddu'.*linear_probe"):
        make_baseline("ddu")


def test_softmax_response_confident_row_below_uniform_row() -> None:
    fs = _feature_set(np.zeros((2, 2)), np.array([[8.0, 0.0, 0.0], [1.0, 1.0, 1.0]]), np.array([0, 0]))
    u = SoftmaxResponse().fit(fs, fs).score(fs)
    assert u[0] < 0.01
    assert u[1] == pytest.approx(2 / 3)


def test_entropy_is_normalized_entropy_of_logits() -> None:
    fs = _over_confident(20, seed=0, scale=1.0)
    u = PredictiveEntropy().fit(fs, fs).score(fs)
    assert u == pytest.approx(normalized_entropy(fs.logits.double()).numpy(), abs=1e-12)
    assert u.dtype == np.float64


def test_temperature_scaling_learns_t_above_one_and_lowers_ece() -> None:
    validation, test = _over_confident(3000, seed=1), _over_confident(3000, seed=2)
    ts = TemperatureScaling().fit(validation, validation)
    assert 2.4 < ts.temperature < 3.6  # the logits were inflated 3x
    correct = 1 - test.errors.numpy()
    ece_before = expected_calibration_error(1 - SoftmaxResponse().fit(test, test).score(test), correct)
    ece_after = expected_calibration_error(1 - ts.score(test), correct)
    assert ece_after < ece_before / 2
    probs = ts.calibrated_probabilities(test)
    assert torch.equal(probs.argmax(dim=1), test.predictions)


def test_mahalanobis_far_features_score_higher() -> None:
    train = _two_clusters(400, seed=3)
    near = _two_clusters(50, seed=4)
    far = _feature_set(near.features.numpy() + 12.0, near.logits.numpy(), near.labels.numpy())
    md = Mahalanobis().fit(train, train)
    assert md.score(far).min() > md.score(near).max()


def test_mahalanobis_matches_hand_computed_distance() -> None:
    train = _two_clusters(300, seed=5)
    x, y = train.features.double().numpy(), train.labels.numpy()
    means = np.stack([x[y == c].mean(0) for c in (0, 1)])
    centered = x - means[y]
    precision = np.linalg.inv(centered.T @ centered / len(x))
    query = np.array([[0.5, 1.0, -1.0, 2.0]])
    expected = min(float((query[0] - m) @ precision @ (query[0] - m)) for m in means)
    fs = _feature_set(query, np.zeros((1, 2)), np.array([0]))
    assert Mahalanobis().fit(train, train).score(fs)[0] == pytest.approx(expected, rel=1e-5)


def test_relative_mahalanobis_ranks_between_class_points_above_class_centres() -> None:
    train = _two_clusters(600, seed=6)
    queries = np.array([[-3.0, 0, 0, 0], [3.0, 0, 0, 0], [0.0, 0, 0, 0]])
    fs = _feature_set(queries, np.zeros((3, 2)), np.zeros(3, dtype=int))
    rmd = RelativeMahalanobis().fit(train, train)
    u = rmd.score(fs)
    assert u[2] > max(u[0], u[1])
    # RMD subtracts the background distance: at a class centre it is negative.
    assert u[0] < 0 and u[1] < 0
    x = train.features.double().numpy()
    diff = queries - x.mean(0)
    background = np.einsum("nh,hk,nk->n", diff, np.linalg.inv(np.cov(x.T, bias=True)), diff)
    assert u == pytest.approx(Mahalanobis().fit(train, train).score(fs) - background, rel=1e-5)


def test_ledoit_wolf_covariance_option() -> None:
    train = _two_clusters(200, seed=7)
    near = _two_clusters(20, seed=8)
    far = _feature_set(near.features.numpy() + 12.0, near.logits.numpy(), near.labels.numpy())
    md = Mahalanobis(covariance="ledoit_wolf").fit(train, train)
    assert md.score(far).min() > md.score(near).max()
    with pytest.raises(ValueError, match="unknown covariance 'diag'"):
        Mahalanobis(covariance="diag")  # type: ignore[arg-type]


def _linearly_predictable_errors(n: int, seed: int) -> FeatureSet:
    """The classifier always predicts class 0; the label is 1 (an error) iff x0 + noise > 0.5."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 5))
    labels = (x[:, 0] + 0.1 * rng.normal(size=n) > 0.5).astype(int)
    logits = np.tile([2.0, 0.0], (n, 1))
    return _feature_set(x, logits, labels)


def test_linear_probe_detects_linearly_predictable_errors() -> None:
    validation, test = _linearly_predictable_errors(400, 9), _linearly_predictable_errors(400, 10)
    probe = LinearProbe().fit(train=_two_clusters(10, 0), validation=validation)
    u = probe.score(test)
    assert roc_auc(u, test.errors.numpy()) > 0.9
    assert ((u >= 0) & (u <= 1)).all()


def test_linear_probe_needs_errors_on_validation() -> None:
    fs = _linearly_predictable_errors(50, 11)
    no_errors = fs.subset(fs.labels == 0)
    with pytest.raises(ValueError, match="got no errors"):
        LinearProbe().fit(fs, no_errors)


@pytest.mark.parametrize("name", sorted(BASELINES))
def test_every_baseline_scores_one_finite_value_per_row(name: str) -> None:
    train, validation, test = (
        _two_clusters(200, 12),
        _linearly_predictable_errors(200, 13),
        _two_clusters(30, 14),
    )
    validation = _feature_set(
        validation.features.numpy()[:, :4], validation.logits.numpy(), validation.labels.numpy()
    )
    baseline = make_baseline(name)
    with pytest.raises(RuntimeError, match="not fitted"):
        baseline.score(test)
    u = baseline.fit(train, validation).score(test)
    assert u.shape == (30,) and u.dtype == np.float64 and np.isfinite(u).all()
    if baseline.is_probability:
        assert ((u >= 0) & (u <= 1)).all()


@pytest.mark.parametrize("name", ["mahalanobis", "relative_mahalanobis", "linear_probe", "rde"])
def test_feature_width_mismatch_raises(name: str) -> None:
    fs = _linearly_predictable_errors(100, 15)
    baseline = make_baseline(name).fit(fs, fs)
    narrow = _feature_set(fs.features.numpy()[:, :3], fs.logits.numpy(), fs.labels.numpy())
    with pytest.raises(ValueError, match="features have 3 dimensions, but the baseline was fitted on 5"):
        baseline.score(narrow)


def test_non_feature_set_and_nan_inputs_raise() -> None:
    with pytest.raises(TypeError, match="train must be a FeatureSet"):
        SoftmaxResponse().fit(np.zeros((2, 2)), np.zeros((2, 2)))  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="features contain NaN"):
        _feature_set(np.array([[np.nan, 0.0]]), np.zeros((1, 2)), np.array([0]))
