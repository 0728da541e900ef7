"""Atomic files and folders, and cleaning up what a killed process left behind."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from alien.assets.atomic import atomic_directory, atomic_file, remove_stale_staging, scratch_directory

DEAD_PID = 999_999_999  # above any pid_max: never a running process


def test_atomic_file_replaces_on_success_and_leaves_nothing_on_failure(tmp_path: Path) -> None:
    target = tmp_path / "out.json"
    with atomic_file(target) as tmp:
        assert tmp.parent == tmp_path and tmp.name.startswith(f".out.json.{os.getpid()}.")
        tmp.write_text("one")
    assert target.read_text() == "one"
    with pytest.raises(RuntimeError), atomic_file(target) as tmp:
        tmp.write_text("two")
        raise RuntimeError("boom")
    assert target.read_text() == "one"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.json"]


def test_atomic_directory_swaps_whole_folders(tmp_path: Path) -> None:
    target = tmp_path / "model"
    with atomic_directory(target) as tmp:
        (tmp / "a.txt").write_text("one")
    with pytest.raises(RuntimeError), atomic_directory(target) as tmp:
        (tmp / "a.txt").write_text("two")
        raise RuntimeError("boom")
    assert (target / "a.txt").read_text() == "one"
    with atomic_directory(target) as tmp:
        (tmp / "b.txt").write_text("three")
    assert sorted(p.name for p in target.iterdir()) == ["b.txt"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model"]


def test_scratch_directory_is_always_removed(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError), scratch_directory(tmp_path, name="download") as scratch:
        (scratch / "part.whl").write_bytes(b"x")
        assert scratch.name.startswith(f".download.{os.getpid()}.")
        raise RuntimeError("boom")
    assert list(tmp_path.iterdir()) == []


def test_a_killed_writer_leaves_staging_that_the_next_start_removes(tmp_path: Path) -> None:
    target = tmp_path / "backbone"
    with atomic_directory(target) as tmp:
        (tmp / "model.safetensors").write_text("previous")
    killed = (
        "import os, signal, sys\n"
        "from alien.assets.atomic import atomic_directory\n"
        "with atomic_directory(sys.argv[1]) as tmp:\n"
        "    (tmp / 'model.safetensors').write_text('half')\n"
        "    os.kill(os.getpid(), signal.SIGKILL)\n"
    )
    done = subprocess.run([sys.executable, "-c", killed, str(target)], check=False)
    assert done.returncode == -9
    leftovers = [p.name for p in tmp_path.iterdir() if p.name != "backbone"]
    assert len(leftovers) == 1 and leftovers[0].startswith(".backbone.") and leftovers[0].endswith(".tmp")
    assert remove_stale_staging(tmp_path) == [tmp_path / leftovers[0]]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["backbone"]
    assert (target / "model.safetensors").read_text() == "previous"


def test_only_staging_of_dead_processes_is_removed(tmp_path: Path) -> None:
    dead = tmp_path / f".backbone.{DEAD_PID}.abcd1234.tmp"
    legacy = tmp_path / ".backbone.q1w2e3r4.tmp"  # written before pids were recorded
    stale_file = tmp_path / f".metrics.json.{DEAD_PID}.zz00zz00.tmp"
    alive = tmp_path / f".backbone.{os.getppid()}.abcd1234.tmp"
    mine = tmp_path / f".backbone.{os.getpid()}.abcd1234.tmp"
    for folder in (dead, legacy, alive, mine):
        folder.mkdir()
    stale_file.write_text("{")
    (tmp_path / "backbone").mkdir()
    (tmp_path / ".gitignore").write_text("x")
    (tmp_path / ".backbone.notes.txt").write_text("not a staging name")
    assert remove_stale_staging(tmp_path) == sorted([dead, legacy, stale_file])
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        ["backbone", ".gitignore", ".backbone.notes.txt", alive.name, mine.name]
    )
    assert remove_stale_staging(tmp_path) == []


def test_a_swap_interrupted_after_moving_the_old_folder_aside_is_undone(tmp_path: Path) -> None:
    # the crash window of atomic_directory: the old folder moved aside, the new one not yet in place
    old = tmp_path / f".backbone.{DEAD_PID}.abcd1234.old"
    (old / "previous").mkdir(parents=True)
    (old / "previous" / "model.safetensors").write_text("previous")
    assert remove_stale_staging(tmp_path) == [old]
    assert (tmp_path / "backbone" / "model.safetensors").read_text() == "previous"
    # when the target exists the swap had finished: the old folder is just deleted
    (old / "previous").mkdir(parents=True)
    (old / "previous" / "model.safetensors").write_text("older")
    assert remove_stale_staging(tmp_path) == [old]
    assert (tmp_path / "backbone" / "model.safetensors").read_text() == "previous"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["backbone"]


def test_remove_stale_staging_argument_checks(tmp_path: Path) -> None:
    assert remove_stale_staging(tmp_path / "missing") == []
    with pytest.raises(TypeError, match="path"):
        remove_stale_staging(42)  # type: ignore[arg-type]
