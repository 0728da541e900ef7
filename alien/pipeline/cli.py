"""What every stage shares: the :class:`StageResult` base, how ``run`` gets its inputs, and one ``main``.

A stage module defines ``run(<its sections>, paths)`` whose positional parameter
names are ``params.yaml`` section names (``data``, ``gates``, …; the stage table in
:mod:`alien.pipeline.table` checks them against ``dvc.yaml``), optionally the
keywords ``params_file`` (the file itself, e.g. to log it) and ``root`` (the
project root, which the runner passes: nothing assumes the working directory),
and binds the one command-line entry point::

    main = stage_cli(__name__)

``python -m alien.stages.<name> --params FILE`` then loads the sections ``run``
takes (only those: their types come from ``run``'s annotations, so a stage runs —
and its code deps hold — no other section's module; ``alien run``'s pre-flight
checks the whole file), calls ``run`` with them (and the working directory as ``root``: ``dvc repro``
runs every stage from the folder holding ``dvc.yaml``), prints the result as one
line of JSON and exits 0; invalid params or data print one line on stderr and
exit 2 (a traceback there would only bury the message). A module may map further
exception types to exit statuses in ``EXIT_CODES`` (``register``: registry
unavailable → 3), and define ``cli_keywords() -> dict``: keywords its ``run`` gets
on the command line only, read there from the caller's environment (``register``:
``dvc exp run``'s ``DVC_EXP_NAME`` and DVC's ``DVC_ROOT``).
"""

from __future__ import annotations

import argparse
import dataclasses
import inspect
import json
import logging
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from types import ModuleType
from typing import Any, Protocol

import yaml

from alien.config.base import ConfigError, section_from_mapping

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
    params: Any,  # a Params (any object with the sections as attributes) or a mapping name -> section
    *,
    root: str | Path,
    params_file: str | Path = "params.yaml",
    **extra: Any,
) -> HasToDict:
    """Call a stage's ``run`` with the sections it names, ``root`` and ``params_file`` if it takes them, and ``extra``.

    Args:
        run: the stage's ``run``.
        params: all of ``params.yaml``, or a mapping section name -> section holding at least
            those ``run`` takes; ``run`` gets the sections its positional parameters name.
        root: the project root (the folder with ``dvc.yaml``), passed as a :class:`~pathlib.Path`.
        params_file: the params file, passed as a string.
        extra: further keyword arguments ``run`` declares (``register``: ``context``).

    Raises:
        TypeError: ``run`` names a parameter that is not a params section, or ``extra``
            names a keyword ``run`` does not take (or one given otherwise).
    """
    given_sections = params if isinstance(params, Mapping) else _sections_of(params)
    sections = tuple(given_sections)
    taken = inspect.signature(run).parameters
    kwargs: dict[str, Any] = {}
    for name in stage_sections(run):
        if name not in sections:
            raise TypeError(
                f"{run.__module__}.run takes {name!r}, which is not a params section {sorted(sections)}"
            )
        kwargs[name] = given_sections[name]
    given: dict[str, Any] = {PARAMS_FILE_ARG: str(params_file), ROOT_ARG: Path(root)}
    kwargs.update({name: value for name, value in given.items() if name in taken})
    keywords = set(taken) - set(kwargs) - set(given)
    unknown = sorted(set(extra) - keywords)
    if unknown:
        raise TypeError(
            f"{run.__module__}.run does not take {unknown} as extra keyword(s); it takes {sorted(keywords)}"
        )
    return run(**kwargs, **extra)


def _sections_of(params: Any) -> dict[str, Any]:
    return {name: getattr(params, name) for name in field_names(params)}


def read_params_mapping(params_file: str | Path) -> dict[str, Any]:
    """The parsed params file: a mapping of sections (not validated beyond that).

    Raises:
        FileNotFoundError: no ``params_file``.
        ConfigError: it is not YAML, or not a mapping.
    """
    path = Path(params_file)
    if not path.is_file():
        raise FileNotFoundError(f"params file not found: {path}")
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path} is not valid YAML: {exc}") from exc
    if not isinstance(raw, Mapping):
        raise ConfigError(f"params must be a mapping of sections, got {type(raw).__name__}")
    return dict(raw)


