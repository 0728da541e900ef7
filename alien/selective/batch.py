"""Risk control for one known batch: the realised error rate among *its* accepted rows, not the population's.

:func:`~alien.selective.risk_control.choose_threshold` bounds the risk of the
population of future rows. The error rate realised on a finite batch scatters
around that (for 250 accepted rows by about ±0.02 at a 10% risk), so a batch
can exceed the target even when the population does not. When the batch's
scores are known before its labels (scoring a file, a nightly job), the bound
can be put on the batch itself: calibration and batch rows are exchangeable,
so given a threshold's accepted counts ``n_acc`` (calibration) and ``m_acc``
(batch) the calibration errors among the ``n_acc + m_acc`` accepted rows are
hypergeometric. The null "more than ``target_risk * m_acc`` batch errors" is
least favourable at ``K = k_cal + floor(target_risk * m_acc) + 1`` errors in
total, giving the p-value ``P(Hypergeom(n_acc + m_acc, K, n_acc) <= k_cal)``;
family-wise error control then runs exactly as in the population case. With
probability ``>= 1 - delta`` over the split, the batch's realised risk is
``<= target_risk``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.stats import hypergeom

from alien.metrics.checks import as_unit_scores
from alien.selective.risk_control import (
    ABSTAIN_ALL,
    FwerMethod,
    SelectiveThreshold,
    accept_counts,
    certified,
    checked_inputs,
    clopper_pearson_upper,
    resolve_min_accepted,
)


def batch_p_values(n_acc: Any, k_cal: Any, m_acc: Any, target_risk: float) -> np.ndarray:
    """Per candidate: p-value of "the batch's accepted error rate exceeds ``target_risk``".

    0 where the batch accepts no row (its risk is then 0 by convention), 1 where
    only the calibration side accepts none (no evidence).

    >>> round(float(batch_p_values([100], [0], [100], 0.1)[0]), 6)  # 0 of 100 calibration errors
    0.000365
    """
    n, k, m = (np.asarray(v, dtype=np.int64) for v in (n_acc, k_cal, m_acc))
    worst = k + np.floor(target_risk * m).astype(np.int64) + 1
    p = hypergeom.cdf(k, n + m, np.minimum(worst, n + m), n)
    return np.where(m == 0, 0.0, np.where(n == 0, 1.0, p))


def choose_batch_threshold(
    scores: Any,
    errors: Any,
    batch_scores: Any,
    *,
    target_risk: float,
    delta: float,
    candidates: Any = None,
    fwer_method: FwerMethod = "fixed_sequence",
    min_accepted: int | None = None,
) -> SelectiveThreshold:
    """The most permissive threshold certified for the realised risk of the batch ``batch_scores``.

    Args:
        scores: ``(N,)`` calibration scores in ``[0, 1]``.
        errors: ``(N,)`` 0/1 calibration errors.
        batch_scores: ``(M,)`` scores of the unlabelled batch the threshold will be applied to.
        target_risk: bound on the batch's error rate among accepted rows, in ``(0, 1)``.
        delta: allowed failure probability, in ``(0, 1)``.
        candidates: thresholds in testing order; default :func:`default_candidates`.
        fwer_method: ``"fixed_sequence"``, ``"bonferroni_holm"`` or ``"bonferroni"``.
        min_accepted: fixed sequence only: leading candidates accepting fewer
            calibration rows are skipped (default :func:`default_min_accepted`), as in
            :func:`~alien.selective.choose_threshold`.

    Returns:
        :class:`SelectiveThreshold`; ``coverage``, ``empirical_risk`` and
        ``risk_bound`` describe the calibration rows, as in the population case.

    Raises:
        ValueError: bad scores, errors, target, delta, method or candidates.
    """
    u, e, grid = checked_inputs(
        scores, errors, candidates, target_risk=target_risk, delta=delta, fwer_method=fwer_method
    )
    batch = np.sort(as_unit_scores(batch_scores, "batch_scores"))
    n_acc, k_cal = accept_counts(u, e, grid)
    m_acc = np.searchsorted(batch, grid, side="right")
    p_values = batch_p_values(n_acc, k_cal, m_acc, target_risk)
    valid = certified(
        p_values, n_acc, delta, fwer_method, resolve_min_accepted(min_accepted, target_risk, delta)
    )
    if valid.size == 0:
        return SelectiveThreshold(
            ABSTAIN_ALL, target_risk, delta, False, 0.0, 0.0, 1.0, u.size, 0, fwer_method
        )
    best = int(valid[np.lexsort((grid[valid], m_acc[valid]))[-1]])
    n, k = int(n_acc[best]), int(k_cal[best])
    return SelectiveThreshold(
        threshold=float(grid[best]),
        target_risk=target_risk,
        delta=delta,
        controlled=True,
        coverage=n / u.size,
        empirical_risk=k / n if n else 0.0,
        risk_bound=clopper_pearson_upper(k, n, delta),
        n_calibration=u.size,
        n_accepted=n,
        fwer_method=fwer_method,
    )


__all__ = ["batch_p_values", "choose_batch_threshold"]
