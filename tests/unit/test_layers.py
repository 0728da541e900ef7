"""Which folder of ``alien/`` may import which: the layering docs/architecture.md draws.

Read statically (every import statement, including those inside functions), so a
lazy import cannot sneak a dependency past the rule; and once for real, in a fresh
interpreter, to show that ``import alien`` and every module of it load no orchestration.
"""

from __future__ import annotations

import ast
import graphlib
import subprocess
import sys
from pathlib import Path

import pytest

from alien.pipeline.table import STAGES

ALIEN = Path(__file__).resolve().parents[2] / "alien"

# layer -> the other layers it may import. Bottom first.
ALLOWED: dict[str, set[str]] = {
    "task": set(),
    # the libraries' option names, defaults and checks, which config reuses
    "options": set(),
    "assets": {"task"},
    "config": {"task", "options"},
    "metrics": {"task"},
    "calibration": {"metrics", "options"},
    "selective": {"calibration", "metrics"},
    "core": {"task", "assets", "calibration", "selective", "metrics", "options"},
    "baselines": {"core", "metrics", "task", "options"},
    "training": {"core", "metrics", "task", "options"},
    "data": {"task", "assets", "config"},
    "backbones": {"core", "assets", "task", "options"},
    "evaluation": {"metrics", "config", "task", "selective", "assets"},
    "evaluate_modules": {"metrics"},
    "monitoring": {"metrics"},
    "serving": {"core", "task"},
    "tracking": {
        "core",
        "config",
        "evaluation",
        "task",
        "assets",
        "data",
        "metrics",
        "calibration",
        "serving",
        "monitoring",  # the served model appends to the prediction log; monitor metrics go to MLflow
    },
    # the machinery around the stages; it names the stages by module name only, never imports them
    # (data: pre-flight refuses what prepare would, with alien.data.trainable — one implementation)
    "pipeline": {"task", "assets", "config", "backbones", "tracking", "data"},
    "stages": {
        "task",
        "assets",
        "config",
        "metrics",
        "calibration",
        "selective",
        "core",
        "baselines",
        "training",
        "data",
        "backbones",
        "evaluation",
        "tracking",
        "pipeline",
        "options",
    },
}
MLFLOW_ALLOWED = ("tracking", "stages/register.py")
STAGE_NAMES = tuple(stage.name for stage in STAGES)


def _layer(path: Path) -> str:
    parts = path.relative_to(ALIEN).parts
    return parts[0].removesuffix(".py") if len(parts) > 1 or parts[0] != "__init__.py" else "__init__"


def _imports(path: Path) -> set[str]:
    out = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            out |= {node.module, *(f"{node.module}.{a.name}" for a in node.names)}
    return out


FILES = sorted(p for p in ALIEN.rglob("*.py") if _layer(p) != "__init__")


def test_every_layer_is_declared():
    assert {_layer(p) for p in FILES} <= set(ALLOWED), "a new folder needs its row in ALLOWED"


@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(ALIEN)))
def test_imports_follow_the_layering(path):
    layer = _layer(path)
    imported = {m.split(".")[1] for m in _imports(path) if m.startswith("alien.")}
    assert imported - {layer} <= ALLOWED[layer], f"{layer} may import only {sorted(ALLOWED[layer])}"
    top = {m.split(".")[0] for m in _imports(path)}
    assert "prefect" not in top and "prefect_dask" not in top
    if "mlflow" in top:
        assert str(path.relative_to(ALIEN)).startswith(MLFLOW_ALLOWED)


def test_stages_holds_the_stages_of_the_table_and_their_hand_offs_only():
    modules = {p.stem for p in (ALIEN / "stages").glob("*.py")} - {"__init__"}
    assert modules == {*STAGE_NAMES, "artifacts"}, "machinery goes to alien/pipeline/"


@pytest.mark.parametrize("stage", STAGE_NAMES)
def test_no_stage_imports_another_stage(stage):
    imported = _imports(ALIEN / "stages" / f"{stage}.py")
    others = {f"alien.stages.{s}" for s in STAGE_NAMES if s != stage} & imported
    assert not others, f"stage {stage} imports stage module(s) {sorted(others)}; share through artifacts"


def _module(path: Path) -> str:
    return ".".join(path.relative_to(ALIEN.parent).with_suffix("").parts).removesuffix(".__init__")


def test_no_import_closes_a_circle():
    """Counting lazy imports; a package's ``__init__`` re-exporting its own modules is no circle."""
    modules = {_module(p): p for p in ALIEN.rglob("*.py")}
    graph = {}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else None
        graph[name] = {
            m
            for m in _imports(path)
            if m in modules and m != name and not (package and m.startswith(package + "."))
        }
    try:
        tuple(graphlib.TopologicalSorter(graph).static_order())
    except graphlib.CycleError as exc:
        pytest.fail(f"import circle: {' -> '.join(exc.args[1])}")


_PROBE = """
import importlib, pkgutil, sys
import alien
print("after-import-alien", "prefect" in sys.modules, "mlflow" in sys.modules)
skip = ("alien.tracking.pyfunc_entry", "alien.evaluate_modules")
for info in pkgutil.walk_packages(alien.__path__, "alien."):
    if not info.name.startswith(skip):
        importlib.import_module(info.name)
print("after-import-all", "prefect" in sys.modules)
"""


def test_import_alien_pulls_in_neither_prefect_nor_mlflow_and_no_module_imports_prefect():
    done = subprocess.run([sys.executable, "-c", _PROBE], capture_output=True, text=True, check=True)
    lines = dict(line.split(" ", 1) for line in done.stdout.strip().splitlines())
    assert lines["after-import-alien"] == "False False"
    assert lines["after-import-all"] == "False"
