"""served_features on tiny real models: the features the head reads, as the features stage caches them."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from alien.core.capture import extract_features
from alien.core.model import AlienClassifier
from alien.serving.features import deployable_featurizer, served_features
from tests.tiny import tiny_model, tiny_texts_and_labels, tiny_tokenizer

TOL = 1e-6
TEXTS, LABELS = tiny_texts_and_labels(30)
# very different lengths, so batches pad some texts a lot
TEXTS = [t + " and then some more words" * (i % 3) for i, t in enumerate(TEXTS)]


def _classifier(family: str = "bert") -> AlienClassifier:
    tok = tiny_tokenizer(padding_side="left" if family == "llama" else "right")
    return AlienClassifier.from_model(tiny_model(family), tok, max_length=24)


def _cached(clf: AlienClassifier, texts: list[str]) -> np.ndarray:
    """What the features stage writes for these texts (labels do not change the features)."""
    fs = extract_features(clf.model, clf.tokenizer, texts, [0] * len(texts), max_length=24, progress=False)
    return fs.features.double().numpy()


@pytest.mark.parametrize("family", ["bert", "llama"])
def test_served_features_equal_the_cached_features_of_the_same_texts(family: str) -> None:
    clf = _classifier(family)
    want = _cached(clf, TEXTS)
    got = served_features(clf, TEXTS, batch_size=7)  # other batch mates, other padding
    assert got.shape == (len(TEXTS), 32) and got.dtype == np.float64
    assert np.abs(got - want).max() <= TOL
    assert np.abs(got[::-1] - served_features(clf, TEXTS[::-1])).max() <= TOL  # row i is text i
    # and they are what the head reads: its u from them is the u predict serves
    with torch.inference_mode():
        u = clf.head(torch.from_numpy(got).float()).double().numpy()
    assert np.abs(u - clf.predict(TEXTS).raw_uncertainty).max() <= TOL


def test_served_features_refuse_what_they_cannot_encode() -> None:
    clf = _classifier()
    with pytest.raises(ValueError, match="batch_size"):
        served_features(clf, TEXTS, batch_size=0)
    with pytest.raises(ValueError, match="no inputs"):
        served_features(clf, [])
    with pytest.raises(TypeError, match="input 1 must be a string"):
        served_features(clf, ["fine", 3])  # type: ignore[list-item]
    with pytest.raises(TypeError, match="AlienClassifier"):
        served_features(clf.model, TEXTS)  # type: ignore[arg-type]
    token = AlienClassifier.from_model(
        tiny_model("bert-token"), tiny_tokenizer(), max_length=24, task="token-classification"
    )
    with pytest.raises(ValueError, match="sequence-classification"):
        served_features(token, TEXTS)


def test_the_deployable_featurizer_loads_on_first_call_only(tmp_path: Path) -> None:
    featurize = deployable_featurizer(tmp_path / "not-yet")  # nothing there: no error until used
    clf = _classifier()
    clf.save(tmp_path / "not-yet")
    assert np.abs(featurize(TEXTS[:5]) - _cached(clf, TEXTS[:5])).max() <= TOL
    with pytest.raises(FileNotFoundError, match="AlienClassifier folder"):
        deployable_featurizer(tmp_path / "missing")(TEXTS[:1])
