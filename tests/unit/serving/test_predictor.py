"""BatchedPredictor on tiny real models: batched serving gives what batch predict gives.

Equality is |Δu| <= 1e-6 and identical labels (issue 20); it holds because padding
texts of other lengths next to a text does not change its outputs, checked first.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
import torch

from alien.calibration import make_calibrator
from alien.core.abstention import AbstentionRule
from alien.core.model import AlienClassifier
from alien.core.prediction import Prediction
from alien.serving import BatchedPredictor, BatcherClosedError, BatchingOptions
from tests.tiny import tiny_model, tiny_texts_and_labels, tiny_tokenizer

TOL = 1e-6
CLIENTS = 16
TEXTS, _ = tiny_texts_and_labels(40)
# lengths from 3 to ~40 tokens, so batches mix very different paddings
TEXTS = [t + " and a much longer tail of words" * (i % 4) for i, t in enumerate(TEXTS)]


def _classifier(family: str = "bert") -> AlienClassifier:
    """A tiny classifier whose head, calibration map and abstention rule all do something."""
    task = "token-classification" if family == "bert-token" else "sequence-classification"
    tok = tiny_tokenizer(padding_side="left" if family == "llama" else "right")
    clf = AlienClassifier.from_model(tiny_model(family, num_labels=3), tok, max_length=48, task=task)
    torch.manual_seed(1)
    with torch.no_grad():
        for p in clf.head.parameters():
            p.add_(torch.randn_like(p))
    # A map of moderate slope, fitted on spread-out u: a near-step map fitted on the tiny model's
    # narrow u range would amplify float rounding (|Δg| <= slope * |Δu|).
    spread = np.linspace(0.05, 0.95, 40)
    clf.calibrator = make_calibrator("platt").fit(spread, np.random.default_rng(0).random(40) < spread)
    u = clf.predict(_inputs(clf, TEXTS)).raw_uncertainty
    clf.abstention = AbstentionRule(float(np.median(clf.calibrator(u))), 0.1, 0.1, len(u), 0.5, "validation")
    return clf


def _inputs(clf: AlienClassifier, texts: list[str]) -> list[str] | list[list[str]]:
    return [t.split() for t in texts] if clf.task == "token-classification" else texts


def _assert_same(got: Prediction, want: Prediction) -> None:
    assert np.array_equal(got.labels, want.labels)
    assert np.abs(got.uncertainty - want.uncertainty).max() <= TOL
    assert np.abs(got.raw_uncertainty - want.raw_uncertainty).max() <= TOL
    assert np.abs(got.probabilities - want.probabilities).max() <= TOL
    assert np.array_equal(got.abstain, want.abstain)
    assert got.label_names == want.label_names
    for ids in ("example_ids", "word_ids"):
        a, b = getattr(got, ids), getattr(want, ids)
        assert (a is None and b is None) or np.array_equal(a, b)


@pytest.mark.parametrize("family", ["bert", "roberta", "electra", "distilbert", "llama", "bert-token"])
def test_padding_next_to_longer_texts_does_not_change_a_texts_outputs(family):
    clf = _classifier(family)
    inputs = _inputs(clf, TEXTS)
    together = clf.predict(inputs, batch_size=len(inputs))
    alone = [clf.predict([x], batch_size=1) for x in inputs]
    assert np.array_equal(together.labels, np.concatenate([a.labels for a in alone]))
    raw_alone = np.concatenate([a.raw_uncertainty for a in alone])
    assert np.abs(together.raw_uncertainty - raw_alone).max() <= TOL


def _requests(n: int) -> list[list[str]]:
    """``n`` requests of 1-4 texts each, cycling through TEXTS."""
    out, start = [], 0
    for i in range(n):
        size = 1 + (i * 7) % 4
        out.append([TEXTS[(start + j) % len(TEXTS)] for j in range(size)])
        start += size
    return out


@pytest.mark.parametrize("family", ["bert", "bert-token"])
def test_batched_equals_batch_predict_under_16_concurrent_clients(family):
    clf = _classifier(family)
    requests = [_inputs(clf, r) for r in _requests(CLIENTS * 6)]
    expected = [clf.predict(r) for r in requests]
    start = threading.Barrier(CLIENTS)

    def client(k: int) -> list[Prediction]:
        start.wait()
        return [predictor.predict(r) for r in requests[k::CLIENTS]]

    options = BatchingOptions(max_batch=16, max_wait_ms=5)
    with BatchedPredictor(clf, options=options) as predictor, ThreadPoolExecutor(CLIENTS) as pool:
        answers = list(pool.map(client, range(CLIENTS)))
        stats = predictor.batcher.stats()
    for k, answer in enumerate(answers):
        for got, want in zip(answer, expected[k::CLIENTS], strict=True):
            _assert_same(got, want)
    # forward passes were shared, and every request went through exactly once
    assert stats.calls < len(requests)
    assert stats.requests == len(requests) and stats.failed_batches == 0
    assert stats.items == sum(len(r) for r in requests)


def test_a_request_with_a_bad_row_fails_alone_and_its_batchmates_succeed(monkeypatch):
    """The model itself fails on one row (as a tokenizer or device fault would), mid-batch."""
    clf = _classifier()
    poison = "this row breaks the model"
    predict, release, calls = clf.predict, threading.Event(), []

    def flaky_predict(inputs, *, batch_size=32):
        calls.append(list(inputs))
        if len(calls) == 1:
            release.wait(10)  # hold the worker until the requests under test are queued
        if poison in inputs:
            raise ValueError("the model failed on a row")
        return predict(inputs, batch_size=batch_size)

    monkeypatch.setattr(clf, "predict", flaky_predict)
    requests = [TEXTS[:2], [TEXTS[2], poison], TEXTS[3:6]]
    with BatchedPredictor(clf) as predictor, ThreadPoolExecutor(4) as pool:
        warm = pool.submit(predictor.predict, TEXTS[6:7])
        futures = []
        for i, request in enumerate(requests):
            while len(calls) < 1 or predictor.batcher.queued < i:
                threading.Event().wait(0.001)
            futures.append(pool.submit(predictor.predict, request))
        while predictor.batcher.queued < len(requests):
            threading.Event().wait(0.001)
        release.set()
        _assert_same(warm.result(10), predict(TEXTS[6:7]))
        _assert_same(futures[0].result(10), predict(requests[0]))
        _assert_same(futures[2].result(10), predict(requests[2]))
        with pytest.raises(ValueError, match="the model failed on a row"):
            futures[1].result(10)
    assert calls[1] == [t for r in requests for t in r], "the three requests were not batched together"
    assert calls[2:] == requests


def test_bad_input_is_refused_in_the_callers_thread_before_batching():
    with BatchedPredictor(_classifier()) as predictor:
        with pytest.raises(TypeError, match="single string"):
            predictor.predict("one text")
        with pytest.raises(TypeError, match="input 1 must be a string"):
            predictor.predict(["fine", 3])
        with pytest.raises(ValueError, match="no inputs"):
            predictor.predict([])
        with pytest.raises(ValueError, match="batch_size must be >= 1, got 0"):
            predictor.predict(["fine"], batch_size=0)
        assert predictor.batcher.stats().calls == 0


def test_classifier_and_options_are_checked_and_a_closed_predictor_refuses():
    with pytest.raises(TypeError, match="classifier must be an AlienClassifier, got object"):
        BatchedPredictor(object())
    with pytest.raises(TypeError, match="options must be BatchingOptions, got dict"):
        BatchedPredictor(_classifier(), options={"max_batch": 4})
    predictor = BatchedPredictor(_classifier())
    predictor.close()
    with pytest.raises(BatcherClosedError):
        predictor.predict(["a text"])


def test_it_drops_in_for_the_classifier_in_the_served_output_frame():
    from alien.tracking.pyfunc_io import predictions_frame

    clf = _classifier()
    with BatchedPredictor(clf, options=BatchingOptions(max_batch=4)) as predictor:
        served = predictions_frame(predictor, TEXTS[:9], batch_size=32)
        assert (predictor.task, predictor.label_names) == (clf.task, clf.label_names)
    want = predictions_frame(clf, TEXTS[:9])
    assert served["label"].tolist() == want["label"].tolist()
    assert np.abs(served["uncertainty"].to_numpy() - want["uncertainty"].to_numpy()).max() <= TOL
