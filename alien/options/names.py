"""The names the library's registries answer to, readable without importing what they name.

``params.yaml`` chooses baselines and a calibration map by name; its checks need
the names but must not import torch or scikit-learn to get them. The registries
:data:`alien.baselines.BASELINES` and :data:`alien.calibration.CALIBRATORS` are
built by :func:`registry` from these names and their classes, which fails at
import if the two ever disagree.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import ClassVar, Protocol, TypeVar

BASELINE_NAMES: tuple[str, ...] = (
    "softmax_response",
    "entropy",
    "temperature_scaling",
    "mahalanobis",
    "relative_mahalanobis",
    "linear_probe",
    "doctor",
    "rde",
)
"""Every uncertainty baseline, in the order evaluate reports them."""

CALIBRATOR_NAMES: tuple[str, ...] = ("platt", "isotonic", "centred_isotonic", "beta")
"""Every monotone calibration map ``g(u) ~= P(error)``."""

NO_CALIBRATION = "none"
"""``calibration.method`` that serves the head's raw ``u``."""
AUTO_CALIBRATION = "auto"
"""``calibration.method`` that chooses among the maps and none per model, by cross-validation."""


class Named(Protocol):
    name: ClassVar[str]


N = TypeVar("N", bound=Named)


def registry(names: Sequence[str], classes: Iterable[type[N]]) -> dict[str, type[N]]:
    """``{cls.name: cls}`` in the order of ``names``.

    Raises:
        RuntimeError: the classes' names are not exactly ``names`` (a class left out of
            the list, or a listed name without its class).
    """
    table = {cls.name: cls for cls in classes}
    if sorted(table) != sorted(names):
        raise RuntimeError(f"registry classes are named {sorted(table)}, but the names list {sorted(names)}")
    return {name: table[name] for name in names}
