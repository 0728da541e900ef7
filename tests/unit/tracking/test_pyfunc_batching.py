"""The served pyfunc batches concurrent requests: same frames as batch predict, errors kept apart, knobs.

The batcher itself is tested in ``tests/unit/serving``; here it is the pyfunc's
``predict`` (a DataFrame in, the served frame out, HTTP codes as MlflowException).
"""

from __future__ import annotations

import json
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pandas as pd
import pytest
import torch
from mlflow.exceptions import MlflowException

from alien.core.model import AlienClassifier
from alien.serving import BatchingOptions
from alien.tracking.pyfunc import AlienPyfuncModel
from alien.tracking.pyfunc_io import predictions_frame
from alien.tracking.serving import INFERENCE_CONFIG_ENV, ServingConfig, serving_env
from tests.tiny import tiny_model, tiny_texts_and_labels, tiny_tokenizer

CLIENTS = 16
TEXTS = [t + " with a longer tail" * (i % 3) for i, t in enumerate(tiny_texts_and_labels(32)[0])]


@pytest.fixture(scope="module")
def classifier() -> AlienClassifier:
    model = tiny_model("bert", num_labels=3)
    with torch.no_grad():  # spread the predictions so labels and u differ between texts
        model.classifier.weight.mul_(50.0)
    return AlienClassifier.from_model(model, tiny_tokenizer(), max_length=32)


def _served(classifier: AlienClassifier, config: ServingConfig | None = None) -> AlienPyfuncModel:
    model = AlienPyfuncModel(config=config)
    model.classifier, model.model_version = classifier, "7"
    return model


def _request(texts: list[str]) -> pd.DataFrame:
    return pd.DataFrame({"text": texts})


def _assert_same_frame(got: pd.DataFrame, want: pd.DataFrame) -> None:
    assert list(got.columns) == list(want.columns)
    assert got["label"].tolist() == want["label"].tolist()
    assert got["abstain"].tolist() == want["abstain"].tolist()
    for column in ("uncertainty", "raw_uncertainty"):
        assert np.abs(got[column].to_numpy() - want[column].to_numpy()).max() <= 1e-6
    assert np.abs(np.stack(got["probabilities"]) - np.stack(want["probabilities"])).max() <= 1e-6


def test_16_concurrent_clients_get_what_batch_predict_gives_and_share_forwards(classifier) -> None:
    requests = [TEXTS[i % 29 : i % 29 + 1 + i % 4] for i in range(CLIENTS * 5)]
    model = _served(classifier, ServingConfig(options=BatchingOptions(max_batch=32, max_wait_ms=5)))
    start = threading.Barrier(CLIENTS)

    def client(k: int) -> list[pd.DataFrame]:
        start.wait()
        return [model.predict(None, _request(r)) for r in requests[k::CLIENTS]]  # type: ignore[arg-type]

    with ThreadPoolExecutor(CLIENTS) as pool:
        answers = list(pool.map(client, range(CLIENTS)))
    for k, answer in enumerate(answers):
        for got, texts in zip(answer, requests[k::CLIENTS], strict=True):
            _assert_same_frame(got, predictions_frame(classifier, texts, model_version="7"))
            assert got["model_version"].tolist() == ["7"] * len(texts)
    stats = model._engine().batcher.stats()
    assert stats.requests == len(requests) and stats.calls < len(requests)  # forwards were shared
    model.close()


