"""The stage table is the one source: dvc.yaml is generated from it (test_stage_inputs: the stages match it)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from alien.pipeline.dvc_yaml import differences, dvc_yaml, import_closure, main, render
from alien.pipeline.table import STAGES, get_stage

ROOT = Path(__file__).resolve().parents[3]


def test_dvc_yaml_is_the_table():
    found = yaml.safe_load((ROOT / "dvc.yaml").read_text())
    assert differences(found, dvc_yaml(ROOT)) == []
    assert (ROOT / "dvc.yaml").read_text() == render(ROOT), (
        "regenerate: python -m alien.pipeline.dvc_yaml --write-dvc-yaml"
    )


@pytest.mark.parametrize(
    ("stage", "files"),
    [
        (
            "align",
            ["alien/metrics/error_detection.py", "alien/core/uncertainty.py", "alien/core/head_builder.py"],
        ),
        ("align", ["alien/stages/artifacts.py", "alien/training/__init__.py"]),
        ("gate", ["alien/metrics/paired.py", "alien/tracking/champion.py", "alien/evaluation/gates.py"]),
        ("evaluate", ["alien/evaluation/plots.py", "alien/core/model.py", "alien/baselines/entropy.py"]),
    ],
)
def test_code_deps_hold_the_import_closure(stage, files):
    deps = dvc_yaml(ROOT)["stages"][stage]["deps"]
    assert set(files) <= set(deps)


def _package(tmp_path: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return tmp_path


def test_closure_follows_imports_inside_functions_relative_imports_and_parent_packages(tmp_path):
    root = _package(
        tmp_path,
        {
            "alien/__init__.py": "",
            "alien/stages/__init__.py": "",
            "alien/stages/s.py": "def run():\n    from alien.lib import helper\n    from . import sibling\n",
            "alien/stages/sibling.py": "import numpy\n",
            "alien/lib/__init__.py": "",
            "alien/lib/helper.py": "from alien.lib.deep import x\n",
            "alien/lib/deep.py": "x = 1\n",
            "alien/lib/unused.py": "",
        },
    )
    assert import_closure("alien.stages.s", root=root) == [
        "alien/__init__.py",
        "alien/lib/__init__.py",
        "alien/lib/deep.py",
        "alien/lib/helper.py",
        "alien/stages/__init__.py",
        "alien/stages/s.py",
        "alien/stages/sibling.py",
    ]


def test_check_fails_and_names_the_stage_when_dvc_yaml_drifts(tmp_path, capsys):
    shutil.copytree(ROOT / "alien", tmp_path / "alien", ignore=shutil.ignore_patterns("__pycache__"))
    text = render(ROOT)
    (tmp_path / "dvc.yaml").write_text(text)
    assert main(["--check", "--root", str(tmp_path)]) == 0
    (tmp_path / "dvc.yaml").write_text(text.replace("    - alien/metrics/paired.py\n", "", 1))
    assert main(["--check", "--root", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert "deps" in err and "alien/metrics/paired.py" in err
    assert main(["--write-dvc-yaml", "--root", str(tmp_path)]) == 0
    assert (tmp_path / "dvc.yaml").read_text() == text


def test_a_table_that_disagrees_with_run_is_refused(tmp_path):
    from dataclasses import replace

    from alien.pipeline.dvc_yaml import stage_entry

    with pytest.raises(ValueError, match="run\\(\\) takes"):
        stage_entry(replace(get_stage("gate"), params=("gates", "data.task")), root=ROOT)


def test_every_data_dep_is_written_by_an_earlier_stage():
    written: set[str] = set()
    for stage in STAGES:
        assert set(stage.deps) <= written, stage.name
        written |= {o.key for o in (*stage.outs, *stage.metrics, *stage.plots) if not o.suffix}


def test_stages_that_read_the_registry_always_run_and_cache_nothing():
    stages = dvc_yaml(ROOT)["stages"]
    for name in ("gate", "register"):
        assert get_stage(name).live and stages[name]["always_changed"] is True
        assert all(next(iter(o.values()))["cache"] is False for o in stages[name]["outs"])


def test_unknown_stage_lists_the_stages():
    with pytest.raises(ValueError, match="stages are"):
        get_stage("train")
