"""All of ``params.yaml``: :class:`Params`, read by :func:`load_params`, described by :func:`params_schema`.

Each section is set in full in the file (no key falls back to a code default);
the code defaults equal the shipped file's values (a test checks) and serve
notebook users only. Its JSON schema: :mod:`alien.config.schema`.
"""

from __future__ import annotations

import typing
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml
from pydantic.dataclasses import dataclass

from alien.config.align import AlignConfig
from alien.config.backbone import BackboneConfig
from alien.config.base import ConfigError, section_from_mapping
from alien.config.calibration import CalibrationConfig
from alien.config.data import DataConfig
from alien.config.evaluate import EvaluateConfig
from alien.config.finetune import FinetuneConfig
from alien.config.gates import GatesConfig
from alien.config.monitor import MonitorConfig
from alien.config.paths import PathsConfig
from alien.config.registry import RegistryConfig
from alien.options.base import OPTIONS


@dataclass(frozen=True, config=OPTIONS)
class Params:
    """All of ``params.yaml``: one frozen dataclass per section."""

    paths: PathsConfig
    data: DataConfig
    backbone: BackboneConfig
    finetune: FinetuneConfig
    align: AlignConfig
    calibration: CalibrationConfig
    evaluate: EvaluateConfig
    gates: GatesConfig
    registry: RegistryConfig
    monitor: MonitorConfig


SECTIONS: dict[str, type] = typing.get_type_hints(Params)
"""Section name -> its dataclass, in ``params.yaml``'s order."""


def params_from_mapping(raw: Mapping[str, Any]) -> Params:
    """Build :class:`Params` from a parsed YAML mapping that sets every section and key.

    Nothing falls back to a code default: the file's values are the only ones used,
    so a deleted section is an error before any work starts, not a silent change.

    Raises:
        ConfigError: missing or unknown section or key, bad type, or out-of-range value.
    """
    if not isinstance(raw, Mapping):
        raise ConfigError(f"params must be a mapping of sections, got {type(raw).__name__}")
    unknown = sorted(str(name) for name in set(raw) - set(SECTIONS))
    if unknown:
        raise ConfigError(f"unknown params section(s) {unknown}; allowed: {sorted(SECTIONS)}")
    missing = sorted(set(SECTIONS) - set(raw))
    if missing:
        raise ConfigError(f"params section(s) {missing} missing; every section must be set in params.yaml")
    return Params(
        **{name: section_from_mapping(cls, raw[name], section=name) for name, cls in SECTIONS.items()}
    )


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
