"""The shared shape of every stage's ``main()`` and result.

``main()`` parses ``--params``, loads ``params.yaml`` into typed sections,
calls the stage's ``run``, prints the result as one line of JSON, and exits
with status 2 and a one-line message when the configuration or the data is
invalid (a traceback there would only bury the message).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, NoReturn, Protocol

from alien.config import ConfigError, Params, load_params


@dataclasses.dataclass(frozen=True)
class StageResult:
    """Base of every stage's result: a frozen dataclass with a JSON-able :meth:`to_dict`."""

    def to_dict(self) -> dict[str, Any]:
        """The result as plain JSON types (tuples → lists, paths → strings)."""
        return _jsonable(dataclasses.asdict(self))


class _HasToDict(Protocol):
    def to_dict(self) -> Mapping[str, Any]: ...


def stage_main(name: str, run: Callable[[Params], _HasToDict], argv: Sequence[str] | None = None) -> int:
    """Run a stage from the command line.

    Args:
        name: the stage's name (for ``--help`` and the summary).
        run: takes the loaded :class:`alien.config.Params`, calls the stage's
            ``run`` with its own sections, returns its result (anything with ``to_dict()``).
        argv: arguments (default ``sys.argv[1:]``).

    Returns:
        0 on success, 2 on invalid params or data (message on stderr).
    """
    parser = argparse.ArgumentParser(
        prog=f"python -m alien.stages.{name}", description=f"Run the {name} stage."
    )
    parser.add_argument("--params", default="params.yaml", help="path to params.yaml (default: %(default)s)")
    args = parser.parse_args(argv)
    try:
        params = load_params(args.params)
        result = run(params)
    except (ConfigError, ValueError, FileNotFoundError) as exc:
        kind = "invalid params" if isinstance(exc, ConfigError) else "error"
        print(f"{name}: {kind}: {exc}", file=sys.stderr)
        return 2
    print(json.dumps({"stage": name, **_jsonable(result.to_dict())}, sort_keys=True))
    return 0


def run_stage(
    run: Callable[[Params], _HasToDict], argv: Sequence[str] | None = None, *, name: str | None = None
) -> NoReturn:
    """:func:`stage_main`, then exit with its status; the name defaults to the ``-m`` module's last part."""
    if name is None:
        spec = getattr(sys.modules.get("__main__"), "__spec__", None)
        name = spec.name.rsplit(".", 1)[-1] if spec is not None else "stage"
    sys.exit(stage_main(name, run, argv))


def _jsonable(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, Path):
        return str(value)
    return value
