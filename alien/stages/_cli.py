"""What every stage shares: the :class:`StageResult` base, how ``run`` gets its sections, and one ``main``.

A stage module defines ``run(<its sections>, paths)`` whose parameter names
are ``params.yaml`` section names (``data``, ``gates``, …; the stage table in
:mod:`alien.stages.pipeline` checks them against ``dvc.yaml``), optionally a
keyword ``params_file`` (the file itself, e.g. to log it), and binds the one
command-line entry point::

    main = stage_cli(__name__)

``python -m alien.stages.<name> --params FILE`` then loads the params, calls
``run`` with its sections, prints the result as one line of JSON and exits 0;
invalid params or data print one line on stderr and exit 2 (a traceback there
would only bury the message). A module may map further exception types to
exit statuses in ``EXIT_CODES`` (``register``: registry unavailable → 3).
"""

from __future__ import annotations

import argparse
import dataclasses
import inspect
import json
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from types import ModuleType
from typing import Any, Protocol

from alien.config import ConfigError, Params, load_params

PARAMS_FILE_ARG = "params_file"


@dataclasses.dataclass(frozen=True)
class StageResult:
    """Base of every stage's result: a frozen dataclass with a JSON-able :meth:`to_dict`."""

    def to_dict(self) -> dict[str, Any]:
        """The result as plain JSON types (tuples → lists, paths → strings)."""
        return jsonable(dataclasses.asdict(self))


class HasToDict(Protocol):
    def to_dict(self) -> Mapping[str, Any]: ...


class StageMain(Protocol):
    def __call__(self, argv: Sequence[str] | None = None) -> int: ...


def stage_sections(run: Callable[..., Any]) -> tuple[str, ...]:
    """The params sections ``run`` takes: its positional parameters, by name."""
    kinds = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    return tuple(p.name for p in inspect.signature(run).parameters.values() if p.kind in kinds)


def call_run(
    run: Callable[..., HasToDict], params: Params, *, params_file: str | Path = "params.yaml"
) -> HasToDict:
    """Call a stage's ``run`` with the sections it names (and ``params_file`` if it takes one).

    Raises:
        TypeError: ``run`` names a parameter that is not a params section.
    """
    sections = {f.name for f in dataclasses.fields(params)}
    kwargs: dict[str, Any] = {}
    for name in stage_sections(run):
        if name not in sections:
            raise TypeError(
                f"{run.__module__}.run takes {name!r}, which is not a params section {sorted(sections)}"
            )
        kwargs[name] = getattr(params, name)
    if PARAMS_FILE_ARG in inspect.signature(run).parameters:
        kwargs[PARAMS_FILE_ARG] = str(params_file)
    return run(**kwargs)


def stage_main(module: ModuleType, argv: Sequence[str] | None = None) -> int:
    """Run a stage module's ``run`` from the command line; returns the exit status.

    Args:
        module: the stage module (its ``run`` and optional ``EXIT_CODES``).
        argv: arguments (default ``sys.argv[1:]``).

    Returns:
        0 on success, 2 on invalid params or data, or the status ``EXIT_CODES`` maps the error to.
    """
    name = _stage_name(module)
    parser = argparse.ArgumentParser(
        prog=f"python -m alien.stages.{name}", description=f"Run the {name} stage."
    )
    parser.add_argument("--params", default="params.yaml", help="path to params.yaml (default: %(default)s)")
    args = parser.parse_args(argv)
    codes: Mapping[type[BaseException], tuple[int, str]] = getattr(module, "EXIT_CODES", {})
    try:
        result = call_run(module.run, load_params(args.params), params_file=args.params)
    except tuple(codes) as exc:
        status, label = next(v for k, v in codes.items() if isinstance(exc, k))
        print(f"{name}: {label}: {exc}", file=sys.stderr)
        return status
    except (ConfigError, ValueError, FileNotFoundError) as exc:
        kind = "invalid params" if isinstance(exc, ConfigError) else "error"
        print(f"{name}: {kind}: {exc}", file=sys.stderr)
        return 2
    print(json.dumps({"stage": name, **jsonable(result.to_dict())}, sort_keys=True))
    return 0


def stage_cli(module_name: str) -> StageMain:
    """The ``main(argv=None) -> int`` of the stage module called ``module_name`` (pass ``__name__``)."""

    def main(argv: Sequence[str] | None = None) -> int:
        return stage_main(sys.modules[module_name], argv)

    main.__doc__ = "``python -m alien.stages.<name> [--params params.yaml]``; see :func:`stage_main`."
    return main


def _stage_name(module: ModuleType) -> str:
    spec = getattr(module, "__spec__", None)
    qualified = spec.name if spec is not None else module.__name__
    return str(qualified).rsplit(".", 1)[-1]


def jsonable(value: Any) -> Any:
    """``value`` as plain JSON types: mappings with string keys, lists, strings for paths."""
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, Path):
        return str(value)
    return value
