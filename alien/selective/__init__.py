"""Selective prediction: abstain where ``u`` exceeds a threshold certified on a calibration split."""

from __future__ import annotations

from alien.selective.risk_control import (
    ABSTAIN_ALL,
    FWER_METHODS,
    SelectiveThreshold,
    abstain,
    choose_threshold,
    clopper_pearson_upper,
    default_candidates,
    selective_risk,
)

__all__ = [
    "ABSTAIN_ALL",
    "FWER_METHODS",
    "SelectiveThreshold",
    "abstain",
    "choose_threshold",
    "clopper_pearson_upper",
    "default_candidates",
    "selective_risk",
]
