"""Uncertainty baselines ALIEN is compared with, behind one interface.

>>> sorted(BASELINES)[:3]
['doctor', 'entropy', 'linear_probe']
"""

from __future__ import annotations

from alien.baselines.base import UncertaintyBaseline
from alien.baselines.doctor import Doctor
from alien.baselines.entropy import PredictiveEntropy
from alien.baselines.linear_probe import LinearProbe
from alien.baselines.mahalanobis import Mahalanobis, RelativeMahalanobis
from alien.baselines.rde import RobustDensity
from alien.baselines.softmax_response import SoftmaxResponse
from alien.baselines.temperature_scaling import TemperatureScaling
from alien.options.names import BASELINE_NAMES, registry

# Keyed by BASELINE_NAMES (what params.yaml's evaluate.baselines may name), in its order.
BASELINES: dict[str, type[UncertaintyBaseline]] = registry(
    BASELINE_NAMES,
    (
        SoftmaxResponse,
        PredictiveEntropy,
        TemperatureScaling,
        Mahalanobis,
        RelativeMahalanobis,
        LinearProbe,
        Doctor,
        RobustDensity,
    ),
)


def make_baseline(name: str) -> UncertaintyBaseline:
    """A new, unfitted baseline with default options.

    Raises:
        ValueError: unknown name; the message lists the choices.

    >>> make_baseline("softmax_response").is_probability
    True
    """
    try:
        cls = BASELINES[name]
    except KeyError:
        raise ValueError(f"unknown baseline {name!r}; choose one of {sorted(BASELINES)}") from None
    return cls()


__all__ = [
    "BASELINES",
    "Doctor",
    "LinearProbe",
    "Mahalanobis",
    "PredictiveEntropy",
    "RelativeMahalanobis",
    "RobustDensity",
    "SoftmaxResponse",
    "TemperatureScaling",
    "UncertaintyBaseline",
    "make_baseline",
]
