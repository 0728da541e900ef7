"""Serving under concurrent load: `mlflow models serve` of the deployable model on 127.0.0.1.

For 1, 2, 8 and 16 concurrent clients x 50 requests each (1-4 texts per request) it
measures texts/s, p50/p95/p99 latency and errors, and checks that what the server
answered equals a batch prediction of the same texts in-process (labels exactly,
uncertainties to 1e-6). It serves the same logged model three times in one run: without
micro-batching (every request its own forward: before), with it (after), and with it and
the prediction log on (mode ``logged``: ``ALIEN_MONITOR_LOG`` set to a fresh folder, the
only difference from ``batched``), and measures ``offline_texts_per_s``: the same model on
the same texts, batched in-process. It writes benchmarks/results/serving.json and prints
issue 20's targets next to the results, and issue 19's for the log (``log_overhead``:
latency with the log over latency without at each level, errors, and every answered text
logged once). The three servers are up at once and each level runs ``--rounds`` times (3),
every mode once per round; the numbers are the medians over rounds: one round's p50 moved
by about as much as the log's 5% budget between modes that differ in nothing measurable.

    python benchmarks/bench_serving.py                       # models/deployable if present, else a tiny BERT
    python benchmarks/bench_serving.py --backbone package:minilm   # an untrained head on a real backbone
    python benchmarks/bench_serving.py --model-dir DIR --modes batched --max-wait-ms 2
    python benchmarks/bench_serving.py --modes batched,logged   # the prediction log's cost

With the tiny BERT a forward costs less than the HTTP round trip, so its ratio to
offline measures the server, not batching: use the default model (after `make run`)
or ``--backbone`` for numbers that mean something.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

TEXTS = [
    "a gripping, beautifully shot film", "I wanted my two hours back", "what is the capital of peru ?",
    "who wrote hamlet ?", "an uneven but heartfelt debut", "free entry in a weekly competition",
    "the plot is thin and the jokes are stale", "how many feet are in a mile ?",
]  # fmt: skip
TREC_LABELS = ["ABBR", "DESC", "ENTY", "HUM", "LOC", "NUM"]
MODES = {"unbatched": {"batching": False}, "batched": {"batching": True}, "logged": {"batching": True}}
LOGGED = "logged"  # batched, with the prediction log on (the only difference from "batched")
WARM_UP = 3  # requests of WARM_UP_TEXTS per server before timing
WARM_UP_TEXTS = TEXTS[:2]


def _deployable(args: argparse.Namespace, tmp: Path) -> tuple[Path, str]:
    """The model to serve and how to name it."""
    from alien.core.model import AlienClassifier

    if args.model_dir:
        return Path(args.model_dir), str(args.model_dir)
    if args.backbone:
        from alien.backbones.loading import load_backbone

        model, tok = load_backbone(args.backbone, task="sequence-classification", label_names=TREC_LABELS)
        clf = AlienClassifier.from_model(model, tok, max_length=64)
        return clf.save(tmp / "backbone-deployable"), f"{args.backbone} (untrained head, max_length 64)"
    if (ROOT / "models" / "deployable" / "alien.json").is_file():
        return ROOT / "models" / "deployable", "models/deployable"
    from tests.tiny import tiny_model, tiny_tokenizer

    clf = AlienClassifier.from_model(tiny_model("bert", num_labels=2), tiny_tokenizer(), max_length=32)
    return clf.save(tmp / "tiny-deployable"), "tiny BERT (tests.tiny; the ratio to offline is not meaningful)"


def _logged_model(deployable: Path, tmp: Path) -> Path:
    import mlflow

    from alien.tracking.pyfunc import log_alien_model

    mlflow.set_tracking_uri(f"sqlite:///{tmp / 'mlflow.db'}")
    with mlflow.start_run():
        info = log_alien_model(deployable)
    return Path(mlflow.artifacts.download_artifacts(info.model_uri, dst_path=str(tmp / "served")))


def _jobs(clients: int, requests: int) -> list[list[int]]:
    """Each request's text indices: 1-4 texts, a different mix per client and request."""
    return [
        [(c * requests + r + k) % len(TEXTS) for k in range(1 + (c + r) % 4)]
        for c in range(clients)
        for r in range(requests)
    ]


