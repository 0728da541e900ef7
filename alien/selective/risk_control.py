"""Risk-controlled abstention: a threshold on ``u`` with a finite-sample bound on the accepted rows' error rate.

Learn-then-Test (Angelopoulos et al., 2021/2025). For each candidate threshold
``t`` (accept a row iff ``u <= t``) the null hypothesis "the error rate among
accepted rows exceeds ``target_risk``" is tested on a calibration split: given
``n`` accepted rows with ``k`` errors the error count is binomial, so the
p-value is ``P(Binomial(n, target_risk) <= k)`` (the exact binomial tail;
mapie's binary Hoeffding–Bentkus p-value without its rounding of ``n * k / n``).
mapie's family-wise error control (:func:`mapie.risk_control.control_fwer`)
then rejects a set of candidates such that, with probability at least
``1 - delta`` over the calibration draw, *every* rejected threshold has a true
risk ``<= target_risk``; the most permissive one is returned.

Why not mapie's ``BinaryClassificationController``: its p-value is NaN where a
candidate accepts no row, and Bonferroni–Holm then stops at that NaN (no
threshold is ever returned), and its secondary-objective choice does not
select the highest coverage. Its FWER procedures are used as they are.

The default candidates suit calibrated scores (``g(u) ~ P(error)``, or
temperature scaling's ``1 - max p``): fixed-sequence testing starts at
``t = target_risk``, where rows whose own error probability is at most the
target are accepted, and loosens in steps of 0.001, stopping at the first
threshold it cannot certify. No correction for the number of candidates is
paid (the order is fixed before seeing the labels).

Leading candidates that accept too few calibration rows to be certified
(:func:`default_min_accepted`: fewer than would certify an error rate of half
the target) are skipped rather than tested, since testing them would stop the
sequence at once or on the first unlucky error (a temperature-scaled model
whose ``1 - max p`` never drops below the target is the common case). The skip looks at the calibration scores only, never at
their labels; the binomial p-values stay valid conditionally on those scores
(errors are then independent Bernoulli draws, and the binomial tail bounds
their Poisson-binomial sum, Hoeffding 1956). The repeated-draw tests in
``tests/unit/selective`` check the resulting guarantee.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
from mapie.risk_control import control_fwer
from scipy.stats import beta, binom

from alien.metrics.checks import FloatArray, IntArray, as_indicators, as_unit_scores

FwerMethod = Literal["fixed_sequence", "bonferroni_holm", "bonferroni"]
FWER_METHODS: tuple[str, ...] = ("fixed_sequence", "bonferroni_holm", "bonferroni")
# Threshold returned when no candidate is certified: below every score in [0, 1], so every row abstains.
ABSTAIN_ALL = -1.0
CANDIDATE_STEP = 0.001


@dataclass(frozen=True)
class SelectiveThreshold:
    """The chosen threshold and what it achieved on the calibration split.

    Attributes:
        threshold: abstain iff ``u > threshold`` (:data:`ABSTAIN_ALL` when nothing is certified).
        target_risk: the error-rate bound among accepted rows.
        delta: the allowed probability that the bound fails.
        controlled: whether any threshold was certified.
        coverage: fraction of calibration rows accepted.
        empirical_risk: error rate among accepted calibration rows (0 when none).
        risk_bound: one-sided ``1 - delta`` Clopper–Pearson upper bound of that
            error rate (1 when nothing is accepted; from :func:`choose_threshold`
            it is ``<= target_risk`` whenever ``controlled``).
        n_calibration: calibration rows.
        n_accepted: calibration rows accepted.
        fwer_method: the family-wise error procedure.
    """

    threshold: float
    target_risk: float
    delta: float
    controlled: bool
    coverage: float
    empirical_risk: float
    risk_bound: float
    n_calibration: int
    n_accepted: int
    fwer_method: str

    def to_dict(self) -> dict[str, Any]:
        """JSON-able view."""
        return asdict(self)


def default_candidates(target_risk: float) -> FloatArray:
    """Thresholds from ``target_risk`` up to 1 in steps of :data:`CANDIDATE_STEP`, in testing order."""
    n = math.floor((1.0 - target_risk) / CANDIDATE_STEP + 1e-9) + 1
    return np.minimum(target_risk + CANDIDATE_STEP * np.arange(n), 1.0)


def min_certifiable(target_risk: float, delta: float) -> int:
    """Fewest accepted rows that can certify ``target_risk`` at ``delta``: ``(1 - target)^n <= delta``.

    >>> min_certifiable(0.1, 0.1)
    22
    """
    return math.ceil(math.log(delta) / math.log1p(-target_risk) - 1e-12)


def default_min_accepted(target_risk: float, delta: float) -> int:
    """Fewest accepted rows at which an error rate of half the target could be certified.

    Where the fixed sequence starts by default: at :func:`min_certifiable` rows
    a single error already stops it, so a low-risk region would end the search
    by chance; from here one or more errors are tolerated.

    >>> default_min_accepted(0.1, 0.1)
    38
    """
    n = min_certifiable(target_risk, delta)
    while binom.cdf(math.floor(n * target_risk / 2), n, target_risk) > delta:
        n += 1
    return n


def certified(
    p_values: FloatArray, n_acc: npt.NDArray[np.int64], delta: float, fwer_method: str, min_accepted: int
) -> npt.NDArray[np.int64]:
    """Indices of the candidates rejected (certified) under family-wise error control at ``delta``.

    The fixed sequence starts past leading candidates accepting fewer than
    ``min_accepted`` calibration rows (it would stop at the first one); the
    Bonferroni procedures test every candidate.
    """
    start = 0
    if fwer_method == "fixed_sequence":
        enough = np.flatnonzero(n_acc >= min_accepted)
        if enough.size == 0:
            return np.empty(0, dtype=np.int64)
        start = int(enough[0])
    return start + np.asarray(control_fwer(p_values[start:], delta, fwer_method=fwer_method), dtype=np.int64)


def clopper_pearson_upper(errors: int, n: int, delta: float) -> float:
    """One-sided ``1 - delta`` upper confidence bound of a binomial rate (1.0 when ``n == 0``).

    >>> round(clopper_pearson_upper(0, 22, 0.1), 4)
    0.0994
    """
    if n == 0 or errors >= n:
        return 1.0
    return float(beta.ppf(1.0 - delta, errors + 1, n - errors))


def accept_counts(
    scores: FloatArray, errors: npt.NDArray[np.int64], candidates: FloatArray
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Per candidate ``t``: rows with ``score <= t`` and the errors among them (inputs trusted)."""
    order = np.argsort(scores, kind="stable")
    sorted_scores = scores[order]
    cum_errors = np.concatenate([[0], np.cumsum(errors[order])])
    n_acc = np.searchsorted(sorted_scores, candidates, side="right")
    return n_acc, cum_errors[n_acc]


