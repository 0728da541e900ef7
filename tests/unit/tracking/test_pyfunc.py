"""The pyfunc wrapper's input checks and output layout (no MLflow store needed)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from alien.model import AlienClassifier
from alien.tracking.pyfunc import AlienPyfuncModel, predictions_frame
from tests.tiny import tiny_model, tiny_tokenizer


def test_token_model_gives_one_value_per_word() -> None:
    classifier = AlienClassifier.from_model(
        tiny_model("bert-token", num_labels=3), tiny_tokenizer(), max_length=32,
        label_names=["O", "B-X", "I-X"], task="token-classification",
    )  # fmt: skip
    out = predictions_frame(classifier, ["a warm film", "boring"])
    assert [len(labels) for labels in out["label"]] == [3, 1]
    expected = classifier.predict([["a", "warm", "film"], ["boring"]])
    np.testing.assert_allclose(out["uncertainty"][0] + out["uncertainty"][1], expected.uncertainty, atol=1e-6)
    assert all(len(p) == 3 for row in out["probabilities"] for p in row)


def test_predict_requires_a_text_column() -> None:
    model = AlienPyfuncModel()
    with pytest.raises(ValueError, match="'text' column; got \\['sentence'\\]"):
        model.predict(None, pd.DataFrame({"sentence": ["x"]}))  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="batch_size"):
        AlienPyfuncModel(batch_size=0)
