"""DOCTOR and RDE against hand-computed values."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.covariance import EmpiricalCovariance, MinCovDet

from alien.baselines import Doctor, RobustDensity, SoftmaxResponse, make_baseline
from alien.core.feature_set import FeatureSet
from alien.metrics import roc_auc


def _fs(features: np.ndarray, logits: np.ndarray | None = None) -> FeatureSet:
    n = features.shape[0]
    logits = np.zeros((n, 2)) if logits is None else logits
    return FeatureSet(
        torch.as_tensor(features, dtype=torch.float32),
        torch.as_tensor(logits, dtype=torch.float32),
        torch.zeros(n, dtype=torch.int64),
    )


def test_doctor_matches_hand_computed_gini() -> None:
    # softmax([ln 3, 0]) = (3/4, 1/4): Gini 1 - 9/16 - 1/16 = 3/8, normalised by 1 - 1/2 -> 3/4.
    # softmax([0, 0, 0]) is uniform -> 1; softmax([ln 2, 0, 0]) = (1/2, 1/4, 1/4): 1 - 6/16 = 5/8, / (2/3) = 15/16.
    two = _fs(np.zeros((2, 1)), np.array([[np.log(3.0), 0.0], [0.0, 0.0]]))
    three = FeatureSet(
        torch.zeros(2, 1),
        torch.tensor([[0.0, 0.0, 0.0], [float(np.log(2.0)), 0.0, 0.0]]),
        torch.zeros(2).long(),
    )
    doctor = make_baseline("doctor")
    assert isinstance(doctor, Doctor)
    assert doctor.fit(two, two).score(two) == pytest.approx([0.75, 1.0], abs=1e-6)
    assert doctor.score(three) == pytest.approx([1.0, 15 / 16], abs=1e-6)


def test_doctor_is_near_zero_for_a_confident_row_and_ranks_binary_like_softmax_response() -> None:
    rng = np.random.default_rng(0)
    logits = rng.normal(scale=3.0, size=(200, 2))
    fs = _fs(np.zeros((200, 1)), logits)
    gini = Doctor().fit(fs, fs).score(fs)
    sr = SoftmaxResponse().fit(fs, fs).score(fs)
    # Binary: normalised Gini = 4 p (1 - p) with p = max prob, a monotone function of 1 - max p.
    assert gini == pytest.approx(4 * (1 - sr) * sr, abs=1e-6)
    assert np.array_equal(np.argsort(gini, kind="stable"), np.argsort(sr, kind="stable"))
    confident = _fs(np.zeros((1, 1)), np.array([[20.0, -20.0]]))
    assert Doctor().fit(fs, fs).score(confident)[0] < 1e-12


def test_rde_equals_pca_then_mincovdet_by_hand() -> None:
    rng = np.random.default_rng(1)
    x = rng.normal(size=(300, 6)) @ rng.normal(size=(6, 6))
    queries = rng.normal(size=(5, 6)) * 3
    rde = RobustDensity(n_components=3, seed=0).fit(_fs(x), _fs(x))
    # PCA by hand: centre, project on the top right-singular vectors (signs do not change distances).
    xd = x.astype(np.float32).astype(np.float64)
    mean = xd.mean(axis=0)
    _, _, vt = np.linalg.svd(xd - mean, full_matrices=False)
    z = (xd - mean) @ vt[:3].T
    mcd = MinCovDet(random_state=0).fit(z)
    zq = (queries.astype(np.float32).astype(np.float64) - mean) @ vt[:3].T
    diff = zq - mcd.location_
    expected = np.einsum("nh,hk,nk->n", diff, np.linalg.inv(mcd.covariance_), diff)
    assert rde.score(_fs(queries)) == pytest.approx(expected, rel=1e-6)


def test_rde_is_robust_to_training_outliers_where_the_empirical_gaussian_is_not() -> None:
    rng = np.random.default_rng(2)
    clean = rng.normal(size=(450, 3))
    outliers = rng.normal(loc=30.0, scale=5.0, size=(50, 3))
    train = np.concatenate([clean, outliers])
    query = np.array([[4.0, 0.0, 0.0]])
    robust = RobustDensity(n_components=3).fit(_fs(train), _fs(train)).score(_fs(query))[0]
    # The clean rows are N(0, I): the squared distance of (4, 0, 0) is about 16.
    assert 10.0 < robust < 25.0
    empirical = EmpiricalCovariance().fit(train).mahalanobis(query)[0]
    assert empirical < robust / 4  # the 10% outliers inflate the plain covariance


def test_rde_separates_in_distribution_from_shifted_rows() -> None:
    rng = np.random.default_rng(3)
    train = rng.normal(size=(400, 8))
    near, far = rng.normal(size=(100, 8)), rng.normal(size=(100, 8)) + 3.0
    rde = RobustDensity(n_components=4).fit(_fs(train), _fs(train))
    u = np.concatenate([rde.score(_fs(near)), rde.score(_fs(far))])
    assert roc_auc(u, np.r_[np.zeros(100), np.ones(100)]) > 0.95
    assert not rde.is_probability


def test_rde_caps_components_and_validates_options() -> None:
    x = np.random.default_rng(4).normal(size=(5, 10))
    rde = RobustDensity(n_components=50).fit(_fs(x), _fs(x))
    assert rde.pca is not None and rde.pca.n_components_ == 4
    with pytest.raises(ValueError, match="n_components must be a positive integer, got 0"):
        RobustDensity(n_components=0)
    with pytest.raises(ValueError, match="at least 3 training rows"):
        RobustDensity().fit(_fs(x[:2]), _fs(x[:2]))