def _offline(deployable: Path, count: int, batch_size: int) -> float:
    """Texts/s of the same model on the same texts, batched in-process (best of 3, after a warm-up)."""
    from alien.core.model import AlienClassifier

    clf = AlienClassifier.load(deployable)
    texts = [TEXTS[i % len(TEXTS)] for i in range(count)]
    clf.predict(texts[:batch_size], batch_size=batch_size)
    walls, cpu = [], []
    for _ in range(3):
        start, start_cpu = time.perf_counter(), time.process_time()
        clf.predict(texts, batch_size=batch_size)
        walls.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    OFFLINE_CPU_MS_PER_TEXT.append(1000 * min(cpu) / count)
    return count / min(walls)


OFFLINE_CPU_MS_PER_TEXT: list[float] = []  # CPU time per text of the offline run (set by _offline)


def _tree_cpu(pid: int) -> float:
    """CPU seconds (user + system) used so far by process ``pid`` and its children."""
    import psutil

    total = 0.0
    root = psutil.Process(pid)
    for proc in [root, *root.children(recursive=True)]:
        with contextlib.suppress(psutil.NoSuchProcess):
            times = proc.cpu_times()
            total += times.user + times.system
    return total


def _post(url: str, texts: list[str]) -> tuple[float, int, Any]:
    body = json.dumps({"dataframe_split": {"columns": ["text"], "data": [[t] for t in texts]}}).encode()
    request = urllib.request.Request(url, body, {"Content-Type": "application/json"})
    start = time.perf_counter()
    try:
        with urllib.request.urlopen(request, timeout=120) as response:
            return time.perf_counter() - start, response.status, json.loads(response.read())
    except urllib.error.HTTPError as err:
        return time.perf_counter() - start, err.code, err.read().decode()[:200]
    except OSError as err:
        return time.perf_counter() - start, 0, str(err)


def _start(
    served: Path,
    port: int,
    overrides: dict[str, Any],
    log_path: Path,
    prediction_log: Path | None = None,
    workers: int = 1,
) -> subprocess.Popen:
    from alien.tracking.prediction_log import LOG_ENV
    from alien.tracking.serving import serve_argv, serving_env

    env = serving_env(overrides=overrides)
    env.pop(LOG_ENV, None)  # the log is on only where asked for, whatever this shell has
    if prediction_log is not None:
        env[LOG_ENV] = str(prediction_log)
    log = log_path.open("w")
    server = subprocess.Popen(
        serve_argv(str(served), port=port, workers=workers),
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    log.close()
    deadline = time.time() + 180
    while time.time() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"the server exited with {server.returncode}:\n{log_path.read_text()[-2000:]}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/ping", timeout=2):
                return server
        except OSError:
            time.sleep(0.5)
    _stop(server)
    raise TimeoutError(f"the server did not answer in 180 s:\n{log_path.read_text()[-2000:]}")


def _stop(server: subprocess.Popen) -> None:
    """Stop the server's whole process group (mlflow and its uvicorn) and wait until it is gone."""
    os.killpg(server.pid, signal.SIGTERM)
    server.wait(timeout=30)
    deadline = time.time() + 30
    while time.time() < deadline:
        try:
            os.killpg(server.pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.2)
    os.killpg(server.pid, signal.SIGKILL)


