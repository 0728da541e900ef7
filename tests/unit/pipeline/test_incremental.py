"""DVC decides what the Prefect path skips, but only when its record describes this run."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from alien.pipeline.incremental import run_incremental, tracked_by_dvc


@dataclass(frozen=True)
class _Done:
    n: int

    def to_dict(self) -> dict[str, int]:
        return {"n": self.n}


@pytest.fixture(scope="module")
def repo(tmp_path_factory) -> Path:
    """A DVC project whose one stage ``copy`` is up to date."""
    root = tmp_path_factory.mktemp("dvc")
    (root / "in.txt").write_text("a\n")
    (root / "params.yaml").write_text("copy:\n  n: 1\n")
    (root / "dvc.yaml").write_text(
        "stages:\n  copy:\n    cmd: cp in.txt out.txt\n    deps: [in.txt]\n    params: [copy.n]\n    outs: [out.txt]\n"
    )
    for args in (["init", "--no-scm", "-q"], ["repro", "-q"]):
        subprocess.run([sys.executable, "-m", "dvc", *args], cwd=root, check=True, capture_output=True)
    return root


def _calls(repo: Path, **kwargs) -> tuple[list[int], bool]:
    calls: list[int] = []
    outcome = run_incremental("copy", lambda: calls.append(1) or _Done(len(calls)), root=repo, **kwargs)
    assert outcome.skipped == (not calls)
    return calls, outcome.skipped


def test_an_up_to_date_stage_is_skipped(repo):
    assert _calls(repo, params_file=repo / "params.yaml") == ([], True)


def test_a_live_stage_always_runs(repo):
    assert _calls(repo, params_file=repo / "params.yaml", always=True) == ([1], False)


def test_another_params_file_never_skips_and_never_rewrites_dvc_lock(repo, tmp_path):
    other = tmp_path / "experiment.yaml"
    other.write_text("copy:\n  n: 2\n")
    lock = (repo / "dvc.lock").read_text()
    assert not tracked_by_dvc(other, root=repo) and tracked_by_dvc(repo / "params.yaml", root=repo)
    assert _calls(repo, params_file=other) == ([1], False)
    assert (repo / "dvc.lock").read_text() == lock


def test_outside_a_dvc_project_every_stage_runs(tmp_path):
    (tmp_path / "params.yaml").write_text("{}\n")
    assert _calls(tmp_path, params_file=tmp_path / "params.yaml") == ([1], False)