def check_args(target_risk: float, delta: float, fwer_method: str) -> None:
    """Raise ``ValueError`` for a target or delta outside ``(0, 1)`` or an unknown FWER method."""
    if not 0.0 < target_risk < 1.0:
        raise ValueError(f"target_risk must lie in (0, 1), got {target_risk}")
    if not 0.0 < delta < 1.0:
        raise ValueError(f"delta must lie in (0, 1), got {delta}")
    if fwer_method not in FWER_METHODS:
        raise ValueError(f"unknown fwer_method {fwer_method!r}; choose one of {list(FWER_METHODS)}")


def resolve_min_accepted(min_accepted: int | None, target_risk: float, delta: float) -> int:
    """``min_accepted``, checked, or :func:`default_min_accepted` when ``None``."""
    if min_accepted is None:
        return default_min_accepted(target_risk, delta)
    if isinstance(min_accepted, bool) or not isinstance(min_accepted, int) or min_accepted < 1:
        raise ValueError(f"min_accepted must be a positive integer or None, got {min_accepted!r}")
    return min_accepted


def checked_inputs(
    scores: Any, errors: Any, candidates: Any, *, target_risk: float, delta: float, fwer_method: str
) -> tuple[FloatArray, IntArray, FloatArray]:
    """``(scores, errors, candidates)`` checked; the default candidates when ``candidates`` is ``None``.

    Raises:
        ValueError: see :func:`check_args`; scores or candidates not 1-D in ``[0, 1]``;
            errors not 0/1 or of another length (a single class is allowed here).
    """
    check_args(target_risk, delta, fwer_method)
    u = as_unit_scores(scores, "scores")
    e = as_indicators(errors, "errors", like=u, like_name="scores")
    grid = default_candidates(target_risk) if candidates is None else as_unit_scores(candidates, "candidates")
    return u, e, grid


