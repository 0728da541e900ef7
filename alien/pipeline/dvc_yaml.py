"""``dvc.yaml``, generated from the stage table (:mod:`alien.pipeline.table`).

A stage's code dependencies are complete by construction: the static import
closure of its module within ``alien/`` — every ``import`` statement found by
walking the syntax tree (imports inside functions included, which can only add
files; ``if TYPE_CHECKING:`` blocks left out, since Python never runs them), plus
the package ``__init__`` files that importing a module runs. A package whose
``__init__`` imports lazily (PEP 562 ``__getattr__``) must name its lazy imports
in a literal ``_LAZY = {name: module}``: ``from package import name`` then counts
``_LAZY[name]``, and ``import package`` counts them all. Nothing is imported to
compute it.

``python -m alien.pipeline.dvc_yaml --write-dvc-yaml`` writes the file;
``--check`` exits 1 (and says which stage differs) when it is out of date.
"""

from __future__ import annotations

import argparse
import ast
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

from alien.config.paths import PathsConfig
from alien.pipeline.cli import PARAMS_FILE_ARG, field_names
from alien.pipeline.table import PLOTS, STAGES, Output, Stage

PACKAGE = "alien"
HEADER = (
    "# GENERATED from the stage table alien/pipeline/table.py — do not edit by hand:\n"
    "#   python -m alien.pipeline.dvc_yaml --write-dvc-yaml   (--check tells whether this file is current)\n"
    "# Every stage calls the same function the Prefect flow calls (alien.stages.<name>.run); code deps are\n"
    "# the import closure of the stage's module. Paths come from params.yaml (`${paths.*}`).\n"
)


def _module_file(module: str, root: Path) -> Path | None:
    base = root.joinpath(*module.split("."))
    for candidate in (base / "__init__.py", base.with_suffix(".py")):
        if candidate.is_file():
            return candidate
    return None


def _is_type_checking(node: ast.AST) -> bool:
    test = node.test if isinstance(node, ast.If) else None
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _executable(tree: ast.AST) -> list[ast.AST]:
    """Every node of ``tree`` except the bodies of ``if TYPE_CHECKING:`` blocks."""
    nodes, todo = [], [tree]
    while todo:
        node = todo.pop()
        nodes.append(node)
        children = list(ast.iter_child_nodes(node))
        if _is_type_checking(node):
            children = [node.test, *node.orelse]  # type: ignore[attr-defined]
        todo += children
    return nodes


def lazy_names(path: Path) -> dict[str, str] | None:
    """A package ``__init__``'s ``_LAZY`` literal (name -> module), or None when it has no ``__getattr__``.

    Raises:
        ValueError: it defines ``__getattr__`` but no literal ``_LAZY`` mapping of strings.
    """
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    if not any(isinstance(n, ast.FunctionDef) and n.name == "__getattr__" for n in tree.body):
        return None
    for node in tree.body:
        target: ast.expr | None = node.target if isinstance(node, ast.AnnAssign) else None
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target = node.targets[0]
        expr = node.value if isinstance(node, ast.Assign | ast.AnnAssign) else None
        if isinstance(target, ast.Name) and target.id == "_LAZY" and expr is not None:
            value = ast.literal_eval(expr)
            if isinstance(value, dict) and all(isinstance(v, str) for v in value.values()):
                return value
    raise ValueError(f"{path} imports lazily (__getattr__) without a literal _LAZY mapping")


