"""Error-detection metrics: how well an uncertainty ranks wrong predictions first.

All functions take ``u`` ``(N,)`` (higher = more likely wrong) and ``errors``
``(N,)`` (1 where the prediction is wrong, 0 where it is right), as numpy
arrays, torch tensors or sequences.

Risk–coverage convention (used by :func:`aurc` and :func:`prediction_rejection_ratio`):
rows are retained from the most certain (lowest ``u``) upwards; at coverage
``k / N`` the risk is the error rate among the ``k`` retained rows, and

    AURC = (1 / N) * sum_{k=1..N} risk_k.

Rows with tied ``u`` cannot be ordered by the score, so within a tie group the
cumulative error count is interpolated linearly — exactly the expectation over
random tie-breaking. A constant score therefore gets the random AURC, which is
the overall error rate.

Undefined cases raise ``ValueError`` naming the case: empty input always, and
for ROC-AUC, PR-AUC and PRR also "no errors" and "every row an error".
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.stats import rankdata
from sklearn.metrics import average_precision_score, roc_auc_score

from alien.metrics.checks import (
    FloatArray,
    IntArray,
    as_binary,
    as_float_1d,
    check_both_classes,
    check_same_length,
)


def validate_error_inputs(u: Any, errors: Any) -> tuple[FloatArray, IntArray]:
    """Check and convert ``(u, errors)``; raises ``ValueError`` naming the problem."""
    u_arr = as_float_1d(u, "u")
    e_arr = as_binary(errors, "errors")
    check_same_length(u=u_arr, errors=e_arr)
    return u_arr, e_arr


def roc_auc(u: Any, errors: Any) -> float:
    """ROC-AUC of ``u`` as a detector of ``errors`` (0.5 = chance, 1 = perfect).

    Args:
        u: ``(N,)`` uncertainty scores.
        errors: ``(N,)`` 0/1 error indicators.

    Raises:
        ValueError: empty input, mismatched lengths, NaN, or a single class.

    >>> roc_auc([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1])
    0.75
    """
    u_arr, e_arr = validate_error_inputs(u, errors)
    check_both_classes(e_arr, needed_by="ROC-AUC")
    return float(roc_auc_score(e_arr, u_arr))


def batched_roc_auc(scores: Any, errors: Any) -> FloatArray:
    """ROC-AUC of each row of ``scores`` at once (Mann-Whitney with average ranks, = sklearn).

    For hot loops (the alignment grid's early stopping, bootstrap resamples), so it
    trusts its inputs: every row of ``errors`` must hold both classes.

    Args:
        scores: ``(K, N)`` scores, higher = more likely an error.
        errors: ``(N,)`` 0/1 errors shared by every row, or ``(K, N)`` one vector per row.

    Returns:
        ``(K,)`` float64 ROC-AUCs; ``nan`` for a row with a non-finite score.

    >>> batched_roc_auc([[0.1, 0.4, 0.4, 0.8], [0.5, 0.5, 0.5, 0.5]], [0, 0, 1, 1]).tolist()
    [0.875, 0.5]
    """
    s = np.asarray(scores, dtype=np.float64)
    e = np.broadcast_to(np.asarray(errors).astype(bool), s.shape)
    finite = np.asarray(np.isfinite(s).all(axis=1))
    ranks = rankdata(np.where(finite[:, None], s, 0.0), axis=1)  # average ranks: ties count one half
    n_pos = e.sum(axis=1)
    n_neg = s.shape[1] - n_pos
    auc = ((ranks * e).sum(axis=1) - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg)
    return np.where(finite, auc, np.nan)


def pr_auc(u: Any, errors: Any) -> float:
    """Average precision of ``u`` for retrieving the errors (errors are the positive class).

    Args:
        u: ``(N,)`` uncertainty scores.
        errors: ``(N,)`` 0/1 error indicators.

    Raises:
        ValueError: empty input, mismatched lengths, NaN, or a single class.

    >>> round(pr_auc([0.1, 0.4, 0.35, 0.8], [0, 0, 1, 1]), 6)
    0.833333
    """
    u_arr, e_arr = validate_error_inputs(u, errors)
    check_both_classes(e_arr, needed_by="PR-AUC")
    return float(average_precision_score(e_arr, u_arr))


def expected_cumulative_errors(u: FloatArray, errors: IntArray) -> FloatArray:
    """``(N,)`` errors among the ``k`` most certain rows, ``k = 1..N``, ties interpolated.

    Args:
        u: ``(N,)`` validated uncertainties.
        errors: ``(N,)`` validated 0/1 errors.
    """
    order = np.argsort(u, kind="stable")
    u_sorted = u[order]
    cum = np.cumsum(errors[order], dtype=np.float64)
    # Tie groups are runs of equal u; interpolate the cumulative count across each run.
    _, group, sizes = np.unique(u_sorted, return_inverse=True, return_counts=True)
    ends = np.cumsum(sizes)
    starts = ends - sizes
    cum_before = np.concatenate(([0.0], cum[ends[:-1] - 1]))
    group_errors = cum[ends - 1] - cum_before
    position_in_group = np.arange(u.size) - starts[group] + 1
    return cum_before[group] + position_in_group * group_errors[group] / sizes[group]


def _aurc(u: FloatArray, errors: IntArray) -> float:
    risk = expected_cumulative_errors(u, errors) / np.arange(1, u.size + 1)
    return float(risk.mean())


def _oracle_aurc(errors: IntArray) -> float:
    n, n_err = errors.size, int(errors.sum())
    k = np.arange(1, n + 1)
    # The oracle retains every correct row before any error.
    risk = np.clip(k - (n - n_err), 0, None) / k
    return float(risk.mean())


def aurc(u: Any, errors: Any) -> float:
    """Area under the risk–coverage curve (lower is better), see the module docstring.

    Defined also when there are no errors (0.0) or only errors (1.0).

    Args:
        u: ``(N,)`` uncertainty scores.
        errors: ``(N,)`` 0/1 error indicators.

    Raises:
        ValueError: empty input, mismatched lengths or NaN.

    Example (risks at coverage 1/4..4/4 are 0, 0, 1/3, 1/2):

    >>> round(aurc([0.1, 0.2, 0.3, 0.4], [0, 0, 1, 1]), 6)
    0.208333
    """
    u_arr, e_arr = validate_error_inputs(u, errors)
    return _aurc(u_arr, e_arr)


def prediction_rejection_ratio(u: Any, errors: Any) -> float:
    """Prediction rejection ratio on the 0/1 loss (1 = oracle, 0 = random, < 0 = worse).

    With AURC as in the module docstring,

        PRR = (AURC_random - AURC(u)) / (AURC_random - AURC_oracle)

    where ``AURC_random`` is the error rate (the expected AURC of a random
    ranking) and ``AURC_oracle`` ranks every correct row before every error.

    Args:
        u: ``(N,)`` uncertainty scores.
        errors: ``(N,)`` 0/1 error indicators.

    Raises:
        ValueError: empty input, mismatched lengths, NaN, or a single class
            (the oracle then equals random).

    >>> prediction_rejection_ratio([0.1, 0.2, 0.3, 0.4], [0, 0, 1, 1])
    1.0
    """
    u_arr, e_arr = validate_error_inputs(u, errors)
    check_both_classes(e_arr, needed_by="PRR")
    random = float(e_arr.mean())
    oracle = _oracle_aurc(e_arr)
    return (random - _aurc(u_arr, e_arr)) / (random - oracle)
