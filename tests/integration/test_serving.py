"""`mlflow models serve` of a logged ALIEN model answers overlapping requests correctly.

The bug this guards: 8 clients x 25 requests gave 199 HTTP 400s ("expected BertPooler to
run once per forward, ran 6 times"). Also: a bad request is a one-line 400, not a stack trace.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import mlflow
import numpy as np
import pytest

from alien.core.model import AlienClassifier
from alien.tracking.pyfunc import log_alien_model
from alien.tracking.pyfunc_io import predictions_frame
from alien.tracking.serving import serve_argv, serving_env
from tests.integration.servers import free_port
from tests.tiny import tiny_model, tiny_texts_and_labels, tiny_tokenizer


def _post(url: str, rows: list) -> tuple[int, str]:
    body = json.dumps({"dataframe_split": {"columns": ["text"], "data": [[t] for t in rows]}}).encode()
    req = urllib.request.Request(url, body, {"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=60) as resp:
            return resp.status, resp.read().decode()
    except urllib.error.HTTPError as err:
        return err.code, err.read().decode()


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("serve")
    clf = AlienClassifier.from_model(tiny_model("bert", num_labels=3), tiny_tokenizer(), max_length=32)
    deployable = clf.save(tmp / "deployable")
    for leaked in ("MLFLOW_EXPERIMENT_ID", "MLFLOW_EXPERIMENT_NAME", "MLFLOW_RUN_ID"):
        os.environ.pop(leaked, None)  # other tests of the session may leave these behind
    mlflow.set_tracking_uri(f"sqlite:///{tmp / 'mlflow.db'}")
    experiment = mlflow.set_experiment("serving-test")
    with mlflow.start_run(experiment_id=experiment.experiment_id):
        info = log_alien_model(deployable)
    local = mlflow.artifacts.download_artifacts(info.model_uri, dst_path=str(tmp / "model"))
    port = free_port()
    log = open(tmp / "server.log", "w")  # noqa: SIM115
    server = subprocess.Popen(
        serve_argv(local, port=port), env=serving_env(), stdout=log, stderr=subprocess.STDOUT,
        start_new_session=True,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 120
    while True:
        try:
            urllib.request.urlopen(f"{url}/ping", timeout=2).close()
            break
        except OSError:
            if time.time() > deadline or server.poll() is not None:
                raise RuntimeError((tmp / "server.log").read_text()[-2000:]) from None
            time.sleep(0.5)
    yield url, clf
    os.killpg(server.pid, signal.SIGTERM)
    server.wait(timeout=30)
    log.close()


def test_concurrent_requests_all_succeed_and_equal_batch_predict(served):
    url, clf = served
    texts, _ = tiny_texts_and_labels(24)
    jobs = [texts[i % 24 : i % 24 + 1 + i % 4] for i in range(64)]
    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(pool.map(lambda rows: _post(f"{url}/invocations", rows), jobs))
    assert [status for status, _ in answers] == [200] * len(jobs)
    for rows, (_, body) in zip(jobs, answers, strict=True):
        got = json.loads(body)["predictions"]
        expected = predictions_frame(clf, rows)
        assert [g["label"] for g in got] == list(expected["label"])
        np.testing.assert_allclose([g["uncertainty"] for g in got], expected["uncertainty"], atol=1e-6)


def test_a_null_text_is_a_one_line_400(served):
    url, _ = served
    status, body = _post(f"{url}/invocations", ["fine", None])
    assert status == 400
    message = json.loads(body)["message"]
    assert "rows 1 (null)" in message and "Traceback" not in body and "site-packages" not in body
