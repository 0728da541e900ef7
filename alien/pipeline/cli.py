"""What every stage shares: the :class:`StageResult` base, how ``run`` gets its inputs, and one ``main``.

A stage module defines ``run(<its sections>, paths)`` whose positional parameter
names are ``params.yaml`` section names (``data``, ``gates``, …; the stage table in
:mod:`alien.pipeline.table` checks them against ``dvc.yaml``), optionally the
keywords ``params_file`` (the file itself, e.g. to log it) and ``root`` (the
project root, which the runner passes: nothing assumes the working directory),
and binds the one command-line entry point::

    main = stage_cli(__name__)

``python -m alien.stages.<name> --params FILE`` then loads the params, calls
``run`` with its sections (and the working directory as ``root``: ``dvc repro``
runs every stage from the folder holding ``dvc.yaml``), prints the result as one
line of JSON and exits 0; invalid params or data print one line on stderr and
exit 2 (a traceback there would only bury the message). A module may map further
exception types to exit statuses in ``EXIT_CODES`` (``register``: registry
unavailable → 3).
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

import yaml

from alien.config import ConfigError, Params, load_params

PARAMS_FILE_ARG = "params_file"
ROOT_ARG = "root"


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


def field_names(model: Any) -> tuple[str, ...]:
    """The field names of ``Params`` or of one of its sections (the class or an instance), in order."""
    cls = model if isinstance(model, type) else type(model)
    fields = getattr(cls, "model_fields", None)  # a pydantic model
    if fields is not None:
        return tuple(fields)
    return tuple(f.name for f in dataclasses.fields(cls))


def call_run(
    run: Callable[..., HasToDict],
    params: Params,
    *,
    root: str | Path,
    params_file: str | Path = "params.yaml",
    **extra: Any,
) -> HasToDict:
    """Call a stage's ``run`` with the sections it names, ``root`` and ``params_file`` if it takes them, and ``extra``.

    Args:
        run: the stage's ``run``.
        params: all of ``params.yaml``; ``run`` gets the sections its positional parameters name.
        root: the project root (the folder with ``dvc.yaml``), passed as a :class:`~pathlib.Path`.
        params_file: the params file, passed as a string.
        extra: further keyword arguments ``run`` declares (``register``: ``context``).

    Raises:
        TypeError: ``run`` names a parameter that is not a params section, or ``extra``
            names a keyword ``run`` does not take (or one given otherwise).
    """
    sections = field_names(params)
    taken = inspect.signature(run).parameters
    kwargs: dict[str, Any] = {}
    for name in stage_sections(run):
        if name not in sections:
            raise TypeError(
                f"{run.__module__}.run takes {name!r}, which is not a params section {sorted(sections)}"
            )
        kwargs[name] = getattr(params, name)
    given: dict[str, Any] = {PARAMS_FILE_ARG: str(params_file), ROOT_ARG: Path(root)}
    kwargs.update({name: value for name, value in given.items() if name in taken})
    keywords = set(taken) - set(kwargs) - set(given)
    unknown = sorted(set(extra) - keywords)
    if unknown:
        raise TypeError(
            f"{run.__module__}.run does not take {unknown} as extra keyword(s); it takes {sorted(keywords)}"
        )
    return run(**kwargs, **extra)


def params_file_with(params_file: str | Path, folder: Path, **sections: Any) -> Path:
    """A params file to start a stage's command line with (another process) that holds ``sections``.

    ``params_file`` itself when its sections equal ``sections``; else a copy of it with
    them, written to ``folder``.

    Raises:
        FileNotFoundError: no ``params_file``.
        ConfigError: it is not a valid params file.
    """
    path = Path(params_file)
    params = load_params(path)
    if all(getattr(params, name) == section for name, section in sections.items()):
        return path
    merged = {name: sections.get(name, getattr(params, name)) for name in field_names(params)}
    copy = folder / "params.yaml"
    plain = {name: jsonable(_as_mapping(section)) for name, section in merged.items()}
    copy.write_text(yaml.safe_dump(plain, sort_keys=False), encoding="utf-8")
    return copy


def _as_mapping(section: Any) -> Mapping[str, Any]:
    dump = getattr(section, "model_dump", None)  # a pydantic model
    return dict(dump()) if dump is not None else dataclasses.asdict(section)


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
        params = load_params(args.params)
        result = call_run(module.run, params, root=Path.cwd(), params_file=args.params)
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
