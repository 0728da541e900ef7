"""Loading ``params.yaml`` into typed sections."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from alien.config.base import ConfigError, from_mapping
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


@dataclass(frozen=True)
class Params:
    """All of ``params.yaml``."""

    paths: PathsConfig
    data: DataConfig
    backbone: BackboneConfig
    finetune: FinetuneConfig
    align: AlignConfig
    calibration: CalibrationConfig
    evaluate: EvaluateConfig
    gates: GatesConfig
    registry: RegistryConfig


_TYPES = {
    "paths": PathsConfig,
    "data": DataConfig,
    "backbone": BackboneConfig,
    "finetune": FinetuneConfig,
    "align": AlignConfig,
    "calibration": CalibrationConfig,
    "evaluate": EvaluateConfig,
    "gates": GatesConfig,
    "registry": RegistryConfig,
}


def params_from_mapping(raw: Mapping[str, Any]) -> Params:
    """Build :class:`Params` from a parsed YAML mapping that sets every section and key.

    Nothing falls back to a code default: the file's values are the only ones used,
    so a deleted section is an error before any work starts, not a silent change.

    Raises:
        ConfigError: missing or unknown section or key, bad type, or out-of-range value.
    """
    if not isinstance(raw, Mapping):
        raise ConfigError(f"params must be a mapping of sections, got {type(raw).__name__}")
    unknown = sorted(set(raw) - set(_TYPES))
    if unknown:
        raise ConfigError(f"unknown params section(s) {unknown}; allowed: {sorted(_TYPES)}")
    missing = sorted(set(_TYPES) - set(raw))
    if missing:
        raise ConfigError(f"params section(s) {missing} missing; every section must be set in params.yaml")
    sections: dict[str, Any] = {
        name: from_mapping(cls, raw[name], section=name, complete=True) for name, cls in _TYPES.items()
    }
    return Params(**sections)


def load_params(path: str | Path = "params.yaml") -> Params:
    """Read and validate ``params.yaml``.

    Raises:
        FileNotFoundError: the file does not exist.
        ConfigError: the content is invalid (the message names the key).
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"params file not found: {path}")
    try:
        raw = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path} is not valid YAML: {exc}") from exc
    return params_from_mapping(raw)
