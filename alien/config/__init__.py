"""Typed configuration from ``params.yaml``: one frozen, checked dataclass per section.

The ``align`` and ``finetune`` sections extend the library's own options
(:mod:`alien.options`), so their defaults and checks live once. Imports no torch.

Each name is imported lazily, on first use (PEP 562): ``from alien.config import
GatesConfig`` runs :mod:`alien.config.base` and :mod:`alien.config.gates` only, so a
stage's code dependencies (:mod:`alien.pipeline.dvc_yaml`, which reads
:data:`_LAZY`) hold only the sections it reads and editing one section's module
invalidates only the stages that read it.
"""

from __future__ import annotations

import importlib
from typing import Any

# name -> the module defining it; a literal: the code-deps generator reads it from the syntax tree
_LAZY: dict[str, str] = {
    "AlignConfig": "alien.config.align",
    "BackboneConfig": "alien.config.backbone",
    "CalibrationConfig": "alien.config.calibration",
    "ConfigError": "alien.config.base",
    "DataConfig": "alien.config.data",
    "EvaluateConfig": "alien.config.evaluate",
    "FinetuneConfig": "alien.config.finetune",
    "GatesConfig": "alien.config.gates",
    "MonitorConfig": "alien.config.monitor",
    "Params": "alien.config.params",
    "PathsConfig": "alien.config.paths",
    "RegistryConfig": "alien.config.registry",
    "load_params": "alien.config.params",
    "params_from_mapping": "alien.config.params",
}

__all__ = [
    "AlignConfig",
    "BackboneConfig",
    "CalibrationConfig",
    "ConfigError",
    "DataConfig",
    "EvaluateConfig",
    "FinetuneConfig",
    "GatesConfig",
    "MonitorConfig",
    "Params",
    "PathsConfig",
    "RegistryConfig",
    "load_params",
    "params_from_mapping",
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY})
