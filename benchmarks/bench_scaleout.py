"""Scale-out targets (issue 12), side by side in one run, on the tiny project of the tests.

1. Sweep: ``cells`` tiny configs (fetch → evaluate, one seed each) through ``flows.sweep``,
   sequential (one thread) vs a 2-worker Dask LocalCluster (one thread each); the ratio, and
   whether every metric is equal.
2. No-op nightly run (unchanged data): ``alien run`` with the ephemeral server (what a cron job
   without a server does today) vs triggering the deployment on a running ``prefect server``
   with a process worker polling every second: the time from trigger to finished.

    python benchmarks/bench_scaleout.py [--cells 4] [--repeats 3] [--skip-sweep]

Writes ``benchmarks/results/scaleout.json`` (``--skip-sweep`` keeps the sweep numbers already there).
The no-op nightly's goal is issue 20's: at most 10 s from trigger to finished through the deployment.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from flows.sweep import run_config, run_sweep  # noqa: E402
from tests.integration import commands  # noqa: E402
from tests.integration.servers import free_port, server_env, start, wait_http  # noqa: E402
from tests.project import make_tiny_project  # noqa: E402

STAGES = ("fetch", "prepare", "finetune", "features", "align", "evaluate")


def _cells(root: Path, runner: str, n: int) -> list[dict[str, Any]]:
    base = yaml.safe_load((root / "params.yaml").read_text())
    out = []
    for seed in range(42, 42 + n):
        params = json.loads(json.dumps(base))
        for section in ("data", "finetune", "align"):
            params[section]["seed"] = seed
        # torch's OneCycleLR divides by zero when warm-up fraction x total steps is exactly 1
        # (0.1 x 5 epochs x 2 steps, which some seeds give); 0.15 x 5k steps never is
        params["align"]["warmup_fraction"] = 0.15
        out.append({"params": params, "workdir": str(root / runner / f"s{seed}"), "stages": STAGES})
    return out


def _written(cell: dict[str, Any]) -> dict[str, Any]:
    paths = cell["params"]["paths"]
    return {k: json.loads((Path(cell["workdir"]) / paths[k]).read_text()) for k in ("metrics", "grid")}


def bench_sweep(tmp: Path, n: int) -> dict[str, Any]:
    root = make_tiny_project(tmp / "sweep", dvc=False)
    seconds, written = {}, {}
    for runner, options in (("sequential", {}), ("dask", {"workers": 2})):
        cells = _cells(root, runner, n)
        start_s = time.perf_counter()
        run_sweep(run_config, cells, runner=runner, **options)  # type: ignore[arg-type]
        seconds[runner] = round(time.perf_counter() - start_s, 1)
        written[runner] = [_written(c) for c in cells]
    return {
        "cells": n,
        "sequential_s": seconds["sequential"],
        "dask_2_workers_s": seconds["dask"],
        "dask_over_sequential": round(seconds["dask"] / seconds["sequential"], 3),
        "results_equal": written["dask"] == written["sequential"],
    }


def _wait_final(client: Any, run_id: Any) -> tuple[Any, float]:
    while True:
        run = client.read_flow_run(run_id)
        if run.state is not None and run.state.is_final():
            return run, time.perf_counter()
        time.sleep(0.1)


def _run(argv: list[str], cwd: Path, env: dict[str, str]) -> None:
    subprocess.run(argv, cwd=cwd, env=env, check=True, capture_output=True, text=True)


def bench_nightly(tmp: Path, api: dict[str, str], repeats: int) -> dict[str, Any]:
    from prefect.client.orchestration import get_client

    root = make_tiny_project(tmp / "nightly")
    # today: no server, a cold ephemeral one per run (the first run trains, untimed)
    ephemeral = server_env(PREFECT_HOME=str(tmp / "ephemeral-home"))
    ephemeral.pop("PREFECT_API_URL", None)
    cli = [sys.executable, "-m", "flows.cli", "--params", "params.yaml", "run", "--no-push"]
    _run(cli, root, ephemeral)
    today = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        _run(cli, root, ephemeral)
        today.append(time.perf_counter() - t0)
    _run(commands.create_work_pool(), root, server_env(**api))
    _run(commands.deploy_nightly(params="params.yaml"), root, server_env(**api))
    worker = start(commands.prefect_worker(), log=tmp / "worker.log", url="", cwd=root, **api,
                   PREFECT_WORKER_QUERY_SECONDS="1")  # fmt: skip
    try:
        with get_client(sync_client=True) as client:
            deployment = client.read_deployment_by_name(f"retrain/{commands.DEPLOYMENT}")
            deployed, picked, body = [], [], []
            for _ in range(repeats):
                t0 = time.perf_counter()
                flow_run = client.create_flow_run_from_deployment(deployment.id)
                finished, t1 = _wait_final(client, flow_run.id)
                if finished.state.type.value != "COMPLETED":
                    raise RuntimeError(f"nightly run ended {finished.state.name}:\n{worker.log_tail()}")
                deployed.append(t1 - t0)
                picked.append((finished.start_time - finished.created).total_seconds())
                body.append(finished.total_run_time.total_seconds())
    finally:
        worker.stop()
    median = lambda xs: round(statistics.median(xs), 2)  # noqa: E731
    return {
        "repeats": repeats,
        "ephemeral_alien_run_noop_s": median(today),
        "deployment_trigger_to_finished_s": median(deployed),
        "of_which_created_to_running_s": median(picked),
        "of_which_flow_body_s": median(body),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--cells", type=int, default=4, help="sweep cells (one seed each)")
    parser.add_argument("--repeats", type=int, default=3, help="timed no-op nightly runs (median)")
    parser.add_argument("--skip-sweep", action="store_true", help="measure the no-op nightly run only")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="alien-scaleout-") as name:
        tmp = Path(name)
        port = free_port()
        api = {"PREFECT_API_URL": f"http://127.0.0.1:{port}/api", "PREFECT_HOME": str(tmp / "client-home")}
        server = start(commands.prefect_server(host="127.0.0.1", port=port), log=tmp / "server.log",
                       url=f"http://127.0.0.1:{port}", PREFECT_HOME=str(tmp / "server-home"))  # fmt: skip
        try:
            wait_http(server, "/api/health")
            # this process, its Dask workers and the worker all talk to the running server
            os.environ.update({**api, "PREFECT_LOGGING_TO_API_ENABLED": "false"})
            from prefect.settings import PREFECT_API_URL, PREFECT_LOGGING_TO_API_ENABLED, temporary_settings

            with temporary_settings(
                {PREFECT_API_URL: api["PREFECT_API_URL"], PREFECT_LOGGING_TO_API_ENABLED: False}
            ):
                sweep = None if args.skip_sweep else bench_sweep(tmp, args.cells)
                nightly = bench_nightly(tmp, api, args.repeats)
        finally:
            server.stop()
    print(f"{'':44s}{'sequential / today':>20s}{'scaled out':>14s}{'ratio':>9s}")
    if sweep is not None:
        print(
            f"{'sweep, ' + str(sweep['cells']) + ' tiny cells (s)':44s}{sweep['sequential_s']:>20.1f}"
            f"{sweep['dask_2_workers_s']:>14.1f}{sweep['dask_over_sequential']:>9.3f}"
            f"   results equal: {sweep['results_equal']}"
        )
    e, d = nightly["ephemeral_alien_run_noop_s"], nightly["deployment_trigger_to_finished_s"]
    print(
        f"{'no-op nightly, trigger to finished (s)':44s}{e:>20.2f}{d:>14.2f}{d / e:>9.3f}"
        f"   (queue+start {nightly['of_which_created_to_running_s']:.2f} s, flow {nightly['of_which_flow_body_s']:.2f} s;"
        f" goal <= 10 s)"
    )
    out = ROOT / "benchmarks" / "results"
    out.mkdir(parents=True, exist_ok=True)
    path = out / "scaleout.json"
    kept = json.loads(path.read_text()) if sweep is None and path.is_file() else {}
    written = {"sweep": sweep if sweep is not None else kept.get("sweep"), "nightly": nightly}
    path.write_text(json.dumps(written, indent=2) + "\n")


if __name__ == "__main__":
    main()
