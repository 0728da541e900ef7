"""Feature capture is per call: concurrent forwards on one shared model never mix features.

The serving bug this guards against: a hook added per call on the shared pooler fired for
every overlapping forward ("expected BertPooler to run once per forward, ran 6 times").
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from alien.core.model import AlienClassifier
from tests.tiny import tiny_model, tiny_texts_and_labels, tiny_tokenizer


@pytest.mark.parametrize("family", ["bert", "roberta", "llama"])
def test_concurrent_predictions_equal_sequential(family):
    model = tiny_model(family, num_labels=3)
    tok = tiny_tokenizer(padding_side="left" if family == "llama" else "right")
    clf = AlienClassifier.from_model(model, tok, max_length=32)
    texts, _ = tiny_texts_and_labels(24)
    requests = [texts[i : i + 1 + i % 5] for i in range(len(texts))]
    sequential = [clf.predict(r) for r in requests]

    with ThreadPoolExecutor(max_workers=8) as pool:
        for _ in range(3):
            concurrent = list(pool.map(clf.predict, requests))
            for seq, con in zip(sequential, concurrent, strict=True):
                np.testing.assert_array_equal(seq.labels, con.labels)
                np.testing.assert_allclose(seq.uncertainty, con.uncertainty, atol=1e-6)
                np.testing.assert_allclose(seq.probabilities, con.probabilities, atol=1e-6)


def test_one_persistent_hook_however_many_calls():
    model = tiny_model("bert", num_labels=2)
    clf = AlienClassifier.from_model(model, tiny_tokenizer(), max_length=32)
    tap = clf._spec.tap
    for _ in range(3):
        clf.predict(["a short text", "another one"])
    assert len(tap._forward_pre_hooks) == 1
