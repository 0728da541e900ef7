"""BatchingOptions: defaults, ranges and types checked, unknown keys refused by name."""

from __future__ import annotations

import dataclasses
import math

import pytest

from alien.serving.options import MAX_WAIT_LIMIT_MS, BatchingOptions


def test_defaults_and_the_wait_in_seconds():
    options = BatchingOptions()
    assert (options.max_batch, options.max_wait_ms, options.max_queue) == (32, 5.0, 1024)
    assert options.max_wait_s == pytest.approx(0.005)


def test_an_int_wait_becomes_a_float_and_the_options_are_frozen():
    options = BatchingOptions(max_wait_ms=0)
    assert isinstance(options.max_wait_ms, float) and options.max_wait_ms == 0.0
    with pytest.raises(dataclasses.FrozenInstanceError):
        options.max_batch = 4


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"max_batch": 0}, "max_batch must be >= 1, got 0"),
        ({"max_batch": -3}, "max_batch must be >= 1, got -3"),
        ({"max_queue": 0}, "max_queue must be >= 1, got 0"),
        ({"max_wait_ms": -0.5}, "got -0.5"),
        ({"max_wait_ms": MAX_WAIT_LIMIT_MS + 1}, "got 1001"),
        ({"max_wait_ms": math.nan}, "got nan"),
        ({"max_wait_ms": math.inf}, "got inf"),
    ],
)
def test_out_of_range_values_are_named(kwargs, message):
    with pytest.raises(ValueError, match=message):
        BatchingOptions(**kwargs)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"max_batch": True},
        {"max_batch": 2.0},
        {"max_queue": "8"},
        {"max_wait_ms": "5"},
        {"max_wait_ms": False},
    ],
)
def test_wrong_types_are_refused(kwargs):
    ((name, value),) = kwargs.items()
    with pytest.raises(TypeError, match=f"{name} must be .*{value!r}"):
        BatchingOptions(**kwargs)


def test_the_bounds_themselves_are_allowed():
    options = BatchingOptions(max_batch=1, max_wait_ms=MAX_WAIT_LIMIT_MS, max_queue=1)
    assert options.max_wait_ms == MAX_WAIT_LIMIT_MS


def test_from_mapping_reads_known_keys_and_names_an_unknown_one():
    assert BatchingOptions.from_mapping({"max_batch": 8, "max_wait_ms": 2}) == BatchingOptions(8, 2.0)
    with pytest.raises(ValueError, match=r"unknown batching option\(s\) \['max_wait'\]"):
        BatchingOptions.from_mapping({"max_wait": 2})
    with pytest.raises(ValueError, match="max_queue must be >= 1"):
        BatchingOptions.from_mapping({"max_queue": 0})
