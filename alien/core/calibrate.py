"""Turn a trained head's raw u into what is served: g(u) ~= P(error) and a guaranteed abstention rule.

Both are fitted on one held-out split the head was not trained on (never test):
the monotone map first, then the threshold on the *calibrated* scores of the
same rows, chosen by Learn-then-Test (:func:`alien.selective.choose_threshold`).
The threshold's guarantee does not depend on the map: a monotone g turns a
threshold on g(u) into one on u, and the test is run on the rows as they are.
"""

from __future__ import annotations

import math

import numpy as np

from alien.calibration import Calibrator, make_calibrator
from alien.core.abstention import AbstentionRule
from alien.selective import choose_threshold


def fit_calibration(
    raw_u: np.ndarray,
    errors: np.ndarray,
    *,
    method: str,
    target_risk: float,
    delta: float,
    split: str,
) -> tuple[Calibrator | None, AbstentionRule]:
    """Fit the calibration map (``method="none"``: none) and the abstention rule on held-out rows.

    Args:
        raw_u: ``(N,)`` the head's uncertainties on the held-out split.
        errors: ``(N,)`` 0/1, 1 where the backbone's prediction was wrong.
        method: a name of :data:`alien.calibration.CALIBRATORS`, or ``"none"``.
        target_risk: error rate among accepted rows to control, in ``(0, 1)``.
        delta: allowed probability that the guarantee fails, in ``(0, 1)``.
        split: the split's name, recorded with the rule.

    Raises:
        ValueError: an unknown method (the message lists them), or rows without both
            errors and correct predictions.
    """
    calibrator = None if method == "none" else make_calibrator(method).fit(raw_u, errors)
    served = raw_u if calibrator is None else np.asarray(calibrator(raw_u), dtype=np.float64)
    chosen = choose_threshold(served, errors, target_risk=target_risk, delta=delta)
    rule = AbstentionRule(
        threshold=chosen.threshold if chosen.controlled else -math.inf,
        target_risk=target_risk,
        delta=delta,
        calibration_rows=chosen.n_calibration,
        calibration_coverage=chosen.coverage,
        split=split,
    )
    return calibrator, rule
