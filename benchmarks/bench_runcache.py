"""A reverted parameter under the Prefect runner's skip check: finetune.seed 42 -> 43 -> 42 on the tiny project.

Runs fetch..evaluate three times through :func:`alien.pipeline.incremental.run_incremental` (what each
Prefect task does) in a tiny git + DVC project (tests/project.py), changing only ``finetune.seed``.
The third run should restore finetune and everything after it from DVC's run-cache, as ``dvc repro``
does. gate and register are left out: they read the live registry and run every time under either
runner. Prints each run's seconds and what each stage did; writes ``benchmarks/results/runcache.json``.

    python benchmarks/bench_runcache.py             # the tiny project (seconds)
    python benchmarks/bench_runcache.py --default   # a clone of this repo at HEAD, default params (minutes)
    python benchmarks/bench_runcache.py --cli       # the same clone through `alien run` itself (minutes)

``--default`` runs the same three configurations on the shipped defaults (TREC, MiniLM), where
fine-tuning dominates a run as it does for users; it writes ``runcache_default.json``.
``--cli`` times the whole command a user runs, ``alien run --no-push`` (pre-flight, the temporary
Prefect server, every stage including gate and register), three times in that clone; each run's
stage seconds come from its summary. It writes ``runcache_cli.json``.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from alien.config import load_params  # noqa: E402
from alien.pipeline.incremental import run_incremental  # noqa: E402
from alien.pipeline.table import STAGES, stage_runner  # noqa: E402
from tests.project import make_tiny_project, write_params  # noqa: E402

SEEDS = (42, 43, 42)
OFFLINE = [s for s in STAGES if not s.live]  # fetch..evaluate


def one_run(root: Path, seed: int, *, default: bool = False) -> dict[str, Any]:
    params_file = _set_seed(root, seed) if default else write_params(root, finetune={"seed": seed})
    params = load_params(params_file)
    start, stages = time.perf_counter(), {}
    for stage in OFFLINE:
        runner = stage_runner(stage.name)
        outcome = run_incremental(
            stage.name,
            functools.partial(runner, params, root=root, params_file=params_file),
            root=root,
            params_file=params_file,
            always=stage.always_changed,
        )
        did = "restored" if outcome.restored else "skipped" if outcome.skipped else "ran"
        stages[stage.name] = {"did": did, "seconds": outcome.seconds}
    return {"seed": seed, "seconds": round(time.perf_counter() - start, 2), "stages": stages}


def _set_seed(root: Path, seed: int) -> Path:
    """The project's own params.yaml with only ``finetune.seed`` changed (comments kept)."""
    path = root / "params.yaml"
    text = path.read_text()
    at = text.index("\nfinetune:")
    key = text.index("  seed: ", at)
    end = text.index("\n", key)
    path.write_text(f"{text[:key]}  seed: {seed}{text[end:]}")
    return path


def cli_run(root: Path, seed: int) -> dict[str, Any]:
    """``alien run --no-push`` with ``finetune.seed`` = ``seed``: wall seconds and each stage's, from the summary."""
    _set_seed(root, seed)
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    for name in ("PREFECT_API_URL", "MLFLOW_TRACKING_URI"):  # a temporary server, the project's registry
        env.pop(name, None)
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "flows.cli", "run", "--no-push"],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
    )
    seconds = round(time.perf_counter() - start, 2)
    if done.returncode:
        raise RuntimeError(f"alien run failed ({done.returncode}):\n{done.stderr[-3000:]}")
    rows = re.findall(r"^\| (\w+) \| ([^|]+) \| ([0-9.]+) \|$", done.stdout + done.stderr, flags=re.M)
    stages = {name: {"did": did.strip(), "seconds": float(s)} for name, did, s in rows}
    outside = round(seconds - sum(s["seconds"] for s in stages.values()), 2)
    return {"seed": seed, "seconds": seconds, "outside_stages_s": outside, "stages": stages}


def _project(folder: Path, default: bool) -> Path:
    if not default:
        return make_tiny_project(folder / "project")
    subprocess.run(["git", "clone", "-q", str(ROOT), str(folder / "project")], check=True)
    return folder / "project"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--default", action="store_true", help="a clone of this repo with its default params")
    parser.add_argument("--cli", action="store_true", help="time `alien run` itself in a clone of this repo")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as folder:
        root = _project(Path(folder), args.default or args.cli)
        if args.cli:  # this venv's python, the clone's code (``-m`` puts the clone first on sys.path)
            runs = [cli_run(root, seed) for seed in SEEDS]
        else:
            with contextlib.chdir(root):
                runs = [one_run(root, seed, default=args.default) for seed in SEEDS]
    for run in runs:
        did = ", ".join(f"{name} {s['did']} {s['seconds']}s" for name, s in run["stages"].items())
        outside = f", outside the stages {run['outside_stages_s']} s" if args.cli else ""
        print(f"finetune.seed={run['seed']}: {run['seconds']} s  ({did}{outside})")
    ratio = runs[2]["seconds"] / runs[0]["seconds"]
    print(f"third run / first run: {ratio:.1%} (target <= 15%)")
    name = "runcache_cli.json" if args.cli else "runcache_default.json" if args.default else "runcache.json"
    out = ROOT / "benchmarks" / "results" / name
    out.write_text(json.dumps({"runs": runs, "third_over_first": round(ratio, 3)}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
