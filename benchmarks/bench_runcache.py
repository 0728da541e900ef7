"""A reverted parameter under the Prefect runner's skip check: finetune.seed 42 -> 43 -> 42 on the tiny project.

Runs fetch..evaluate three times through :func:`alien.pipeline.incremental.run_incremental` (what each
Prefect task does) in a tiny git + DVC project (tests/project.py), changing only ``finetune.seed``.
The third run should restore finetune and everything after it from DVC's run-cache, as ``dvc repro``
does. gate and register are left out: they read the live registry and run every time under either
runner. Prints each run's seconds and what each stage did; writes ``benchmarks/results/runcache.json``.

    python benchmarks/bench_runcache.py
"""

from __future__ import annotations

import contextlib
import functools
import json
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


def one_run(root: Path, seed: int) -> dict[str, Any]:
    params_file = write_params(root, finetune={"seed": seed})
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


def main() -> int:
    with tempfile.TemporaryDirectory() as folder:
        root = make_tiny_project(Path(folder) / "project")
        with contextlib.chdir(root):
            runs = [one_run(root, seed) for seed in SEEDS]
    for run in runs:
        did = ", ".join(f"{name} {s['did']} {s['seconds']}s" for name, s in run["stages"].items())
        print(f"finetune.seed={run['seed']}: {run['seconds']} s  ({did})")
    ratio = runs[2]["seconds"] / runs[0]["seconds"]
    print(f"third run / first run: {ratio:.1%} (target <= 15%)")
    out = ROOT / "benchmarks" / "results" / "runcache.json"
    out.write_text(json.dumps({"runs": runs, "third_over_first": round(ratio, 3)}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
