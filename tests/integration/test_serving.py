"""`mlflow models serve` of a registered ALIEN model: concurrent requests batched, rows like `alien predict`.

The bug this guards: 8 clients x 25 requests gave 199 HTTP 400s ("expected BertPooler to
run once per forward, ran 6 times"). Now 16 clients share forward passes (micro-batching)
and get what a batch predict gives; a request with a bad row fails alone; a bad request is
a one-line 400, not a stack trace; and every row names the served version as
``alien predict`` does (issue 17, finding 7): the server is started on ``models:/…@champion``.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

from alien.config import RegistryConfig
from alien.core.model import AlienClassifier
from alien.tracking.pyfunc_io import predictions_frame
from alien.tracking.serving import serve_argv, serving_env
from flows.cli import main as cli
from tests.integration.servers import free_port
from tests.tiny import tiny_texts_and_labels
from tests.unit.tracking.fixtures import (  # noqa: F401  (pytest fixtures)
    EXPERIMENT,
    MODEL_NAME,
    TEXTS,
    deployable,
    run_register,
    write_workspace,
)

CLIENTS = 16


def _post(url: str, rows: list) -> tuple[int, str]:
    body = json.dumps({"dataframe_split": {"columns": ["text"], "data": [[t] for t in rows]}}).encode()
    req = urllib.request.Request(url, body, {"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=60) as resp:
            return resp.status, resp.read().decode()
    except urllib.error.HTTPError as err:
        return err.code, err.read().decode()


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory, deployable: Path) -> Iterator[tuple[Path, str]]:  # noqa: F811
    """A project folder whose sqlite registry holds version 1 as the champion; ``(root, uri)``."""
    root = tmp_path_factory.mktemp("serve")
    uri = f"sqlite:///{root / 'mlflow.db'}"
    saved = {
        k: os.environ.pop(k, None)
        for k in ("MLFLOW_EXPERIMENT_ID", "MLFLOW_EXPERIMENT_NAME", "MLFLOW_RUN_ID")
    }
    saved["MLFLOW_TRACKING_URI"] = os.environ.get("MLFLOW_TRACKING_URI")
    os.environ["MLFLOW_TRACKING_URI"] = uri
    cwd = Path.cwd()
    os.chdir(root)
    try:
        paths = write_workspace(root, deployable, passed=True)
        cfg = RegistryConfig(model_name=MODEL_NAME, experiment=EXPERIMENT, tracking_uri=uri)
        assert run_register(cfg, paths, root=root).version == "1"
    finally:
        os.chdir(cwd)
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    yield root, uri


@pytest.fixture(scope="module")
def served(workspace: tuple[Path, str], deployable: Path) -> Iterator[tuple[str, AlienClassifier]]:  # noqa: F811
    """``mlflow models serve -m models:/alien-test@champion`` (batching on: the logged default)."""
    root, uri = workspace
    port = free_port()
    log = open(root / "server.log", "w")  # noqa: SIM115
    server = subprocess.Popen(
        serve_argv(f"models:/{MODEL_NAME}@champion", port=port), env={**serving_env(), "MLFLOW_TRACKING_URI": uri},
        stdout=log, stderr=subprocess.STDOUT, start_new_session=True, cwd=root,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 180
    while True:
        try:
            urllib.request.urlopen(f"{url}/ping", timeout=2).close()
            break
        except OSError:
            if time.time() > deadline or server.poll() is not None:
                raise RuntimeError((root / "server.log").read_text()[-2000:]) from None
            time.sleep(0.5)
    yield url, AlienClassifier.load(deployable)
    os.killpg(server.pid, signal.SIGTERM)
    server.wait(timeout=30)
    log.close()


def test_16_concurrent_clients_get_batch_predict_outputs_and_a_bad_row_fails_alone(served):
    url, clf = served
    texts, _ = tiny_texts_and_labels(24)
    jobs = [texts[i % 24 : i % 24 + 1 + i % 4] for i in range(CLIENTS * 6)]
    bad = {i for i in range(len(jobs)) if i % 5 == 2}
    for i in bad:  # a null row: refused before it can join a batch
        jobs[i] = [*jobs[i], None]
    with ThreadPoolExecutor(max_workers=CLIENTS) as pool:
        answers = list(pool.map(lambda rows: _post(f"{url}/invocations", rows), jobs))
    assert [status for status, _ in answers] == [400 if i in bad else 200 for i in range(len(jobs))]
    for i, (rows, (_, body)) in enumerate(zip(jobs, answers, strict=True)):
        if i in bad:
            assert f"rows {len(rows) - 1} (null)" in json.loads(body)["message"]
            continue
        got = json.loads(body)["predictions"]
        expected = predictions_frame(clf, rows)
        assert [g["label"] for g in got] == list(expected["label"])
        np.testing.assert_allclose([g["uncertainty"] for g in got], expected["uncertainty"], atol=1e-6)
        assert {g["model_version"] for g in got} == {"1"}


def test_served_rows_equal_alien_predict_column_by_column(served, workspace, monkeypatch, capsys):
    url, _ = served
    root, uri = workspace
    status, body = _post(f"{url}/invocations", TEXTS)
    assert status == 200
    got = json.loads(body)["predictions"]
    monkeypatch.chdir(root)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    (root / "texts.txt").write_text("\n".join(TEXTS) + "\n")
    assert cli(["predict", "texts.txt"]) == 0
    printed = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [p.pop("text") for p in printed] == TEXTS
    for row, line in zip(got, printed, strict=True):
        assert set(line) <= set(row), (
            f"`alien predict` prints columns the server does not: {set(line) - set(row)}"
        )
        for column, value in line.items():
            if isinstance(value, float):  # the CLI rounds to 6 decimals
                assert abs(row[column] - value) <= 1e-6, column
            else:
                assert row[column] == value, column


def test_a_null_text_is_a_one_line_400(served):
    url, _ = served
    status, body = _post(f"{url}/invocations", ["fine", None])
    assert status == 400
    message = json.loads(body)["message"]
    assert "rows 1 (null)" in message and "Traceback" not in body and "site-packages" not in body
