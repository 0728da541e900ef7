"""Serving under concurrent load: `mlflow models serve` of the deployable model on 127.0.0.1.

For 1, 2, 8 and 16 concurrent clients x 50 requests each (1-4 texts per request) it
prints errors, p50/p95/p99 latency, throughput, and the largest difference between
what the server answered and a batch prediction of the same texts in-process
(labels must match exactly, uncertainties to 1e-6).

    python benchmarks/bench_serving.py                      # models/deployable if present, else a tiny BERT
    python benchmarks/bench_serving.py --model-dir DIR --requests 50
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

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


def _deployable(model_dir: str | None, tmp: Path) -> Path:
    if model_dir:
        return Path(model_dir)
    if (ROOT / "models" / "deployable" / "alien.json").is_file():
        return ROOT / "models" / "deployable"
    from alien.core.model import AlienClassifier
    from tests.tiny import tiny_model, tiny_tokenizer

    clf = AlienClassifier.from_model(tiny_model("bert", num_labels=2), tiny_tokenizer(), max_length=32)
    return clf.save(tmp / "tiny-deployable")


def _logged_model(deployable: Path, tmp: Path) -> Path:
    import mlflow

    from alien.tracking.pyfunc import log_alien_model

    mlflow.set_tracking_uri(f"sqlite:///{tmp / 'mlflow.db'}")
    with mlflow.start_run():
        info = log_alien_model(deployable)
    return Path(mlflow.artifacts.download_artifacts(info.model_uri, dst_path=str(tmp / "served")))


def _post(url: str, texts: list[str]) -> tuple[float, int, dict | str]:
    body = json.dumps({"dataframe_split": {"columns": ["text"], "data": [[t] for t in texts]}}).encode()
    request = urllib.request.Request(url, body, {"Content-Type": "application/json"})
    start = time.perf_counter()
    try:
        with urllib.request.urlopen(request, timeout=120) as response:
            return time.perf_counter() - start, response.status, json.loads(response.read())
    except urllib.error.HTTPError as err:
        return time.perf_counter() - start, err.code, err.read().decode()[:200]


def _wait(url: str, server: subprocess.Popen, timeout: float = 120) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"the server exited with {server.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            time.sleep(0.5)
    raise TimeoutError(f"{url} did not answer in {timeout} s")


def run(model_dir: str | None, requests: int, levels: list[int], port: int) -> int:
    from alien.core.model import AlienClassifier
    from alien.tracking.pyfunc_io import predictions_frame
    from alien.tracking.serving import serve_argv, serving_env

    with tempfile.TemporaryDirectory(prefix="alien-serve-") as name:
        tmp = Path(name)
        deployable = _deployable(model_dir, tmp)
        served = _logged_model(deployable, tmp)
        expected = predictions_frame(AlienClassifier.load(deployable), TEXTS)
        log = open(tmp / "server.log", "w")  # noqa: SIM115
        server = subprocess.Popen(
            serve_argv(str(served), port=port), env=serving_env(), stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
        try:
            _wait(f"http://127.0.0.1:{port}/ping", server)
            print(f"model: {deployable}  server: mlflow models serve, 1 worker, 127.0.0.1:{port}")
            header = f"{'clients':>7} {'requests':>8} {'errors':>6} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'req/s':>7} {'max|du|':>9} {'labels':>7}"
            print(header)
            worst = 0
            for clients in levels:
                worst += _level(f"http://127.0.0.1:{port}/invocations", clients, requests, expected)
        finally:
            import signal

            os.killpg(server.pid, signal.SIGTERM)
            server.wait(timeout=30)
            log.close()
    return 1 if worst else 0


def _level(url: str, clients: int, requests: int, expected) -> int:
    jobs = [
        [(c * requests + r + k) % len(TEXTS) for k in range(1 + (c + r) % 4)]
        for c in range(clients)
        for r in range(requests)
    ]
    start = time.perf_counter()
    with ThreadPoolExecutor(max_workers=clients) as pool:
        results = list(pool.map(lambda idx: (idx, _post(url, [TEXTS[i] for i in idx])), jobs))
    wall = time.perf_counter() - start
    latencies = np.array([r[1][0] for r in results]) * 1000
    errors = sum(1 for r in results if r[1][1] != 200)
    max_du, labels_ok = 0.0, True
    for idx, (_, status, body) in results:
        if status != 200:
            continue
        got = body["predictions"]
        for row, i in zip(got, idx, strict=True):
            max_du = max(max_du, abs(row["uncertainty"] - float(expected["uncertainty"][i])))
            labels_ok &= row["label"] == expected["label"][i] and row["abstain"] == bool(
                expected["abstain"][i]
            )
    p50, p95, p99 = np.percentile(latencies, [50, 95, 99])
    print(
        f"{clients:>7} {len(jobs):>8} {errors:>6} {p50:>8.1f} {p95:>8.1f} {p99:>8.1f} "
        f"{len(jobs) / wall:>7.1f} {max_du:>9.2e} {'same' if labels_ok else 'DIFF':>7}"
    )
    return int(errors > 0 or max_du > 1e-6 or not labels_ok)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--model-dir", default=None)
    parser.add_argument("--requests", type=int, default=50, help="requests per client")
    parser.add_argument("--clients", default="1,2,8,16")
    parser.add_argument("--port", type=int, default=5055)
    args = parser.parse_args()
    sys.exit(run(args.model_dir, args.requests, [int(c) for c in args.clients.split(",")], args.port))


if __name__ == "__main__":
    main()
