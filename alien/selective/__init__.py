"""Selective prediction: abstain where ``u`` exceeds a threshold certified on a calibration split.

:func:`choose_threshold` bounds the error rate of the population of future
accepted rows (the served threshold); :func:`choose_batch_threshold` bounds the
realised error rate of one known, still unlabelled batch.
"""

from __future__ import annotations

from alien.selective.batch import batch_p_values, choose_batch_threshold
from alien.selective.risk_control import (
    ABSTAIN_ALL,
    FWER_METHODS,
    SelectiveThreshold,
    abstain,
    choose_threshold,
    clopper_pearson_upper,
    default_candidates,
    default_min_accepted,
    min_certifiable,
    selective_risk,
)

__all__ = [
    "ABSTAIN_ALL",
    "FWER_METHODS",
    "SelectiveThreshold",
    "abstain",
    "batch_p_values",
    "choose_batch_threshold",
    "choose_threshold",
    "clopper_pearson_upper",
    "default_candidates",
    "default_min_accepted",
    "min_certifiable",
    "selective_risk",
]
