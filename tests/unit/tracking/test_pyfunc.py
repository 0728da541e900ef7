"""The pyfunc wrapper's input checks and output layout (no MLflow store needed)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from alien.core.entities import bio_spans
from alien.core.model import AlienClassifier
from alien.tracking.pyfunc import AlienPyfuncModel, model_signature, predictions_frame
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
    from mlflow.exceptions import MlflowException

    model = AlienPyfuncModel()
    with pytest.raises(MlflowException, match="'text' column; got \\['sentence'\\]") as err:
        model.predict(None, pd.DataFrame({"sentence": ["x"]}))  # type: ignore[arg-type]
    assert err.value.get_http_status_code() == 400
    with pytest.raises(ValueError, match="batch_size"):
        AlienPyfuncModel(batch_size=0)


def test_bio_token_model_adds_entities_with_max_word_uncertainty() -> None:
    tags = ["O", "B-loc", "I-loc", "B-per", "I-per"]
    classifier = AlienClassifier.from_model(
        tiny_model("bert-token", num_labels=len(tags), seed=3), tiny_tokenizer(), max_length=8,
        label_names=tags, task="token-classification",
    )  # fmt: skip
    texts = ["a warm funny film", "one of the best movies of the year"]
    out = predictions_frame(classifier, texts)
    assert len(out["label"][1]) < 8  # truncated: only surviving words get a row
    found = 0
    for row in range(len(texts)):
        words = texts[row].split()
        labels, u = out["label"][row], out["uncertainty"][row]
        expected = [
            {"text": " ".join(words[s : e + 1]), "type": k, "start_word": s, "end_word": e,
             "uncertainty": max(u[s : e + 1])}
            for k, s, e in bio_spans(labels)
        ]  # fmt: skip
        assert out["entities"][row] == expected
        found += len(expected)
    assert found > 0


def test_non_bio_token_model_has_no_entities_column() -> None:
    classifier = AlienClassifier.from_model(
        tiny_model("bert-token", num_labels=2), tiny_tokenizer(), max_length=16,
        label_names=["NOUN", "VERB"], task="token-classification",
    )  # fmt: skip
    assert "entities" not in predictions_frame(classifier, ["a warm film"]).columns


def test_signature_lists_entities_only_for_bio_taggers() -> None:
    assert "entities" in model_signature("token-classification", entities=True).outputs.input_names()
    assert "entities" not in model_signature("token-classification").outputs.input_names()
    assert model_signature("sequence-classification").outputs.input_names() == [
        "label", "label_id", "probabilities", "uncertainty", "raw_uncertainty", "abstain", "model_version",
    ]  # fmt: skip
