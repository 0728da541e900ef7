"""Which folder of ``alien/`` may import which: the layering docs/architecture.md draws.

Read statically (every import statement, including those inside functions), so a
lazy import cannot sneak a dependency past the rule.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ALIEN = Path(__file__).resolve().parents[2] / "alien"

# layer -> the other layers it may import. Bottom first.
ALLOWED: dict[str, set[str]] = {
    "task": set(),
    "assets": {"task"},
    "config": {"task"},
    "metrics": {"task"},
    "calibration": {"metrics"},
    "selective": {"calibration", "metrics"},
    "core": {"task", "assets", "calibration", "selective", "metrics"},
    "baselines": {"core", "metrics", "task"},
    "training": {"core", "metrics", "task"},
    "data": {"task", "assets", "config"},
    "backbones": {"core", "assets", "task"},
    "evaluation": {"metrics", "config", "task", "selective", "assets"},
    "evaluate_modules": {"metrics"},
    "tracking": {"core", "config", "evaluation", "task", "assets", "data", "metrics", "calibration"},
    "stages": {
        "task", "assets", "config", "metrics", "calibration", "selective", "core", "baselines",
        "training", "data", "backbones", "evaluation", "tracking",
    },
}  # fmt: skip
MLFLOW_ALLOWED = ("tracking", "stages/register.py")


def _layer(path: Path) -> str:
    parts = path.relative_to(ALIEN).parts
    return parts[0].removesuffix(".py") if len(parts) > 1 or parts[0] != "__init__.py" else "__init__"


def _imports(path: Path) -> set[str]:
    out = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            out.add(node.module)
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


STAGES = ("fetch", "prepare", "finetune", "features", "align", "evaluate", "gate", "register")


@pytest.mark.parametrize("stage", STAGES)
def test_no_stage_imports_another_stage(stage):
    imported = _imports(ALIEN / "stages" / f"{stage}.py")
    others = {f"alien.stages.{s}" for s in STAGES if s != stage} & imported
    assert not others, f"stage {stage} imports stage module(s) {sorted(others)}; share through artifacts"
