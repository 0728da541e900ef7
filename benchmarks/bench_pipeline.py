"""Wall time of the default pipeline under each runner, side by side, and of a no-op re-run.

Clones the committed repository twice into a temp folder (same inputs, same venv, warm
package caches), runs ``dvc repro`` in one and the Prefect flow (``alien run``) in the other,
then re-runs each with nothing changed. Prints the times and the Prefect/DVC ratio, and writes
``benchmarks/results/pipeline.json``.

    python benchmarks/bench_pipeline.py
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def _timed(cmd: list[str], cwd: Path) -> float:
    env = {
        **os.environ,
        "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}",
        "DVC_NO_ANALYTICS": "1",
        "MLFLOW_DISABLE_TELEMETRY": "true",
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "120",
    }
    env.pop("MLFLOW_TRACKING_URI", None)
    start = time.perf_counter()
    subprocess.run(cmd, cwd=cwd, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return round(time.perf_counter() - start, 1)


def main() -> None:
    results = {}
    with tempfile.TemporaryDirectory(prefix="alien-bench-") as tmp:
        for runner, cmd in (
            ("dvc repro", [str(BIN / "dvc"), "repro"]),
            ("prefect flow", [str(BIN / "alien"), "run"]),
        ):
            clone = Path(tmp) / runner.replace(" ", "-")
            subprocess.run(["git", "clone", "-q", str(ROOT), str(clone)], check=True)
            results[runner] = {"first_run_s": _timed(cmd, clone), "noop_rerun_s": _timed(cmd, clone)}
            print(runner, results[runner], flush=True)
    ratio = results["prefect flow"]["first_run_s"] / results["dvc repro"]["first_run_s"]
    results["prefect_over_dvc"] = round(ratio, 3)
    print(
        f"Prefect flow / dvc repro wall time: {ratio:.3f} (orchestration overhead {100 * (ratio - 1):+.1f}%)"
    )
    out = ROOT / "benchmarks" / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / "pipeline.json").write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
