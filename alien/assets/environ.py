"""Environment variables set (or protected) for one block, then put back exactly as they were."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterable, Iterator, Mapping


@contextlib.contextmanager
def scoped_environ(
    values: Mapping[str, str] | None = None, *, override: bool = True, restore: Iterable[str] = ()
) -> Iterator[None]:
    """Set ``values`` for the block (``override=False``: only those unset), then restore them.

    ``restore`` names further variables that code inside the block may change (MLflow's
    setters export URIs, for one); they are put back too.

    >>> with scoped_environ({"ALIEN_DOCTEST": "1"}):
    ...     os.environ["ALIEN_DOCTEST"]
    '1'
    >>> "ALIEN_DOCTEST" in os.environ
    False
    """
    values = dict(values or {})
    previous = {key: os.environ.get(key) for key in {*values, *restore}}
    for key, value in values.items():
        if override or previous[key] is None:
            os.environ[key] = value
    try:
        yield
    finally:
        for key, old in previous.items():
            if old is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = old