def _imported(path: Path, module: str, root: Path) -> set[str]:
    """Every module name an import statement in ``path`` may load (``from m import x``: ``m`` and ``m.x``,
    or ``_LAZY[x]`` when ``m`` imports lazily; ``import m`` of a lazy package: all of its ``_LAZY``)."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    names: set[str] = set()
    for node in _executable(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                names.add(alias.name)
                names.update(_lazy_targets(alias.name, None, root))
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parent, *([base] if base else [])])
            names.add(base)
            for alias in node.names:
                names.add(f"{base}.{alias.name}")
                names.update(_lazy_targets(base, alias.name, root))
    return {n for n in names if n == PACKAGE or n.startswith(PACKAGE + ".")}


def _lazy_targets(package: str, name: str | None, root: Path) -> set[str]:
    """The modules importing ``name`` from ``package`` (None: any name) runs lazily (``_LAZY`` values
    without a dot name a module of ``package``)."""
    path = _module_file(package, root) if package.split(".")[0] == PACKAGE else None
    lazy = lazy_names(path) if path is not None and path.name == "__init__.py" else None
    if not lazy:
        return set()
    full = {key: value if "." in value else f"{package}.{value}" for key, value in lazy.items()}
    if name is None or name == "*":
        return set(full.values())
    return {full[name]} if name in full else set()


def import_closure(module: str, *, root: str | Path) -> list[str]:
    """The files (relative to ``root``, sorted) that importing ``module`` can execute within ``alien/``.

    Raises:
        ValueError: ``module`` is not a module file under ``root``.
    """
    root = Path(root)
    if _module_file(module, root) is None:
        raise ValueError(f"module {module!r} has no file under {root}")
    seen: dict[str, Path] = {}
    todo = [module]
    while todo:
        name = todo.pop()
        path = None if name in seen else _module_file(name, root)
        if path is None:
            continue  # already seen, or a name imported from a module rather than a module
        seen[name] = path
        parts = name.split(".")
        todo += [".".join(parts[:i]) for i in range(1, len(parts))]  # parent packages run first
        todo += sorted(_imported(path, name, root))
    return sorted(p.relative_to(root).as_posix() for p in seen.values())


def run_parameters(module: str, *, root: Path) -> tuple[tuple[str, ...], bool]:
    """The positional parameter names of the module's ``def run`` and whether it takes ``params_file``.

    Read from the syntax tree, so checking the table imports no stage.
    """
    path = _module_file(module, root)
    tree = ast.parse(path.read_text(encoding="utf-8")) if path else ast.Module(body=[], type_ignores=[])
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and node.name == "run":
            positional = tuple(a.arg for a in (*node.args.posonlyargs, *node.args.args))
            return positional, any(a.arg == PARAMS_FILE_ARG for a in node.args.kwonlyargs)
    raise ValueError(f"{module} has no top-level def run(...)")


def _path_refs() -> dict[str, str]:
    """``paths`` key → how ``dvc.yaml`` names it (``${paths.<key>}``; params.yaml holds the value)."""
    return {name: f"${{paths.{name}}}" for name in field_names(PathsConfig)}


def _outputs(outs: Sequence[Output], refs: dict[str, str]) -> list[Any]:
    entries: list[Any] = []
    for out in outs:
        path = refs[out.key] + out.suffix
        flags = {k: v for k, v in (("cache", out.cache), ("persist", out.persist)) if v != (k == "cache")}
        entries.append({path: flags} if flags else path)
    return entries


def stage_entry(stage: Stage, *, root: Path) -> dict[str, Any]:
    """One stage of ``dvc.yaml``.

    Raises:
        ValueError: the stage's ``run`` takes other sections than its ``params`` name.
    """
    positional, _ = run_parameters(stage.module, root=root)
    if set(positional) != set(stage.sections):
        raise ValueError(
            f"stage {stage.name!r}: run() takes {list(positional)} but the table's params "
            f"{list(stage.params)} give the sections {list(stage.sections)}"
        )
    refs = _path_refs()
    entry: dict[str, Any] = {
        "cmd": f"python -m {stage.module}",
        "deps": [*(refs[key] for key in stage.deps), *import_closure(stage.module, root=root)],
        "params": list(stage.params),
    }
    for key, outs in (("outs", stage.outs), ("metrics", stage.metrics), ("plots", stage.plots)):
        if outs:
            entry[key] = _outputs(outs, refs)
    if stage.live and any(out.cache for out in (*stage.outs, *stage.metrics, *stage.plots)):
        raise ValueError(f"stage {stage.name!r} reads the live registry: its outputs must not be cached")
    if stage.always_changed or stage.live:
        entry["always_changed"] = True
    return entry


def dvc_yaml(root: str | Path) -> dict[str, Any]:
    """``dvc.yaml`` as data: every stage of the table, then the plot definitions."""
    root = Path(root)
    return {"stages": {s.name: stage_entry(s, root=root) for s in STAGES}, "plots": PLOTS}


def render(root: str | Path) -> str:
    """The text of ``dvc.yaml`` (header comment, then stable YAML)."""
    body = yaml.safe_dump(dvc_yaml(root), sort_keys=False, width=120, default_flow_style=False)
    return HEADER + body


def differences(found: dict[str, Any], expected: dict[str, Any]) -> list[str]:
    """One line per stage key (or top-level key) where ``found`` differs from ``expected``."""
    lines = []
    stages_found, stages_expected = found.get("stages") or {}, expected["stages"]
    for name in sorted(set(stages_found) | set(stages_expected), key=lambda n: (n not in stages_expected, n)):
        got, want = stages_found.get(name), stages_expected.get(name)
        if got is None or want is None:
            lines.append(f"stage {name!r}: {'missing from dvc.yaml' if got is None else 'not in the table'}")
            continue
        lines += [
            f"stage {name!r} {key}: {_diff(got.get(key), want.get(key))}" for key in _changed(got, want)
        ]
    if list(stages_found) != list(stages_expected) and not lines:
        lines.append(f"stage order: dvc.yaml has {list(stages_found)}, the table {list(stages_expected)}")
    lines += [f"{key}: differs" for key in ("plots",) if found.get(key) != expected.get(key)]
    return lines


def _changed(got: dict[str, Any], want: dict[str, Any]) -> list[str]:
    return [key for key in sorted(set(got) | set(want)) if got.get(key) != want.get(key)]


def _diff(got: Any, want: Any) -> str:
    if isinstance(got, list) and isinstance(want, list):
        as_text = lambda items: {json.dumps(i, sort_keys=True) for i in items}  # noqa: E731
        missing, extra = sorted(as_text(want) - as_text(got)), sorted(as_text(got) - as_text(want))
        if missing or extra:
            return f"dvc.yaml lacks {missing}, has extra {extra}"
    return f"dvc.yaml has {got!r}, the table gives {want!r}"


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m alien.pipeline.dvc_yaml --write-dvc-yaml | --check [--root DIR]``."""
    parser = argparse.ArgumentParser(prog="python -m alien.pipeline.dvc_yaml", description=__doc__)
    action = parser.add_mutually_exclusive_group(required=True)
    action.add_argument("--write-dvc-yaml", action="store_true", help="write ROOT/dvc.yaml from the table")
    action.add_argument(
        "--check", action="store_true", help="exit 1 when ROOT/dvc.yaml differs from the table"
    )
    parser.add_argument("--root", default=".", help="project root holding alien/ and dvc.yaml (default: .)")
    args = parser.parse_args(argv)
    root, target = Path(args.root), Path(args.root) / "dvc.yaml"
    text = render(root)
    if args.write_dvc_yaml:
        target.write_text(text, encoding="utf-8")
        print(f"wrote {target} ({len(STAGES)} stages)")
        return 0
    current = target.read_text(encoding="utf-8") if target.is_file() else ""
    if current == text:
        print(f"{target} matches the stage table")
        return 0
    found = yaml.safe_load(current) or {}
    lines = differences(found, yaml.safe_load(text)) or ["formatting or comments differ"]
    print(f"{target} is out of date with alien/pipeline/table.py:", *lines, sep="\n  ", file=sys.stderr)
    print("regenerate it: python -m alien.pipeline.dvc_yaml --write-dvc-yaml", file=sys.stderr)
    return 1


if __name__ == "__main__":
    raise SystemExit(main())
