"""Each stage depends on what it reads: editing code outside a stage's import closure leaves it up to date.

Checked with DVC itself on a throw-away project: the ``dvc.yaml`` generated from the stage table,
the real ``params.yaml`` and a copy of ``alien/``, with placeholder data committed to ``dvc.lock``
(``dvc commit``: the stage code is what is tracked, not what it computes). Then, per stage, every
``alien/`` module outside its closure gets one more line and ``dvc status`` of the stage must name
no changed dependency. The closure itself must be honest: what importing a stage and loading its
params really runs lies inside it.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from alien.pipeline.dvc_yaml import import_closure, render
from alien.pipeline.table import STAGES, Stage

ROOT = Path(__file__).resolve().parents[3]
EDIT = "\n# an edit that changes no behaviour\n"


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, Any]]:
    from dvc.repo import Repo

    root = tmp_path_factory.mktemp("invalidation")
    shutil.copytree(ROOT / "alien", root / "alien", ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    shutil.copy(ROOT / "params.yaml", root / "params.yaml")
    (root / "dvc.yaml").write_text(render(ROOT), encoding="utf-8")
    paths = yaml.safe_load((root / "params.yaml").read_text(encoding="utf-8"))["paths"]
    for key, value in paths.items():
        for name in (value, f"{value}.meta.json") if key == "raw" else (value,):
            (root / name).parent.mkdir(parents=True, exist_ok=True)
            (root / name).write_text(key, encoding="utf-8")
    Repo.init(str(root), no_scm=True)
    with contextlib.chdir(root), Repo(".") as repo:
        repo.commit(None, force=True)
        yield root, repo


def changed_deps(repo: Any, stage: str | None = None) -> dict[str, set[str]]:
    """Stage -> the dependencies ``dvc status`` reports changed (``always changed`` ignored)."""
    status = repo.status(targets=[stage] if stage else None)
    changed: dict[str, set[str]] = {}
    for name, entries in status.items():
        for entry in entries:
            if isinstance(entry, dict):
                changed.setdefault(name, set()).update(entry.get("changed deps", {}))
    return changed


@contextlib.contextmanager
def edited(root: Path, files: list[str]) -> Iterator[None]:
    originals = {name: (root / name).read_text(encoding="utf-8") for name in files}
    try:
        for name, text in originals.items():
            (root / name).write_text(text + EDIT, encoding="utf-8")
        yield
    finally:
        for name, text in originals.items():
            (root / name).write_text(text, encoding="utf-8")


def outside(stage: Stage) -> list[str]:
    inside = set(import_closure(stage.module, root=ROOT))
    every = sorted(p.relative_to(ROOT).as_posix() for p in (ROOT / "alien").rglob("*.py"))
    return [name for name in every if name not in inside]


@pytest.mark.parametrize("stage", STAGES, ids=lambda s: s.name)
def test_editing_code_outside_a_stages_closure_leaves_it_up_to_date(project, stage):
    root, repo = project
    assert changed_deps(repo) == {}
    files = outside(stage)
    assert files, f"every alien/ module is in {stage.name}'s closure"
    with edited(root, files):
        assert changed_deps(repo, stage.name) == {}


@pytest.mark.parametrize(
    "edit", ["alien/config/gates.py", "alien/evaluation/rules.py", "alien/stages/gate.py"]
)
def test_editing_the_gate_invalidates_only_gate_and_register(project, edit):
    root, repo = project
    with edited(root, [edit]):
        changed = set(changed_deps(repo))
    # register runs after gate (and reads the registry: always changed); fetch..evaluate stay up to date
    assert "gate" in changed
    assert changed <= {"gate", "register"}


def test_editing_a_section_invalidates_the_stages_that_read_it(project):
    root, repo = project
    with edited(root, ["alien/config/finetune.py"]):
        changed = set(changed_deps(repo))
    assert "finetune" in changed
    assert changed <= {"finetune", "register"}


RUNTIME = """
import json, sys
from pathlib import Path
import importlib
from alien.pipeline.cli import load_sections, section_types
module = importlib.import_module(sys.argv[1])
load_sections(sys.argv[2], section_types(module.run))
root = Path(sys.argv[3]).resolve()
files = {Path(m.__file__).resolve() for m in list(sys.modules.values()) if getattr(m, "__file__", None)}
print(json.dumps(sorted(p.relative_to(root).as_posix() for p in files if p.is_relative_to(root / "alien"))))
"""


@pytest.mark.parametrize("name", ["fetch", "finetune", "gate"])
def test_the_closure_holds_what_python_really_runs(name):
    module = f"alien.stages.{name}"
    done = subprocess.run(
        [sys.executable, "-c", RUNTIME, module, str(ROOT / "params.yaml"), str(ROOT)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    ran = set(json.loads(done.stdout.strip().splitlines()[-1]))
    assert ran - set(import_closure(module, root=ROOT)) == set()
    assert "alien/config/params.py" not in ran