def test_a_request_the_model_fails_on_is_a_500_and_its_batchmates_succeed(classifier, monkeypatch) -> None:
    poison = "this row breaks the model"
    predict, release, calls = classifier.predict, threading.Event(), []

    def flaky(inputs, *, batch_size=32):
        calls.append(list(inputs))
        if len(calls) == 1:
            release.wait(10)  # hold the worker until the requests under test are queued
        if poison in inputs:
            raise ValueError("the model failed on a row")
        return predict(inputs, batch_size=batch_size)

    requests = [TEXTS[:2], [TEXTS[2], poison], TEXTS[3:6]]
    expected = {i: predictions_frame(classifier, requests[i], model_version="7") for i in (0, 2)}
    model = _served(classifier)
    monkeypatch.setattr(classifier, "predict", flaky)
    with ThreadPoolExecutor(4) as pool:
        warm = pool.submit(model.predict, None, _request(TEXTS[6:7]))
        futures = []
        for i, texts in enumerate(requests):
            while not calls or model._engine().batcher.queued < i:
                threading.Event().wait(0.001)
            futures.append(pool.submit(model.predict, None, _request(texts)))
        while model._engine().batcher.queued < len(requests):
            threading.Event().wait(0.001)
        release.set()
        warm.result(10)
        for i in (0, 2):
            _assert_same_frame(futures[i].result(10), expected[i])
        with pytest.raises(MlflowException) as err:
            futures[1].result(10)
    assert err.value.get_http_status_code() == 500 and "breaks" not in err.value.message
    assert calls[1] == [t for r in requests for t in r], "the three requests were not batched together"
    model.close()


def test_batching_off_predicts_directly_with_the_same_frame(classifier) -> None:
    model = _served(classifier, ServingConfig(batching=False))
    got = model.predict(None, _request(TEXTS[:5]))  # type: ignore[arg-type]
    _assert_same_frame(got, predictions_frame(classifier, TEXTS[:5], model_version="7"))
    assert model._predictor is None and model._engine() is classifier


def test_a_full_queue_is_a_503(classifier, monkeypatch) -> None:
    from alien.serving import QueueFullError

    model = _served(classifier)

    def full(*args, **kwargs):
        raise QueueFullError("1 requests already waiting (max_queue=1); retry later")

    monkeypatch.setattr(model._engine(), "predict", full)
    with pytest.raises(MlflowException, match="server busy") as err:
        model.predict(None, _request(["a text"]))  # type: ignore[arg-type]
    assert err.value.get_http_status_code() == 503
    model.close()


def test_the_config_is_flat_partial_and_checked() -> None:
    flat = ServingConfig().to_model_config()
    assert flat == {
        "batch_size": 32, "batching": True, "model_version": "",
        "max_batch": 32, "max_wait_ms": 5.0, "max_queue": 1024,
    }  # fmt: skip
    assert ServingConfig.from_model_config(flat) == ServingConfig()
    old = ServingConfig.from_model_config({"batch_size": 8})  # a model logged before batching
    assert (old.batch_size, old.batching, old.options) == (8, True, BatchingOptions())
    tuned = ServingConfig.from_model_config({"max_wait_ms": 2, "batching": False, "model_version": 4})
    assert (tuned.options.max_wait_ms, tuned.batching, tuned.model_version) == (2.0, False, "4")
    with pytest.raises(ValueError, match=r"unknown serving option\(s\) \['max_wiat_ms'\]"):
        ServingConfig.from_model_config({"max_wiat_ms": 2})
    with pytest.raises(ValueError, match="max_batch must be >= 1"):
        ServingConfig.from_model_config({"max_batch": 0})
    with pytest.raises(TypeError, match="batching must be true or false"):
        ServingConfig.from_model_config({"batching": "no"})
    with pytest.raises(ValueError, match="batch_size"):
        AlienPyfuncModel(batch_size=0)


def test_serving_env_passes_overrides_as_mlflows_inference_config() -> None:
    env = serving_env({"PATH": "/usr/bin"}, overrides={"max_wait_ms": 2, "batching": False})
    assert json.loads(env[INFERENCE_CONFIG_ENV]) == {"max_wait_ms": 2, "batching": False}
    assert INFERENCE_CONFIG_ENV not in serving_env({"PATH": "/usr/bin"})
    with pytest.raises(ValueError, match="unknown serving option"):
        serving_env({}, overrides={"workers": 4})