def _level(url: str, clients: int, requests: int, expected: Any, server_pid: int) -> dict[str, Any]:
    jobs = _jobs(clients, requests)
    server_cpu, client_cpu = _tree_cpu(server_pid), time.process_time()
    start = time.perf_counter()
    with ThreadPoolExecutor(max_workers=clients) as pool:
        results = list(pool.map(lambda idx: (idx, _post(url, [TEXTS[i] for i in idx])), jobs))
    wall = time.perf_counter() - start
    server_cpu, client_cpu = _tree_cpu(server_pid) - server_cpu, time.process_time() - client_cpu
    latencies = np.array([r[1][0] for r in results]) * 1000
    max_du, labels_ok = 0.0, True
    for idx, (_, status, body) in results:
        if status != 200:
            continue
        for row, i in zip(body["predictions"], idx, strict=True):
            max_du = max(max_du, abs(row["uncertainty"] - float(expected["uncertainty"][i])))
            labels_ok &= row["label"] == expected["label"][i] and row["abstain"] == bool(
                expected["abstain"][i]
            )
    p50, p95, p99 = np.percentile(latencies, [50, 95, 99])
    failed = [r[1] for r in results if r[1][1] != 200]
    return {
        "texts": (texts := sum(len(idx) for idx, r in results if r[1] == 200)),
        "texts_per_s": round(texts / wall, 2),
        "p50_ms": round(float(p50), 1),
        "p95_ms": round(float(p95), 1),
        "p99_ms": round(float(p99), 1),
        "errors": len(failed),
        **({"first_error": f"HTTP {failed[0][1]}: {failed[0][2]}"[:200]} if failed else {}),
        "requests": len(jobs),
        "requests_per_s": round(len(jobs) / wall, 2),
        "max_abs_du": float(f"{max_du:.3g}"),
        "labels_same": bool(labels_ok),
        # where the 2 cores went: the server's CPU per answered text, and the clients' share
        "server_cpu_ms_per_text": round(1000 * server_cpu / max(texts, 1), 3),
        "client_cpu_share": round(client_cpu / (client_cpu + server_cpu), 3),
    }


def _servers(served: Path, args: argparse.Namespace, tmp: Path) -> dict[str, tuple[subprocess.Popen, str]]:
    """One warmed-up server per mode, each on its own port, all up at once."""
    servers: dict[str, tuple[subprocess.Popen, str]] = {}
    try:
        for i, mode in enumerate(args.modes):
            overrides = {**MODES[mode], "max_batch": args.max_batch, "max_wait_ms": args.max_wait_ms}
            log = tmp / f"server-{mode}.log"
            prediction_log = tmp / "prediction-log" if mode == LOGGED else None
            server = _start(served, args.port + i, overrides, log, prediction_log, args.workers)
            servers[mode] = server, f"http://127.0.0.1:{args.port + i}/invocations"
            for _ in range(WARM_UP):  # warm-up: the first forwards and the batcher's thread
                if _post(servers[mode][1], WARM_UP_TEXTS)[1] != 200:
                    raise RuntimeError(f"{mode} warm-up failed:\n{log.read_text()[-2000:]}")
    except BaseException:
        for server, _ in servers.values():
            _stop(server)
        raise
    return servers


def _serve_levels(
    served: Path, args: argparse.Namespace, expected: Any, tmp: Path
) -> dict[str, dict[str, Any]]:
    """Each level for every mode back to back, so a change in the machine's load hits both alike."""
    servers = _servers(served, args, tmp)
    print(f"{'mode':>9} {'clients':>7} {'texts/s':>8} {'req/s':>7} {'errors':>6} {'p50 ms':>8} {'p95 ms':>8} "
          f"{'p99 ms':>8} {'max|du|':>9} {'labels':>7}")  # fmt: skip
    rounds: dict[str, dict[str, list[dict[str, Any]]]] = {mode: {} for mode in args.modes}
    try:
        for clients in args.clients:
            for _ in range(args.rounds):  # every mode once per round: a load change hits each alike
                for mode, (server, url) in servers.items():
                    row = _level(url, clients, args.requests, expected, server.pid)
                    rounds[mode].setdefault(str(clients), []).append(row)
                    print(
                        f"{mode:>9} {clients:>7} {row['texts_per_s']:>8.1f} {row['requests_per_s']:>7.1f} "
                        f"{row['errors']:>6} {row['p50_ms']:>8.1f} {row['p95_ms']:>8.1f} {row['p99_ms']:>8.1f} "
                        f"{row['max_abs_du']:>9.2e} {'same' if row['labels_same'] else 'DIFF':>7}"
                    )
    finally:
        for server, _ in servers.values():
            _stop(server)
    return {mode: {c: _median_row(rows) for c, rows in by.items()} for mode, by in rounds.items()}


