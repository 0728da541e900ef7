"""Feature-density baselines: Mahalanobis distance and relative Mahalanobis distance.

* Mahalanobis (Lee et al., 2018): class-conditional Gaussians with a shared
  covariance fitted on the training features; ``u(x) = min_c MD_c(x)`` with
  ``MD_c(x) = (x - mu_c)^T Sigma^-1 (x - mu_c)``.
* Relative Mahalanobis (Ren et al., 2021): subtract the distance to one
  background Gaussian fitted on all training features, ``u(x) = min_c MD_c(x) - MD_0(x)``,
  which removes the directions every class shares.

Neither score is a probability (``is_probability`` is false): only ranking
metrics apply.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import numpy.typing as npt
from sklearn.covariance import EmpiricalCovariance, LedoitWolf

from alien.baselines.base import Scores, UncertaintyBaseline, check_feature_dim, features_numpy
from alien.core.feature_set import FeatureSet

CovarianceKind = Literal["empirical", "ledoit_wolf"]
COVARIANCE_KINDS: tuple[str, ...] = ("empirical", "ledoit_wolf")
Matrix = npt.NDArray[np.float64]


def _precision(centered: Matrix, kind: CovarianceKind) -> Matrix:
    """Precision matrix of already-centred rows (pseudo-inverse if singular)."""
    estimator = EmpiricalCovariance if kind == "empirical" else LedoitWolf
    return np.asarray(estimator(assume_centered=True).fit(centered).precision_, dtype=np.float64)


def _squared_distance(x: Matrix, mean: Matrix, precision: Matrix) -> Scores:
    """``(N,)`` squared Mahalanobis distance of rows ``x`` ``(N, H)`` to ``mean`` ``(H,)``."""
    diff = x - mean
    return np.asarray(((diff @ precision) * diff).sum(axis=1), dtype=np.float64)


def _squared_distances(x: Matrix, means: Matrix, precision: Matrix) -> Matrix:
    """``(N, K)`` squared distances of rows ``x`` to each of ``means`` ``(K, H)`` under one precision.

    Expands ``(x - m)^T P (x - m) = x^T P x - 2 x^T P m + m^T P m`` so the
    ``O(N H^2)`` product ``x P`` is computed once, not once per class.
    """
    xp = x @ precision
    quad_x = (xp * x).sum(axis=1, keepdims=True)
    quad_m = ((means @ precision) * means).sum(axis=1)
    # Cancellation can leave tiny negatives for points on a mean; distances are >= 0.
    return np.clip(quad_x - 2.0 * xp @ means.T + quad_m, 0.0, None)


class Mahalanobis(UncertaintyBaseline):
    """Minimum squared Mahalanobis distance to the training class means.

    Args:
        covariance: ``"empirical"`` (as in Lee et al.; pseudo-inverse when
            singular) or ``"ledoit_wolf"`` (shrunk, steadier when ``N`` is not
            much larger than ``H``).
    """

    name = "mahalanobis"
    is_probability = False

    def __init__(self, *, covariance: CovarianceKind = "empirical") -> None:
        super().__init__()
        if covariance not in COVARIANCE_KINDS:
            raise ValueError(f"unknown covariance {covariance!r}; choose one of {COVARIANCE_KINDS}")
        self.covariance: CovarianceKind = covariance
        self.class_means: Matrix = np.empty((0, 0))
        self.precision: Matrix = np.empty((0, 0))

    def _fit(self, train: FeatureSet, validation: FeatureSet) -> None:
        x = features_numpy(train)
        y = train.labels.cpu().numpy()
        # Classes absent from train get no Gaussian rather than a NaN mean.
        classes = np.unique(y)
        self.class_means = np.stack([x[y == c].mean(axis=0) for c in classes])
        centered = x - self.class_means[np.searchsorted(classes, y)]
        self.precision = _precision(centered, self.covariance)

    def class_distances(self, fs: FeatureSet) -> Matrix:
        """``(N, K)`` squared distances to each of the ``K`` fitted class means."""
        check_feature_dim(fs, self.class_means.shape[1], self.name)
        return _squared_distances(features_numpy(fs), self.class_means, self.precision)

    def _score(self, fs: FeatureSet) -> Scores:
        return np.asarray(self.class_distances(fs).min(axis=1), dtype=np.float64)


class RelativeMahalanobis(Mahalanobis):
    """Mahalanobis distance minus the distance to a background Gaussian (Ren et al., 2021)."""

    name = "relative_mahalanobis"
    is_probability = False

    def __init__(self, *, covariance: CovarianceKind = "empirical") -> None:
        super().__init__(covariance=covariance)
        self.background_mean: Matrix = np.empty(0)
        self.background_precision: Matrix = np.empty((0, 0))

    def _fit(self, train: FeatureSet, validation: FeatureSet) -> None:
        super()._fit(train, validation)
        x = features_numpy(train)
        self.background_mean = x.mean(axis=0)
        self.background_precision = _precision(x - self.background_mean, self.covariance)

    def _score(self, fs: FeatureSet) -> Scores:
        md = self.class_distances(fs).min(axis=1)
        md0 = _squared_distance(features_numpy(fs), self.background_mean, self.background_precision)
        return np.asarray(md - md0, dtype=np.float64)
