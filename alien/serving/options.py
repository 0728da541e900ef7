"""How a :class:`~alien.serving.batcher.MicroBatcher` forms batches: size, wait and queue bound.

>>> BatchingOptions(max_batch=16, max_wait_ms=2)
BatchingOptions(max_batch=16, max_wait_ms=2.0, max_queue=1024)
>>> BatchingOptions.from_mapping({"max_batch": 8}).max_batch
8
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

MAX_WAIT_LIMIT_MS = 1000.0
"""The longest allowed ``max_wait_ms``: micro-batching waits milliseconds, never seconds."""


def _check_count(name: str, value: Any) -> int:
    """``value`` as an ``int >= 1``; ``bool`` and non-integers are refused."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int, got {value!r} ({type(value).__name__})")
    if value < 1:
        raise ValueError(f"{name} must be >= 1, got {value}")
    return value


def _check_wait(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"max_wait_ms must be a number, got {value!r} ({type(value).__name__})")
    if not math.isfinite(value) or not 0 <= value <= MAX_WAIT_LIMIT_MS:
        raise ValueError(f"max_wait_ms must lie in [0, {MAX_WAIT_LIMIT_MS:g}], got {value}")
    return float(value)


@dataclass(frozen=True)
class BatchingOptions:
    """Options of micro-batched serving.

    Attributes:
        max_batch: most items (texts) in one call of the batch function; a request with more
            items is served in chunks of this size and stays one request.
        max_wait_ms: most milliseconds the batcher waits, after the oldest pending request
            arrived, for others to join its batch (``0``: never wait). See the latency
            contract in :mod:`alien.serving.batcher`.
        max_queue: most requests waiting for the worker; one more is refused with
            :class:`~alien.serving.batcher.QueueFullError` instead of blocking.

    Raises:
        TypeError: a count that is not an ``int`` (``bool`` included) or a wait that is not a number.
        ValueError: a count below 1, or a wait outside ``[0, 1000]`` ms (NaN and infinity included).
    """

    max_batch: int = 32
    max_wait_ms: float = 5.0
    max_queue: int = 1024

    def __post_init__(self) -> None:
        _check_count("max_batch", self.max_batch)
        _check_count("max_queue", self.max_queue)
        # frozen, so the int -> float normalisation goes through object.__setattr__
        object.__setattr__(self, "max_wait_ms", _check_wait(self.max_wait_ms))

    @property
    def max_wait_s(self) -> float:
        """``max_wait_ms`` in seconds."""
        return self.max_wait_ms / 1000.0

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any]) -> BatchingOptions:
        """Options from a plain mapping (a config section, an MLflow ``model_config``).

        Raises:
            ValueError: an unknown key (named, with the known ones) or see the class.
        """
        known = [f.name for f in fields(cls)]
        unknown = sorted(set(values) - set(known))
        if unknown:
            raise ValueError(f"unknown batching option(s) {unknown}; known: {known}")
        return cls(**dict(values))
