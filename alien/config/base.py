"""Turning a ``params.yaml`` section into a frozen dataclass.

Unknown keys are rejected with their name; each section's ``__post_init__``
checks its own ranges.
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
import types
import typing
from collections.abc import Mapping
from typing import Any, TypeVar

T = TypeVar("T")


class ConfigError(ValueError):
    """A ``params.yaml`` value is missing, unknown, mistyped or out of range."""


def from_mapping(cls: type[T], data: Mapping[str, Any] | None, *, section: str, complete: bool = False) -> T:
    """Build dataclass ``cls`` from ``data``, rejecting unknown keys.

    Args:
        cls: a (frozen) dataclass type.
        data: the section's mapping from ``params.yaml`` (``None`` means all defaults).
        section: the section's name, used in error messages.
        complete: every field must be given (``params.yaml`` is the one source of values;
            a key left out must not silently fall back to a code default).

    Returns:
        The dataclass instance.

    Raises:
        ConfigError: unknown key, missing required key, wrong type, or a range
            check of ``__post_init__`` failed.
    """
    if data is None:
        data = {}
    if not isinstance(data, Mapping):
        raise ConfigError(f"params section {section!r} must be a mapping, got {type(data).__name__}")
    fields = {f.name: f for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    unknown = sorted(set(data) - set(fields))
    if unknown:
        raise ConfigError(
            f"unknown key(s) {unknown} in params section {section!r}; allowed: {sorted(fields)}"
        )
    missing = sorted(set(fields) - set(data))
    if complete and missing:
        raise ConfigError(
            f"params section {section!r} is missing key(s) {missing}; every key must be set in params.yaml"
        )
    hints = typing.get_type_hints(cls)
    kwargs = {}
    for name, value in data.items():
        kwargs[name] = _coerce(value, hints[name], f"{section}.{name}")
    try:
        return cls(**kwargs)
    except TypeError as exc:  # missing required fields
        raise ConfigError(f"params section {section!r}: {exc}") from exc
    except ConfigError:
        raise
    except ValueError as exc:
        raise ConfigError(f"params section {section!r}: {exc}") from exc


def _coerce(value: Any, hint: Any, key: str) -> Any:
    """Check ``value`` against a simple type hint; ints are accepted for floats, lists become tuples."""
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        errors = []
        for option in args:
            try:
                return _coerce(value, option, key)
            except ConfigError as exc:
                errors.append(str(exc))
        raise ConfigError(f"{key}: {value!r} matches none of {hint}")
    if hint is type(None):
        if value is not None:
            raise ConfigError(f"{key}: expected null, got {value!r}")
        return None
    if origin is typing.Literal:
        if value not in args:
            raise ConfigError(f"{key}: {value!r} is not one of {list(args)}")
        return value
    if origin is tuple:
        if not isinstance(value, list | tuple):
            raise ConfigError(f"{key}: expected a list, got {value!r}")
        item = args[0] if args else Any
        return tuple(_coerce(v, item, f"{key}[{i}]") for i, v in enumerate(value))
    if hint is Any:
        return value
    if hint is float:
        number: float | None = None
        if isinstance(value, int | float | str) and not isinstance(value, bool):
            with contextlib.suppress(ValueError, OverflowError):  # YAML reads "1e-4" as a string
                number = float(value)
        if number is None or not math.isfinite(number):  # .inf / nan would pass most range checks
            raise ConfigError(f"{key}: expected a finite number, got {value!r}")
        return number
    if hint is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{key}: expected an integer, got {value!r}")
        return value
    if hint is bool:
        if not isinstance(value, bool):
            raise ConfigError(f"{key}: expected true/false, got {value!r}")
        return value
    if hint is str:
        if not isinstance(value, str):
            raise ConfigError(f"{key}: expected a string, got {value!r}")
        return value
    if dataclasses.is_dataclass(hint) and isinstance(hint, type):
        return from_mapping(hint, value, section=key)
    return value


def check(condition: bool, message: str) -> None:
    """Raise :class:`ConfigError` with ``message`` unless ``condition`` holds."""
    if not condition:
        raise ConfigError(message)
