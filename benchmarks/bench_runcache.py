"""A reverted parameter under the Prefect runner's skip check: finetune.seed 42 -> 43 -> 42 on the tiny project.

Runs fetch..evaluate three times through :func:`alien.pipeline.incremental.run_incremental` (what each
Prefect task does) in a tiny git + DVC project (tests/project.py), changing only ``finetune.seed``.
The third run should restore finetune and everything after it from DVC's run-cache, as ``dvc repro``
does. gate and register are left out: they read the live registry and run every time under either
runner. Prints each run's seconds and what each stage did; writes ``benchmarks/results/runcache.json``.

    python benchmarks/bench_runcache.py             # the tiny project (seconds)
    python benchmarks/bench_runcache.py --default   # a clone of this repo at HEAD, default params (minutes)

``--default`` runs the same three configurations on the shipped defaults (TREC, MiniLM), where
fine-tuning dominates a run as it does for users; it writes ``runcache_default.json``.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import json
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
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as folder:
        root = _project(Path(folder), args.default)
        with contextlib.chdir(root):
            runs = [one_run(root, seed, default=args.default) for seed in SEEDS]
    for run in runs:
        did = ", ".join(f"{name} {s['did']} {s['seconds']}s" for name, s in run["stages"].items())
        print(f"finetune.seed={run['seed']}: {run['seconds']} s  ({did})")
    ratio = runs[2]["seconds"] / runs[0]["seconds"]
    print(f"third run / first run: {ratio:.1%} (target <= 15%)")
    out = ROOT / "benchmarks" / "results" / ("runcache_default.json" if args.default else "runcache.json")
    out.write_text(json.dumps({"runs": runs, "third_over_first": round(ratio, 3)}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
