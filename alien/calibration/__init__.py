"""Monotone calibration maps ``g(u) ~= P(error)`` of an uncertainty ``u``, fitted on held-out rows.

>>> sorted(CALIBRATORS)
['beta', 'centred_isotonic', 'isotonic', 'platt']
>>> g = make_calibrator("platt").fit([0.1, 0.2, 0.3, 0.7, 0.8, 0.9], [0, 0, 1, 0, 1, 1])
>>> bool((calibrator_from_dict(g.to_dict())([0.5]) == g([0.5])).all())
True
"""

from __future__ import annotations

from typing import Any

from alien.calibration.base import Calibrator
from alien.calibration.beta import BetaCalibrator
from alien.calibration.centred_isotonic import CentredIsotonicCalibrator
from alien.calibration.isotonic import IsotonicCalibrator
from alien.calibration.platt import PlattCalibrator
from alien.options.names import CALIBRATOR_NAMES, registry

# Keyed by CALIBRATOR_NAMES (what params.yaml's calibration.method may name, besides "none").
CALIBRATORS: dict[str, type[Calibrator]] = registry(
    CALIBRATOR_NAMES, (PlattCalibrator, IsotonicCalibrator, CentredIsotonicCalibrator, BetaCalibrator)
)


def make_calibrator(name: str) -> Calibrator:
    """A new, unfitted calibrator.

    Raises:
        ValueError: unknown name; the message lists the choices.
    """
    try:
        cls = CALIBRATORS[name]
    except KeyError:
        raise ValueError(f"unknown calibrator {name!r}; choose one of {sorted(CALIBRATORS)}") from None
    return cls()


def calibrator_from_dict(data: dict[str, Any]) -> Calibrator:
    """Rebuild a fitted calibrator from :meth:`Calibrator.to_dict` output (plain JSON).

    Raises:
        ValueError: not a dict, unknown ``name`` (the message lists the choices) or bad params.
    """
    if not isinstance(data, dict) or "name" not in data:
        raise ValueError(f"expected a dict with a 'name' key, got {data!r}")
    name = data["name"]
    if name not in CALIBRATORS:
        raise ValueError(f"unknown calibrator {name!r}; choose one of {sorted(CALIBRATORS)}")
    return CALIBRATORS[name].from_dict(data)


__all__ = [
    "CALIBRATORS",
    "BetaCalibrator",
    "Calibrator",
    "CentredIsotonicCalibrator",
    "IsotonicCalibrator",
    "PlattCalibrator",
    "calibrator_from_dict",
    "make_calibrator",
]
