"""The names params.yaml chooses by are the registries' own keys."""

from __future__ import annotations

from alien.baselines import BASELINES
from alien.calibration import CALIBRATORS
from alien.options.names import BASELINE_NAMES, CALIBRATOR_NAMES


def test_the_registries_are_keyed_by_the_names_lists():
    assert tuple(BASELINES) == BASELINE_NAMES
    assert tuple(CALIBRATORS) == CALIBRATOR_NAMES
    assert all(cls.name == name for name, cls in {**BASELINES, **CALIBRATORS}.items())
