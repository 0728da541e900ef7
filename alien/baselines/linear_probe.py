"""Linear probe: logistic regression on the pooled features predicting the error.

It is trained on the **validation** split, not on train: the backbone was
fine-tuned on train, so its errors there are rare and unrepresentative of the
errors it makes on unseen data, and a probe fitted on them learns little. The
validation split holds the backbone's out-of-sample errors. ``u`` is the
predicted probability of an error, so ``1 - u`` is a confidence
(``is_probability`` is true).
"""

from __future__ import annotations

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler

from alien.baselines.base import Scores, UncertaintyBaseline, check_feature_dim, features_numpy
from alien.core.feature_set import FeatureSet


class LinearProbe(UncertaintyBaseline):
    """Standardised features → L2-regularised logistic regression → ``P(error)``.

    Args:
        c: inverse regularisation strength of the logistic regression.
        max_iter: solver iterations.
        seed: random state of the solver.
    """

    name = "linear_probe"
    is_probability = True

    def __init__(self, *, c: float = 1.0, max_iter: int = 1000, seed: int = 0) -> None:
        super().__init__()
        if c <= 0:
            raise ValueError(f"c must be > 0, got {c}")
        self.c = c
        self.max_iter = max_iter
        self.seed = seed
        self.model: Pipeline | None = None
        self.n_features = 0

    def _fit(self, train: FeatureSet, validation: FeatureSet) -> None:
        errors = validation.errors.cpu().numpy().astype(np.int64)
        n_err = int(errors.sum())
        if n_err in (0, errors.size):
            kind = "no errors" if n_err == 0 else "only errors"
            raise ValueError(
                f"linear_probe needs both errors and correct predictions on validation, got {kind} "
                f"in {errors.size} rows"
            )
        self.model = make_pipeline(
            StandardScaler(),
            LogisticRegression(C=self.c, max_iter=self.max_iter, random_state=self.seed),
        )
        self.model.fit(features_numpy(validation), errors)
        self.n_features = validation.features.shape[1]

    def _score(self, fs: FeatureSet) -> Scores:
        assert self.model is not None  # set by _fit; score() checks fitted first
        check_feature_dim(fs, self.n_features, self.name)
        return np.asarray(self.model.predict_proba(features_numpy(fs))[:, 1], dtype=np.float64)
