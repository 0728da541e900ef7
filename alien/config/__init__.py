"""Typed configuration from ``params.yaml``."""

from alien.config.base import ConfigError
from alien.config.params import Params, load_params, params_from_mapping
from alien.config.sections import (
    AlignConfig,
    BackboneConfig,
    CalibrationConfig,
    DataConfig,
    EvaluateConfig,
    FinetuneConfig,
    GatesConfig,
    PathsConfig,
    RegistryConfig,
)

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
