"""Typed configuration from ``params.yaml``: one frozen, checked dataclass per section.

The ``align`` and ``finetune`` sections extend the library's own options
(:mod:`alien.options`), so their defaults and checks live once. Imports no torch.
"""

from alien.config.align import AlignConfig
from alien.config.backbone import BackboneConfig
from alien.config.base import ConfigError
from alien.config.calibration import CalibrationConfig
from alien.config.data import DataConfig
from alien.config.evaluate import EvaluateConfig
from alien.config.finetune import FinetuneConfig
from alien.config.gates import GatesConfig
from alien.config.params import Params, load_params, params_from_mapping
from alien.config.paths import PathsConfig
from alien.config.registry import RegistryConfig

__all__ = [
    "AlignConfig",
    "BackboneConfig",
    "CalibrationConfig",
    "ConfigError",
    "DataConfig",
    "EvaluateConfig",
    "FinetuneConfig",
    "GatesConfig",
    "Params",
    "PathsConfig",
    "RegistryConfig",
    "load_params",
    "params_from_mapping",
]
