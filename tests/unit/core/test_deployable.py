"""The deployable folder keeps the calibration map and the abstention rule across save/load."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from alien.calibration import make_calibrator
from alien.core.abstention import AbstentionRule
from alien.core.deployable import CALIBRATION_FILE, read_calibration, read_metadata
from alien.core.model import AlienClassifier
from tests.tiny import tiny_model, tiny_texts_and_labels, tiny_tokenizer


@pytest.fixture(scope="module")
def texts():
    return tiny_texts_and_labels(20)[0]


def _calibrated(texts):
    clf = AlienClassifier.from_model(tiny_model("bert", num_labels=2), tiny_tokenizer(), max_length=32)
    raw = clf.predict(texts).raw_uncertainty
    errors = (np.arange(len(raw)) % 3 == 0).astype(int)
    g = make_calibrator("platt").fit(raw, errors)
    threshold = float(np.median(g(raw)))
    rule = AbstentionRule(threshold, 0.1, 0.1, len(raw), 0.5, "validation")
    return AlienClassifier(
        clf.model,
        clf.tokenizer,
        clf.head,
        label_names=clf.label_names,
        max_length=32,
        calibrator=g,
        abstention=rule,
    )


def test_uncertainty_is_the_map_of_the_raw_head_and_abstain_follows_the_rule(texts):
    clf = _calibrated(texts)
    pred = clf.predict(texts)
    np.testing.assert_allclose(pred.uncertainty, clf.calibrator(pred.raw_uncertainty))
    np.testing.assert_array_equal(pred.abstain, pred.uncertainty > clf.abstention.threshold)
    assert not np.array_equal(pred.uncertainty, pred.raw_uncertainty)  # the map did something


def test_save_load_round_trip_is_exact(tmp_path, texts):
    clf = _calibrated(texts)
    before = clf.predict(texts)
    clf.save(tmp_path / "m")
    loaded = AlienClassifier.load(tmp_path / "m")
    after = loaded.predict(texts)
    np.testing.assert_array_equal(before.uncertainty, after.uncertainty)
    np.testing.assert_array_equal(before.abstain, after.abstain)
    assert loaded.abstention == clf.abstention
    assert json.loads((tmp_path / "m" / CALIBRATION_FILE).read_text())["calibrator"]["name"] == "platt"


def test_without_calibration_uncertainty_is_raw_and_nothing_abstains(tmp_path, texts):
    clf = AlienClassifier.from_model(tiny_model("bert", num_labels=2), tiny_tokenizer(), max_length=32)
    clf.save(tmp_path / "m")
    assert read_calibration(tmp_path / "m") == (None, None)
    pred = AlienClassifier.load(tmp_path / "m").predict(texts)
    np.testing.assert_array_equal(pred.uncertainty, pred.raw_uncertainty)
    assert not pred.abstain.any()


def test_abstain_everything_rule_survives_json():
    rule = AbstentionRule(-math.inf, 0.05, 0.1, 10, 0.0, "validation")
    assert AbstentionRule.from_dict(json.loads(json.dumps(rule.to_dict()))) == rule
    assert rule.abstain(np.array([0.0, 0.5])).all()


def test_bad_metadata_is_named(tmp_path):
    (tmp_path / "alien.json").write_text('{"format_version": 99}')
    with pytest.raises(ValueError, match="format_version 99"):
        read_metadata(tmp_path)
    (tmp_path / "alien.json").write_text("{oops")
    with pytest.raises(ValueError, match="not valid JSON"):
        read_metadata(tmp_path)


def test_fit_calibration_controls_risk_on_held_out_rows():
    from alien.core.calibrate import fit_calibration

    rng = np.random.default_rng(0)
    p = rng.beta(1.0, 4.0, 3000)
    e = (rng.random(3000) < p).astype(int)
    raw = np.sqrt(p)  # monotone in the truth, miscalibrated
    g, rule = fit_calibration(raw, e, method="platt", target_risk=0.1, delta=0.1, split="validation")
    assert g is not None and np.all(np.diff(g(np.sort(raw))) >= 0)
    accepted = g(raw) <= rule.threshold
    assert 0.3 < accepted.mean() < 1.0 and e[accepted].mean() <= 0.1
    none, rule_raw = fit_calibration(raw, e, method="none", target_risk=0.1, delta=0.1, split="validation")
    assert none is None and rule_raw.threshold <= 1.0


def test_fit_calibration_with_nothing_certifiable_abstains_on_everything():
    from alien.core.calibrate import fit_calibration

    e = np.array([1, 0] * 20)
    _, rule = fit_calibration(np.full(40, 0.5), e, method="none", target_risk=0.05, delta=0.1, split="v")
    assert rule.threshold == -math.inf and rule.abstain(np.array([0.0])).all()


def test_an_ensemble_head_survives_save_load(tmp_path, texts):
    import torch

    from alien.core.ensemble import AlienHeadEnsemble
    from alien.core.head_builder import build_alien_head

    model = tiny_model("bert", num_labels=2)
    members = [build_alien_head(model) for _ in range(3)]
    with torch.no_grad():
        for i, m in enumerate(members):
            for p in m.parameters():
                p.add_(0.05 * (i + 1))
    clf = AlienClassifier(
        model, tiny_tokenizer(), AlienHeadEnsemble(members), label_names=["a", "b"], max_length=32
    )
    before = clf.predict(texts).raw_uncertainty
    clf.save(tmp_path / "m")
    loaded = AlienClassifier.load(tmp_path / "m")
    assert isinstance(loaded.head, AlienHeadEnsemble) and len(loaded.head) == 3
    np.testing.assert_array_equal(before, loaded.predict(texts).raw_uncertainty)
