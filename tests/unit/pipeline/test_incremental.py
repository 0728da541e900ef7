"""DVC decides what the Prefect path skips, but only when its record describes this run."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from alien.pipeline.incremental import Plan, run_incremental, tracked_by_dvc
from alien.pipeline.versioning import reusable


@dataclass(frozen=True)
class _Done:
    n: int

    def to_dict(self) -> dict[str, int]:
        return {"n": self.n}


COPY = "stages:\n  copy:\n    cmd: cp in.txt out.txt\n    deps: [in.txt]\n    params: [copy.n]\n    outs: [out.txt]\n"


def dvc_project(root: Path, stages: str, *, params: str = "copy:\n  n: 1\n", data: str = "a\n") -> Path:
    """A DVC project at ``root`` with ``in.txt``, ``params.yaml`` and ``stages`` as dvc.yaml, reproduced."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "in.txt").write_text(data)
    (root / "params.yaml").write_text(params)
    (root / "dvc.yaml").write_text(stages)
    for args in (["init", "--no-scm", "-q"], ["repro", "-q"]):
        subprocess.run([sys.executable, "-m", "dvc", *args], cwd=root, check=True, capture_output=True)
    return root


@pytest.fixture(scope="module")
def repo(tmp_path_factory) -> Path:
    """A DVC project whose one stage ``copy`` is up to date."""
    return dvc_project(tmp_path_factory.mktemp("dvc"), COPY)


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


def _write_seed(root: Path, seed: int) -> None:
    (root / "params.yaml").write_text(f"finetune:\n  seed: {seed}\n")


def test_a_reverted_parameter_is_restored_from_the_run_cache_not_run_again(tmp_path):
    """finetune.seed 42 -> 43 -> 42: the third run calls no fine-tune, checks out the 42 outputs
    and records the 42 state in dvc.lock, as ``dvc repro`` would."""
    root = tmp_path
    _write_seed(root, 42)
    (root / "dvc.yaml").write_text(
        "stages:\n  finetune:\n    cmd: 'false'\n    params: [finetune.seed]\n    outs: [model.txt]\n"
    )
    subprocess.run([sys.executable, "-m", "dvc", "init", "--no-scm", "-q"], cwd=root, check=True)
    trained: list[int] = []

    def finetune() -> _Done:
        seed = int((root / "params.yaml").read_text().split()[-1])
        trained.append(seed)
        (root / "model.txt").write_text(f"weights for seed {seed}\n")
        return _Done(seed)

    outcomes = []
    for seed in (42, 43, 42):
        _write_seed(root, seed)
        outcomes.append(run_incremental("finetune", finetune, root=root, params_file=root / "params.yaml"))
    assert trained == [42, 43]
    assert [o.restored for o in outcomes] == [False, False, True] and outcomes[2].skipped
    assert (root / "model.txt").read_text() == "weights for seed 42\n"
    assert "seed: 42" in (root / "dvc.lock").read_text()
    assert _status(root) == {}


def _status(root: Path) -> dict:
    import contextlib

    from dvc.repo import Repo

    with contextlib.chdir(root), Repo(".") as repo:
        return repo.status()


def test_a_stage_that_always_runs_is_committed_only_when_its_outputs_changed(tmp_path):
    """A DVC commit costs seconds: a no-op nightly run pays none for fetch, gate and register."""
    root = dvc_project(tmp_path / "dvc", COPY + "    always_changed: true\n")
    lock = (root / "dvc.lock").read_text()

    def again(out: str) -> None:
        def run() -> _Done:
            (root / "out.txt").write_text(out)
            return _Done(1)

        run_incremental("copy", run, root=root, params_file=root / "params.yaml", always=True)

    (root / "in.txt").write_text("c\n")  # a commit would now record another dep
    again("a\n")  # the very output dvc.lock records: not committed again
    assert (root / "dvc.lock").read_text() == lock
    again("b\n")  # another output: recorded
    assert (root / "dvc.lock").read_text() != lock
    assert "out.txt" in (root / "dvc.lock").read_text()


@pytest.fixture
def chain(tmp_path) -> Path:
    """A DVC project of two stages, ``a`` (in.txt → a.txt) then ``b`` (a.txt → b.txt), up to date."""
    stages = (
        "stages:\n"
        "  a:\n    cmd: cp in.txt a.txt\n    deps: [in.txt]\n    outs: [a.txt]\n"
        "  b:\n    cmd: cp a.txt b.txt\n    deps: [a.txt]\n    outs: [b.txt]\n"
    )
    return dvc_project(tmp_path / "chain", stages, params="n: 1\n", data="1\n")


def _run_chain(root: Path, monkeypatch) -> tuple[list[str], int]:
    """Both stages through one :class:`Plan`, as the flow runs them: (stages that ran, per-stage DVC checks)."""
    import alien.pipeline.incremental as incremental

    asked: list[str] = []
    monkeypatch.setattr(
        incremental, "reusable", lambda stage, root: asked.append(stage) or reusable(stage, root=root)
    )
    ran: list[str] = []

    def stage(name: str, source: str) -> Callable[[], _Done]:
        def run() -> _Done:
            ran.append(name)
            (root / f"{name}.txt").write_text((root / source).read_text())
            return _Done(1)

        return run

    plan = Plan.of(root=root, params_file=root / "params.yaml")
    for name, source in (("a", "in.txt"), ("b", "a.txt")):
        outcome = run_incremental(
            name,
            stage(name, source),
            root=root,
            params_file=root / "params.yaml",
            up_to_date=plan.skips(name),
        )
        plan = plan.after(outcome.to_dict())
    return ran, len(asked)


def test_a_no_op_run_asks_dvc_once_for_every_stage(chain, monkeypatch):
    assert Plan.of(root=chain, params_file=chain / "params.yaml") == Plan(frozenset({"a", "b"}), trusted=True)
    assert _run_chain(chain, monkeypatch) == ([], 0)


def test_after_a_stage_changes_its_outputs_the_next_asks_dvc_again(chain, monkeypatch):
    """At the start ``b`` is up to date (a.txt is as locked); once ``a`` rewrites a.txt it is not."""
    (chain / "in.txt").write_text("2\n")
    assert Plan.of(root=chain, params_file=chain / "params.yaml").up_to_date == {"b"}
    assert _run_chain(chain, monkeypatch) == (["a", "b"], 2)
    assert (chain / "b.txt").read_text() == "2\n"


def test_a_params_file_dvc_does_not_track_plans_nothing(chain, tmp_path):
    other = tmp_path / "experiment.yaml"
    other.write_text("n: 2\n")
    plan = Plan.of(root=chain, params_file=other)
    assert not plan.trusted and not plan.skips("a")
