"""Unregularised logistic regression with non-negative slopes, shared by Platt and beta calibration.

A negative slope would make the map decreasing; following Kull et al. (2017,
the ``betacal`` reference code), a feature whose slope comes out negative is
dropped (its slope fixed at 0) and the rest is refitted.
"""

from __future__ import annotations

import numpy as np
from sklearn.linear_model import LogisticRegression

from alien.metrics.checks import FloatArray, IntArray

# Scores are kept this far from 0 and 1 before taking logs, so u = 0 or 1 maps to a finite value.
LOG_EPS = 1e-12


def clipped(u: FloatArray) -> FloatArray:
    """``u`` clipped to ``[LOG_EPS, 1 - LOG_EPS]``."""
    return np.clip(u, LOG_EPS, 1.0 - LOG_EPS)


def fit_nonnegative_logistic(features: FloatArray, errors: IntArray) -> tuple[FloatArray, float]:
    """Slopes ``(K,)`` (all >= 0) and intercept of ``P(error) = sigmoid(features @ slopes + intercept)``.

    Args:
        features: ``(N, K)`` finite features.
        errors: ``(N,)`` 0/1 targets holding both values.
    """
    slopes = np.zeros(features.shape[1])
    active = list(range(features.shape[1]))
    while active:
        # C = inf: no penalty; the map has 1-3 parameters and hundreds of rows.
        model = LogisticRegression(C=np.inf, max_iter=1000).fit(features[:, active], errors)
        coef = model.coef_[0]
        if (coef >= 0.0).all():
            slopes[active] = coef
            return slopes, float(model.intercept_[0])
        active.pop(int(np.argmin(coef)))
    rate = float(np.clip(errors.mean(), LOG_EPS, 1.0 - LOG_EPS))
    return slopes, float(np.log(rate / (1.0 - rate)))
