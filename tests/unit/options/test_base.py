"""The shared value types and the one-line errors every options class and params section gets."""

from __future__ import annotations

from typing import Annotated, ClassVar

import pytest
from pydantic import TypeAdapter
from pydantic.dataclasses import dataclass

from alien.options.base import OPTIONS, Bool, Float, Int, OneOf, Probability, Str, Text, validated
from alien.options.names import registry


@dataclass(frozen=True, config=OPTIONS)
class Example:
    rate: Probability = 0.5
    count: Int = 1
    flag: Bool = False
    name: Text = "x"
    scale: Float = 1.0
    kind: Annotated[Str, OneOf(("a", "b"))] = "a"


@pytest.mark.parametrize(
    ("values", "expected"),
    [({"rate": "1e-4"}, 1e-4), ({"rate": 0.25}, 0.25), ({"scale": 3}, 3.0), ({"scale": " -2.5 "}, -2.5)],
)
def test_floats_take_ints_and_numeric_strings(values, expected):
    (key,) = values
    assert getattr(Example(**values), key) == expected


@pytest.mark.parametrize(
    ("values", "error", "message"),
    [
        ({"rate": 1.0}, ValueError, "Example.rate: input should be less than 1, got 1.0"),
        ({"rate": True}, TypeError, "Example.rate: input should be a valid number, got True"),
        ({"scale": "nan"}, ValueError, "Example.scale: input should be a finite number, got nan"),
        ({"scale": 10**400}, ValueError, "Example.scale: is too large for a float"),
        ({"count": 2.0}, TypeError, "Example.count: input should be a valid integer, got 2.0"),
        ({"count": "2"}, TypeError, "Example.count: input should be a valid integer, got '2'"),
        ({"flag": 1}, TypeError, "Example.flag: input should be a valid boolean, got 1"),
        ({"name": "  "}, ValueError, "Example.name: must not be empty or blank"),
        ({"kind": "c"}, ValueError, "Example.kind: 'c' is not one of ['a', 'b']"),
        ({"colour": "red"}, TypeError, "unknown key 'Example.colour'; allowed: ['count', 'flag'"),
        (
            {"rate": 2, "count": 0.5},
            ValueError,
            "Example.rate: input should be less than 1, got 2.0; Example.count",
        ),
    ],
)
def test_validated_raises_one_line_naming_the_key_value_and_choices(values, error, message):
    with pytest.raises(error) as caught:
        validated(
            Example, where="Example", allowed=["count", "flag", "kind", "name", "rate", "scale"], **values
        )
    assert type(caught.value) is error and str(caught.value).startswith(message), str(caught.value)
    assert "\n" not in str(caught.value)


def test_the_json_schema_keeps_ranges_and_choices():
    props = TypeAdapter(Example).json_schema()["properties"]
    assert (props["rate"]["exclusiveMinimum"], props["rate"]["exclusiveMaximum"]) == (0, 1)
    assert props["kind"]["enum"] == ["a", "b"]


def test_a_registry_must_match_its_names_list():
    class A:
        name: ClassVar[str] = "a"

    class B:
        name: ClassVar[str] = "b"

    assert list(registry(("b", "a"), (A, B))) == ["b", "a"]
    with pytest.raises(RuntimeError, match=r"named \['a', 'b'\], but the names list \['a'\]"):
        registry(("a",), (A, B))
