"""Coverage at a target risk, for every method under one procedure.

For each method and each target risk, the abstention threshold is chosen on
the validation rows with the Learn-then-Test guarantee
(:func:`alien.selective.choose_threshold`), then applied to the test rows:
the table reports the coverage reached on test and the realised error rate
among the accepted test rows. Methods whose score is not a probability are
min-max scaled on validation first (a monotone change; the thresholds are
then on that scale).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from alien.selective import choose_threshold, selective_risk


def _unit(u: np.ndarray, low: float, high: float) -> np.ndarray:
    return np.clip((u - low) / (high - low), 0.0, 1.0) if high > low else np.zeros_like(u)


def coverage_at_risk(
    validation: Mapping[str, np.ndarray],
    validation_errors: np.ndarray,
    test: Mapping[str, np.ndarray],
    test_errors: np.ndarray,
    *,
    is_probability: Mapping[str, bool],
    target_risks: Sequence[float],
    delta: float,
) -> dict[str, dict[str, dict[str, Any]]]:
    """``{method: {str(target): {threshold, controlled, coverage, risk}}}`` on test.

    Raises:
        ValueError: a method scored on test but not on validation.
    """
    missing = sorted(set(test) - set(validation))
    if missing:
        raise ValueError(f"methods {missing} have test scores but no validation scores")
    table: dict[str, dict[str, dict[str, Any]]] = {}
    for name, u_test in test.items():
        u_val = np.asarray(validation[name], dtype=np.float64)
        u_test = np.asarray(u_test, dtype=np.float64)
        if not is_probability[name]:
            low, high = float(u_val.min()), float(u_val.max())
            u_val, u_test = _unit(u_val, low, high), _unit(u_test, low, high)
        rows = {}
        for target in target_risks:
            chosen = choose_threshold(u_val, validation_errors, target_risk=target, delta=delta)
            coverage, risk = selective_risk(u_test, test_errors, chosen.threshold)
            rows[f"{target:g}"] = {
                "threshold": chosen.threshold,
                "controlled": chosen.controlled,
                "coverage": coverage,
                "risk": risk,
            }
        table[name] = rows
    return table
