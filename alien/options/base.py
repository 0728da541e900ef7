"""The value types options are made of, and one-line messages for options that fail them.

Options are frozen pydantic dataclasses (``@dataclass(frozen=True, config=OPTIONS)``):
unknown keywords are rejected, types are strict — an ``int`` field refuses ``True``
and ``2.5``, a ``bool`` refuses ``1`` — and ranges are declared on the fields.
One leniency, for ``params.yaml``: YAML 1.1 reads ``1e-4`` (no dot) as a string, so a
float field accepts a string that parses as a finite number, as it accepts an int
(:data:`NUMBER`). Lists become tuples.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Annotated, Any, TypeVar

from annotated_types import Ge, Gt, Lt
from pydantic import (
    AfterValidator,
    AllowInfNan,
    BeforeValidator,
    ConfigDict,
    GetCoreSchemaHandler,
    GetJsonSchemaHandler,
    Strict,
    ValidationError,
)
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema, core_schema

T = TypeVar("T")

OPTIONS = ConfigDict(extra="forbid")
"""The pydantic config of every options dataclass: an unknown keyword is an error."""


def _number(value: Any) -> Any:
    """An int or a numeric string as a float; anything else unchanged, for the float check to refuse."""
    if isinstance(value, bool):
        return value
    try:
        if isinstance(value, int | str):
            return float(value)
    except OverflowError:
        raise ValueError("is too large for a float") from None
    except ValueError:
        pass
    return value


def _not_blank(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be empty or blank")
    return value


NUMBER = BeforeValidator(_number)
"""Reads ints and numeric strings as floats. It goes last in a float's ``Annotated``:
range constraints written after it would be applied as a separate step that pydantic
cannot express in the JSON schema."""

Int = Annotated[int, Strict()]
Bool = Annotated[bool, Strict()]
Str = Annotated[str, Strict()]
Text = Annotated[Str, AfterValidator(_not_blank)]
"""A string with something in it (a path, a name)."""
PositiveInt = Annotated[Int, Ge(1)]

Float = Annotated[float, Strict(), AllowInfNan(False), NUMBER]
"""A finite number."""
Positive = Annotated[float, Strict(), AllowInfNan(False), Gt(0), NUMBER]
NonNegative = Annotated[float, Strict(), AllowInfNan(False), Ge(0), NUMBER]
Probability = Annotated[float, Strict(), AllowInfNan(False), Gt(0), Lt(1), NUMBER]
"""A number in the open interval (0, 1)."""
HalfOpenFraction = Annotated[float, Strict(), AllowInfNan(False), Ge(0), Lt(1), NUMBER]
"""A number in [0, 1)."""


@dataclass(frozen=True)
class OneOf:
    """Field metadata: the string must be one of ``names`` (a registry's keys, known at import time).

    ``Annotated[Str, OneOf(names)]`` where a ``Literal`` cannot be written because
    the names come from a tuple; the JSON schema lists them as an ``enum``.
    """

    names: tuple[str, ...]

    def check(self, value: str) -> str:
        if value not in self.names:
            raise ValueError(f"{value!r} is not one of {list(self.names)}")
        return value

    def __get_pydantic_core_schema__(self, source: Any, handler: GetCoreSchemaHandler) -> CoreSchema:
        return core_schema.no_info_after_validator_function(self.check, handler(source))

    def __get_pydantic_json_schema__(
        self, schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        return {"type": "string", "enum": list(self.names)}


def _key(where: str, loc: Iterable[int | str]) -> str:
    key = where
    for part in loc:
        key += f"[{part}]" if isinstance(part, int) else f".{part}"
    return key.lstrip(".")


def _input(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def describe(error: ValidationError, where: str, *, allowed: Iterable[str] = ()) -> str:
    """One line naming each bad key (``where.key``), what it should be and what it got.

    Args:
        error: what pydantic raised.
        where: the prefix of every key: a ``params.yaml`` section, or the options' owner.
        allowed: the known keys, listed when an unknown one was given.
    """
    parts = []
    for item in error.errors(include_url=False):
        key = _key(where, item["loc"])
        if item["type"] in ("unexpected_keyword_argument", "extra_forbidden"):
            parts.append(f"unknown key {key!r}; allowed: {sorted(allowed)}")
        elif item["type"] == "value_error":  # a check of ours: its own message says it all
            parts.append(f"{key}: {item['ctx']['error']}")
        else:
            message = item["msg"][:1].lower() + item["msg"][1:]
            parts.append(f"{key}: {message}, got {_input(item['input'])}")
    return "; ".join(parts)


def is_type_error(error: ValidationError) -> bool:
    """Every complaint is about a value's type, or an unknown keyword (what Python calls a TypeError)."""
    kinds = [item["type"] for item in error.errors(include_url=False)]
    return all(k.endswith("_type") or k == "unexpected_keyword_argument" for k in kinds)


def validated(
    factory: Callable[..., T], /, *args: Any, where: str, allowed: Iterable[str] = (), **values: Any
) -> T:
    """``factory(*args, **values)``, a :class:`~pydantic.ValidationError` turned into a one-line error.

    Raises:
        TypeError: a value of the wrong type or an unknown keyword (the message names it).
        ValueError: a value out of range or not among the choices (the message names it
            and what is allowed).
    """
    try:
        return factory(*args, **values)
    except ValidationError as error:
        kind = TypeError if is_type_error(error) else ValueError
        raise kind(describe(error, where, allowed=allowed)) from None