def load_sections(params_file: str | Path, types: Mapping[str, type]) -> dict[str, Any]:
    """The sections ``types`` names (section name -> its dataclass), read and checked from ``params_file``.

    Imports no other section's module, so a stage's code deps stay its own.

    Raises:
        FileNotFoundError: no ``params_file``.
        ConfigError: not a mapping, a section missing, or a section invalid.
    """
    raw = read_params_mapping(params_file)
    check_against_schema(raw, Path(params_file).parent / SCHEMA_FILE)
    missing = sorted(set(types) - set(raw))
    if missing:
        raise ConfigError(f"params section(s) {missing} missing; every section must be set in params.yaml")
    return {name: section_from_mapping(cls, raw[name], section=name) for name, cls in types.items()}


SCHEMA_FILE = "params.schema.json"


def check_against_schema(raw: Mapping[str, Any], schema_file: Path) -> None:
    """Refuse a params file that breaks the shipped JSON schema anywhere, not only in this stage's sections.

    The schema (generated from every section's model; a test keeps it current) is read as data,
    so a stage still imports only its own sections' code. It can only refuse a run, never change
    an output, so it is not a DVC dependency. Without the file, only the stage's sections are checked.

    Raises:
        ConfigError: the first violation, named by its section and key.
    """
    if not schema_file.is_file():
        return
    import jsonschema

    schema = json.loads(schema_file.read_text(encoding="utf-8"))
    error = jsonschema.exceptions.best_match(jsonschema.Draft202012Validator(schema).iter_errors(raw))
    if error is not None:
        where = ".".join(str(p) for p in error.absolute_path) or "params"
        raise ConfigError(
            f"{schema_file.parent / 'params.yaml'} does not match {schema_file.name}: {where}: {error.message}"
        )


def section_types(run: Callable[..., Any]) -> dict[str, type]:
    """Section name -> the dataclass ``run`` annotates it with, for each section ``run`` takes."""
    signature = inspect.signature(run)
    namespace = getattr(run, "__globals__", {})
    types: dict[str, type] = {}
    for name in stage_sections(run):
        annotation = signature.parameters[name].annotation
        if isinstance(annotation, str):
            annotation = eval(annotation, namespace)  # the module's own annotation
        if not isinstance(annotation, type):
            raise TypeError(f"{run.__module__}.run: section {name!r} must be annotated with its config class")
        types[name] = annotation
    return types


def params_file_with(params_file: str | Path, folder: Path, **sections: Any) -> Path:
    """A params file to start a stage's command line with (another process) that holds ``sections``.

    ``params_file`` itself when its sections equal ``sections``; else a copy of it with
    them, written to ``folder``. Reads only ``sections``' own modules.

    Raises:
        FileNotFoundError: no ``params_file``.
        ConfigError: it is not a valid params file (as far as ``sections`` go).
    """
    path = Path(params_file)
    types = {name: type(section) for name, section in sections.items()}
    if load_sections(path, types) == sections:
        return path
    raw = read_params_mapping(path)
    raw.update({name: jsonable(_as_mapping(section)) for name, section in sections.items()})
    copy = folder / "params.yaml"
    copy.write_text(yaml.safe_dump(jsonable(raw), sort_keys=False), encoding="utf-8")
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
    # progress lines (INFO) of alien's loggers go to stderr; dvc repro shows them as the stage runs
    logging.basicConfig(level=logging.INFO, format="%(name)s: %(message)s", stream=sys.stderr)
    codes: Mapping[type[BaseException], tuple[int, str]] = getattr(module, "EXIT_CODES", {})
    try:
        sections = load_sections(args.params, section_types(module.run))
        keywords: dict[str, Any] = getattr(
            module, "cli_keywords", dict
        )()  # what the caller's environment tells this CLI
        result = call_run(module.run, sections, root=Path.cwd(), params_file=args.params, **keywords)
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
