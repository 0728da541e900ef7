"""Turning one ``params.yaml`` section into its frozen, checked dataclass.

Every section is a pydantic dataclass (the value types and the one-line error
messages come from :mod:`alien.options.base`); :func:`section_from_mapping` adds
what only a file needs: the section must be a mapping, every key must be set
(``params.yaml`` is where the values live; a key left out must not silently fall
back to a code default) and any failure is a :class:`ConfigError` naming
``section.key``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any, TypeVar

from pydantic import ValidationError

from alien.options.base import describe

T = TypeVar("T")


class ConfigError(ValueError):
    """A ``params.yaml`` value is missing, unknown, mistyped or out of range."""


def section_from_mapping(cls: type[T], data: Any, *, section: str) -> T:
    """Build section ``cls`` from ``data``, which must set each of its keys and no other.

    Args:
        cls: the section's pydantic dataclass.
        data: the section's mapping from ``params.yaml``.
        section: the section's name, used in error messages.

    Raises:
        ConfigError: not a mapping, an unknown or missing key, a wrong type or an
            out-of-range value (one line naming ``section.key`` and what is allowed).
    """
    if not isinstance(data, Mapping):
        raise ConfigError(f"params section {section!r} must be a mapping, got {type(data).__name__}")
    fields = [f.name for f in dataclasses.fields(cls)]  # type: ignore[arg-type]
    unknown = sorted(str(key) for key in set(data) - set(fields))
    if unknown:
        raise ConfigError(
            f"unknown key(s) {unknown} in params section {section!r}; allowed: {sorted(fields)}"
        )
    missing = sorted(set(fields) - set(data))
    if missing:
        raise ConfigError(
            f"params section {section!r} is missing key(s) {missing}; every key must be set in params.yaml"
        )
    try:
        return cls(**data)
    except ValidationError as error:
        raise ConfigError(describe(error, section, allowed=fields)) from None
