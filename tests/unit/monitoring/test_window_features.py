"""Feature drift of served rows, on a real prediction log and a tiny real deployable.

The reference is the test split's features as the features stage caches them
(:func:`extract_features`); the monitor encodes the logged texts with the deployable
(:func:`deployable_featurizer`). Held-out rows of the same text distribution do not
fire; random character strings do.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from alien.core.capture import extract_features
from alien.core.model import AlienClassifier
from alien.monitoring import PredictionLog, RetrainPolicy
from alien.monitoring.session import Reference, run_monitor
from alien.monitoring.window_features import NO_TEXT, logged_features
from alien.serving.features import deployable_featurizer
from tests.tiny import tiny_texts_and_labels
from tests.unit.tracking.fixtures import deployable  # noqa: F401  (pytest fixture)

ONLY_DRIFT = RetrainPolicy(error_above_champion=None, drift=0.01, guarantee_violation=None)
TOL = 1e-6


@pytest.fixture(scope="module")
def classifier(deployable: Path) -> AlienClassifier:  # noqa: F811
    return AlienClassifier.load(deployable)


def _split() -> tuple[list[str], list[str]]:
    """300 test-split texts and 100 held-out texts of the same distribution (a random split)."""
    texts, _ = tiny_texts_and_labels(400, seed=3)
    order = np.random.default_rng(0).permutation(len(texts))
    return [texts[i] for i in order[:300]], [texts[i] for i in order[300:]]


def _gibberish(n: int) -> list[str]:
    """Random character strings: a vocabulary the model never saw used this way."""
    rng = np.random.default_rng(1)
    letters = list("abcdefghijklmnopqrstuvwxyz")
    return [
        " ".join("".join(rng.choice(letters, size=rng.integers(2, 8))) for _ in range(rng.integers(4, 9)))
        for _ in range(n)
    ]


def _cached(clf: AlienClassifier, texts: list[str]) -> np.ndarray:
    fs = extract_features(
        clf.model, clf.tokenizer, texts, [0] * len(texts), max_length=clf.max_length, progress=False
    )
    return fs.features.double().numpy()


def _serve(folder: Path, clf: AlienClassifier, texts: list[str], *, version: str, log_text: bool) -> None:
    pred = clf.predict(texts)
    rows = [
        {
            "model_name": "m",
            "model_version": version,
            "label": pred.label_strings[i],
            "u": float(pred.uncertainty[i]),
            "raw_uncertainty": float(pred.raw_uncertainty[i]),
            "abstain": bool(pred.abstain[i]),
            "text": text,
        }
        for i, text in enumerate(texts)
    ]
    with PredictionLog(folder, log_text=log_text) as log:
        log.append(rows)


def _reference(clf: AlienClassifier, deployable: Path) -> Reference:  # noqa: F811
    test, _ = _split()
    return Reference(
        features=_cached(clf, test),
        featurize=deployable_featurizer(deployable),
        feature_source="the tiny one",
    )


def test_in_distribution_rows_do_not_fire_and_shifted_rows_fire_drift_features(
    tmp_path: Path,
    classifier: AlienClassifier,
    deployable: Path,  # noqa: F811
) -> None:
    _, held_out = _split()
    log = tmp_path / "log"
    _serve(log, classifier, _gibberish(100), version="1", log_text=True)  # another version: not monitored
    _serve(log, classifier, held_out, version="2", log_text=True)
    _serve(log, classifier, _gibberish(100), version="2", log_text=True)
    out = run_monitor(
        log, target_risk=0.2, policy=ONLY_DRIFT, reference=_reference(classifier, deployable), size=100
    )
    assert out.version == "2" and [r.window for r in out.reports] == ["rows 0-99", "rows 100-199"]
    calm, shifted = (r.drift[0] for r in out.reports)
    assert (calm.name, calm.n_current, calm.n_reference) == ("features", 100, 300)
    assert calm.p_value is not None and calm.p_value > 0.01 and not calm.significant
    assert shifted.p_value is not None and shifted.p_value < 1e-6
    assert shifted.note.startswith("largest shift in principal component")
    assert [(t.window_key, t.name) for t in out.triggers] == [("2/rows 100-199", "drift_features")]
    assert "principal component" in out.triggers[0].reason
    assert "drift_features" in out.table and "(features)" in out.table
    [named] = [n for n in out.notes if n.startswith("feature drift:")]
    assert "top 8 principal components" in named and "the tiny one" in named


def test_rows_without_text_are_not_tested_and_the_notes_say_why(
    tmp_path: Path,
    classifier: AlienClassifier,
    deployable: Path,  # noqa: F811
) -> None:
    _, held_out = _split()
    _serve(tmp_path, classifier, held_out, version="2", log_text=False)
    # a featurizer that raises if used: the hash-only log must never reach it
    never = Reference(features=np.zeros((4, 32)), featurize=deployable_featurizer(tmp_path / "absent"))
    out = run_monitor(tmp_path, target_risk=0.2, policy=ONLY_DRIFT, reference=never, size=100)
    assert [r.drift for r in out.reports] == [()] and out.triggers == []
    assert NO_TEXT in out.notes
    missing = Reference(feature_note="feature drift not tested: no test-split features at x")
    out = run_monitor(tmp_path, target_risk=0.2, policy=ONLY_DRIFT, reference=missing, size=100)
    assert NO_TEXT in out.notes  # the log is the first thing to fix
    _serve(tmp_path, classifier, held_out, version="3", log_text=True)
    out = run_monitor(tmp_path, target_risk=0.2, policy=ONLY_DRIFT, reference=missing, size=100)
    assert missing.feature_note in out.notes and [r.drift for r in out.reports] == [()]


def test_the_monitors_features_are_the_cached_features_of_the_same_texts(
    classifier: AlienClassifier,
    deployable: Path,  # noqa: F811
) -> None:
    _, held_out = _split()
    texts = [held_out[0], None, held_out[1], held_out[0], None, *held_out[2:40]]
    frame = pd.DataFrame({"text": pd.Series(texts, dtype=object)})
    features, note = logged_features(
        frame, reference_features=np.zeros((2, 32)), featurize=deployable_featurizer(deployable)
    )
    assert features is not None and features.shape == (len(texts), 32)
    has_text = frame["text"].notna().to_numpy()
    assert np.isnan(features[~has_text]).all()
    kept = [t for t in texts if t is not None]
    assert np.abs(features[has_text] - _cached(classifier, kept)).max() <= TOL
    assert f"(the {len(kept)} of {len(texts)} rows that kept their text)" in note


def test_features_of_another_model_are_not_compared(deployable: Path) -> None:  # noqa: F811
    frame = pd.DataFrame({"text": ["a warm film", "a mess"]})
    features, note = logged_features(
        frame, reference_features=np.zeros((2, 16)), featurize=deployable_featurizer(deployable)
    )
    assert features is None and "32-dimensional features, the test split's have 16" in note
    assert logged_features(
        pd.DataFrame({"text": [None, None]}), reference_features=np.zeros((2, 16)), featurize=len
    ) == (None, NO_TEXT)
