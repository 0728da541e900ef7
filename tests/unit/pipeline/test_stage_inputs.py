"""Each stage reads exactly what its row of the stage table declares.

- ``run`` takes, as its positional parameters, the sections the row's ``params`` name (plus ``paths``),
  so the runners hand it nothing else and DVC tracks everything it gets;
- no stage module reads params itself (no YAML, no ``load_params`` / ``params_from_mapping``)
  or the environment, so an undeclared read has no way in;
- of a section the row declares key by key (``data.task``), the module reads only those keys
  (read from the syntax tree: the section's name and every parameter annotated with its type).
  A section passed whole into a library function is that function's business.
"""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

from alien.pipeline.cli import stage_sections
from alien.pipeline.table import ORDER, STAGES, Stage

ALIEN = Path(__file__).resolve().parents[3] / "alien"
PARAMS_READERS = {"load_params", "params_from_mapping", "safe_load", "full_load", "unsafe_load", "load_all"}
ENVIRONMENT = {"environ", "getenv", "environb", "getenvb"}


def _tree(stage: Stage) -> ast.Module:
    return ast.parse((ALIEN / "stages" / f"{stage.name}.py").read_text(encoding="utf-8"))


def _declared_keys(stage: Stage) -> dict[str, set[str]]:
    """Section -> the keys the row declares, for the sections it declares key by key only."""
    whole = {p for p in stage.params if "." not in p}
    keys: dict[str, set[str]] = {}
    for param in stage.params:
        section, _, key = param.partition(".")
        if key and section not in whole:
            keys.setdefault(section, set()).add(key)
    return keys


def _section_aliases(tree: ast.Module, sections: set[str]) -> dict[str, str]:
    """Every name in the module that holds one of ``sections``: the name itself, and any
    function parameter annotated with the type ``run`` gives that section."""
    run = next(n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "run")
    types = {a.arg: ast.unparse(a.annotation) for a in run.args.args if a.annotation and a.arg in sections}
    aliases = {section: section for section in sections}
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            for arg in (*node.args.posonlyargs, *node.args.args, *node.args.kwonlyargs):
                for section, kind in types.items():
                    if arg.annotation is not None and ast.unparse(arg.annotation) == kind:
                        aliases[arg.arg] = section
    return aliases


def undeclared_reads(tree: ast.Module, stage: Stage) -> list[str]:
    """``section.key`` reads in the module that the row does not declare (sorted, unique)."""
    declared = _declared_keys(stage)
    aliases = _section_aliases(tree, set(declared))
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in aliases:
            section = aliases[node.value.id]
            if node.attr not in declared[section]:
                found.add(f"{section}.{node.attr}")
    return sorted(found)


def own_reads(tree: ast.Module) -> list[str]:
    """Where the module reads params or the environment itself: YAML, the params loaders, ``os.environ``."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [f"import {a.name}" for a in node.names if a.name.split(".")[0] == "yaml"]
        elif isinstance(node, ast.ImportFrom):
            names = {a.name for a in node.names}
            if (node.module or "").split(".")[0] == "yaml" or names & (PARAMS_READERS | ENVIRONMENT):
                found.append(f"from {node.module} import {sorted(names)}")
        elif isinstance(node, ast.Attribute) and node.attr in PARAMS_READERS | ENVIRONMENT:
            found.append(ast.unparse(node))
        elif isinstance(node, ast.Name) and node.id in PARAMS_READERS | ENVIRONMENT:
            found.append(node.id)
    return found


@pytest.mark.parametrize("stage", STAGES, ids=ORDER)
def test_run_takes_exactly_the_sections_the_row_declares(stage):
    run = importlib.import_module(stage.module).run
    assert set(stage_sections(run)) == set(stage.sections)


@pytest.mark.parametrize("stage", STAGES, ids=ORDER)
def test_no_stage_reads_params_or_the_environment_itself(stage):
    assert own_reads(_tree(stage)) == []


@pytest.mark.parametrize("stage", STAGES, ids=ORDER)
def test_a_section_declared_key_by_key_is_read_at_those_keys_only(stage):
    assert undeclared_reads(_tree(stage), stage) == []


def test_the_checks_catch_an_undeclared_read():
    row = Stage("fake", params=("data.task", "registry"))
    module = ast.parse(
        "import os\n"
        "import yaml\n"
        "from alien.config import load_params\n"
        "def run(data: DataConfig, registry: RegistryConfig, paths: PathsConfig):\n"
        "    return data.task, data.max_rows, registry.model_name, _helper(data)\n"
        "def _helper(cfg: DataConfig):\n"
        "    return cfg.source, os.environ['X'], yaml.safe_load('a: 1'), load_params('p.yaml')\n"
    )
    assert undeclared_reads(module, row) == ["data.max_rows", "data.source"]
    assert own_reads(module) == [
        "import yaml",
        "from alien.config import ['load_params']",
        "os.environ",
        "yaml.safe_load",
        "load_params",
    ]