def choose_threshold(
    scores: Any,
    errors: Any,
    *,
    target_risk: float,
    delta: float,
    candidates: Any = None,
    fwer_method: FwerMethod = "fixed_sequence",
    min_accepted: int | None = None,
) -> SelectiveThreshold:
    """The most permissive threshold certified to keep the accepted error rate ``<= target_risk``.

    Args:
        scores: ``(N,)`` uncertainties in ``[0, 1]`` of the calibration rows (ideally calibrated).
        errors: ``(N,)`` 0/1, 1 where the prediction was wrong.
        target_risk: bound on the error rate among accepted rows, in ``(0, 1)``.
        delta: allowed failure probability of the bound, in ``(0, 1)``.
        candidates: thresholds to test, in testing order for ``"fixed_sequence"``;
            default :func:`default_candidates`. Must not be chosen from ``errors``.
        fwer_method: ``"fixed_sequence"``, ``"bonferroni_holm"`` or ``"bonferroni"``.
        min_accepted: fixed sequence only: leading candidates accepting fewer
            calibration rows are skipped; default :func:`default_min_accepted`.

    Returns:
        :class:`SelectiveThreshold`. With probability ``>= 1 - delta`` over the
        calibration rows (exchangeable with future rows), the error rate among
        future accepted rows is ``<= target_risk``.

    Raises:
        ValueError: bad scores, errors, target, delta, method or candidates.
    """
    u, e, grid = checked_inputs(
        scores, errors, candidates, target_risk=target_risk, delta=delta, fwer_method=fwer_method
    )
    n_acc, k_err = accept_counts(u, e, grid)
    p_values = np.where(n_acc > 0, binom.cdf(k_err, np.maximum(n_acc, 1), target_risk), 1.0)
    valid = certified(
        p_values, n_acc, delta, fwer_method, resolve_min_accepted(min_accepted, target_risk, delta)
    )
    if valid.size == 0:
        return SelectiveThreshold(
            ABSTAIN_ALL, target_risk, delta, False, 0.0, 0.0, 1.0, u.size, 0, fwer_method
        )
    best = int(valid[np.lexsort((grid[valid], n_acc[valid]))[-1]])
    n, k = int(n_acc[best]), int(k_err[best])
    return SelectiveThreshold(
        threshold=float(grid[best]),
        target_risk=target_risk,
        delta=delta,
        controlled=True,
        coverage=n / u.size,
        empirical_risk=k / n,
        risk_bound=clopper_pearson_upper(k, n, delta),
        n_calibration=u.size,
        n_accepted=n,
        fwer_method=fwer_method,
    )


def abstain(scores: Any, threshold: float) -> npt.NDArray[np.bool_]:
    """``(N,)`` bool: ``True`` where the model should abstain (``u > threshold``).

    >>> abstain([0.05, 0.2, 0.5], 0.2).tolist()
    [False, False, True]
    """
    if isinstance(threshold, bool) or not isinstance(threshold, int | float) or math.isnan(threshold):
        raise TypeError(f"threshold must be a number, got {threshold!r}")
    return np.asarray(as_unit_scores(scores, "scores") > threshold)


def selective_risk(scores: Any, errors: Any, threshold: float) -> tuple[float, float]:
    """``(coverage, risk)`` of the rule ``accept iff u <= threshold`` on labelled rows (risk 0 if none accepted).

    >>> selective_risk([0.05, 0.2, 0.5], [0, 1, 1], 0.2)
    (0.6666666666666666, 0.5)
    """
    rejected = abstain(scores, threshold)
    e = as_indicators(errors, "errors", like=rejected, like_name="scores")
    accepted = ~rejected
    n = int(accepted.sum())
    return n / rejected.size, (float(e[accepted].mean()) if n else 0.0)