def _median_row(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """One level over its rounds: the median of each rate and latency, every error, the worst output."""
    out = dict(rows[0])
    for key in ("texts_per_s", "requests_per_s", "p50_ms", "p95_ms", "p99_ms", "server_cpu_ms_per_text",
                "client_cpu_share"):  # fmt: skip
        out[key] = round(float(np.median([r[key] for r in rows])), 2)
    out["texts"] = sum(r["texts"] for r in rows)
    out["requests"] = sum(r["requests"] for r in rows)
    out["errors"] = sum(r["errors"] for r in rows)
    out["max_abs_du"] = max(r["max_abs_du"] for r in rows)
    out["labels_same"] = all(r["labels_same"] for r in rows)
    out["rounds"] = len(rows)
    return out


def _logged_rows(folder: Path) -> int:
    from alien.monitoring import read_log

    return len(read_log(folder)) if folder.is_dir() else 0


def log_overhead(
    without: dict[str, dict[str, Any]], logged: dict[str, dict[str, Any]], rows: int | None
) -> dict[str, Any]:
    """The log's cost: latency with it over latency without it at each level, and what it kept."""
    per_level = {}
    for clients in sorted(set(without) & set(logged), key=int):
        a, b = without[clients], logged[clients]
        per_level[clients] = {
            f"{q}_overhead": round(b[f"{q}_ms"] / a[f"{q}_ms"] - 1.0, 4) for q in ("p50", "p95", "p99")
        } | {"errors": b["errors"], "texts_per_s_ratio": round(b["texts_per_s"] / a["texts_per_s"], 4)}
    answered = sum(level["texts"] for level in logged.values()) + WARM_UP * len(WARM_UP_TEXTS)
    return {"clients": per_level, "logged_rows": rows, "texts_answered": answered}


def targets(result: dict[str, Any]) -> list[tuple[str, str, str, bool]]:
    """Issue 20's serving targets and, with mode ``logged``, issue 19's: (what, measured, goal, met)."""
    offline, after = result["offline_texts_per_s"], result.get("clients", {})
    before = result.get("unbatched", {}).get("clients", {})
    out = []
    if "16" in after:
        top = after["16"]
        ratio = top["texts_per_s"] / offline
        out.append(("16 clients: texts/s / offline", f"{top['texts_per_s']:.1f} / {offline:.1f} = {ratio:.2f}",
                    ">= 0.80", ratio >= 0.8))  # fmt: skip
        out.append(("16 clients: errors", str(top["errors"]), "0", top["errors"] == 0))
        out.append(("16 clients: p95", f"{top['p95_ms']:.0f} ms", "<= 1000 ms", top["p95_ms"] <= 1000))
    if "1" in after and "1" in before:
        delta = after["1"]["p50_ms"] - before["1"]["p50_ms"]
        out.append(("1 client: p50 batched vs unbatched",
                    f"{after['1']['p50_ms']:.1f} vs {before['1']['p50_ms']:.1f} ms ({delta:+.1f})",
                    "<= +10 ms", delta <= 10))  # fmt: skip
    rows = [*after.values(), *before.values()]
    if rows:
        du = max(r["max_abs_du"] for r in rows)
        same = all(r["labels_same"] for r in rows)
        out.append(("served = batch predict (all levels)", f"max|du| {du:.1e}, labels {'same' if same else 'DIFF'}",
                    "<= 1e-6, same", du <= 1e-6 and same))  # fmt: skip
    return out + _log_targets(result.get("log_overhead"))


def _log_targets(overhead: dict[str, Any] | None) -> list[tuple[str, str, str, bool]]:
    if not overhead:
        return []
    out, levels = [], overhead["clients"]
    if "8" in levels:
        p50 = levels["8"]["p50_overhead"]
        out.append(("log: 8 clients p50 latency overhead", f"{p50:+.1%}", "<= +5%", p50 <= 0.05))
    if "16" in levels:
        errors = levels["16"]["errors"]
        out.append(("log: 16 clients errors", str(errors), "0", errors == 0))
    if overhead["logged_rows"] is not None:
        rows, sent = overhead["logged_rows"], overhead["texts_answered"]
        out.append(("log: rows logged = texts answered", f"{rows} / {sent}", "equal", rows == sent))
    return out


def run(args: argparse.Namespace) -> int:
    import torch

    from alien.core.model import AlienClassifier
    from alien.tracking.pyfunc_io import predictions_frame

    with tempfile.TemporaryDirectory(prefix="alien-serve-") as name:
        tmp = Path(name)
        deployable, described = _deployable(args, tmp)
        served = _logged_model(deployable, tmp)
        expected = predictions_frame(AlienClassifier.load(deployable), TEXTS)
        offline = _offline(deployable, args.offline_texts, args.max_batch)
        print(f"model: {described}\nserver: mlflow models serve, {args.workers} worker(s), 127.0.0.1:{args.port}+; "
              f"{os.cpu_count()} cores, torch {torch.get_num_threads()} threads")  # fmt: skip
        print(f"offline (in-process, batches of {args.max_batch}): {offline:.1f} texts/s")
        load = os.getloadavg()[0]
        levels = _serve_levels(served, args, expected, tmp)
        logged_rows = _logged_rows(tmp / "prediction-log") if LOGGED in levels else None
    result: dict[str, Any] = {"offline_texts_per_s": round(offline, 2)}
    for mode, per_level in levels.items():
        if mode == "batched":
            result["clients"] = per_level
        else:
            result[mode] = {"clients": per_level}
    if "batched" in levels and LOGGED in levels:
        result["log_overhead"] = log_overhead(levels["batched"], levels[LOGGED], logged_rows)
    result["setup"] = {
        "model": described, "texts_per_request": "1-4", "requests_per_client": args.requests,
        "max_batch": args.max_batch, "max_wait_ms": args.max_wait_ms, "workers": 1,
        "cpu_count": os.cpu_count(), "torch_threads": torch.get_num_threads(), "python": platform.python_version(),
        "load_average_1min": [round(load, 2), round(os.getloadavg()[0], 2)],
    }  # fmt: skip
    if "clients" in result:  # why served texts/s fall short of offline: CPU per text, and who used it
        result["cpu"] = {
            "offline_ms_per_text": round(OFFLINE_CPU_MS_PER_TEXT[-1], 3),
            "served_ms_per_text": {c: r["server_cpu_ms_per_text"] for c, r in result["clients"].items()},
            "client_share": {c: r["client_cpu_share"] for c, r in result["clients"].items()},
        }
        cpu = result["cpu"]
        print(f"\nCPU per text: offline {cpu['offline_ms_per_text']:.2f} ms; served (batched), by clients: "
              + ", ".join(f"{c}: {ms:.2f} ms" for c, ms in cpu["served_ms_per_text"].items())
              + "; the clients' share of the CPU used: "
              + ", ".join(f"{c}: {x:.0%}" for c, x in cpu["client_share"].items()))  # fmt: skip
    checks = targets(result)
    result["targets"] = [{"what": w, "measured": m, "goal": g, "met": ok} for w, m, g, ok in checks]
    print(f"\n{'target':<38} {'measured':<34} {'goal':<14} met")
    for what, measured, goal, ok in checks:
        print(f"{what:<38} {measured:<34} {goal:<14} {'yes' if ok else 'MISS'}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {args.out}")
    rows = [r for mode in levels.values() for r in mode.values()]
    return int(any(r["errors"] or r["max_abs_du"] > 1e-6 or not r["labels_same"] for r in rows))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--model-dir", default=None, help="a deployable folder (default: models/deployable)")
    parser.add_argument("--backbone", default=None, help="serve an untrained head on this backbone instead")
    parser.add_argument("--requests", type=int, default=50, help="requests per client")
    parser.add_argument(
        "--rounds", type=int, default=3, help="each level this many times per mode, interleaved (median)"
    )
    parser.add_argument("--clients", default="1,2,8,16", type=lambda s: [int(c) for c in s.split(",")])
    parser.add_argument("--modes", default="unbatched,batched,logged", type=lambda s: s.split(","),
                        help="serve without micro-batching, with it, and with it and the prediction log "
                             "(servers up together, levels interleaved)")  # fmt: skip
    parser.add_argument("--workers", type=int, default=1, help="server worker processes (each batches alone)")
    parser.add_argument("--max-batch", type=int, default=32)
    parser.add_argument("--max-wait-ms", type=float, default=5.0)
    parser.add_argument("--offline-texts", type=int, default=320, help="texts timed in-process")
    parser.add_argument("--port", type=int, default=5055)
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "serving.json")
    args = parser.parse_args()
    unknown = sorted(set(args.modes) - set(MODES))
    if unknown:
        parser.error(f"unknown mode(s) {unknown}; known: {sorted(MODES)}")
    sys.exit(run(args))


if __name__ == "__main__":
    main()
