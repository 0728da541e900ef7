"""The README's "use the library on your own model" snippet runs as written.

It runs in a folder laid out like the default run leaves it (``models/backbone``: a multi-class
classifier whose ``config.id2label`` names its 6 classes, as TREC's does; ``data/prepared``: the
splits), on a tiny random model. Issue 17: the snippet once hard-coded two label names and
printed the head's raw score as ``uncertainty``.
"""

from __future__ import annotations

import json
import re
from dataclasses import fields
from pathlib import Path

import numpy as np

from alien.config import CalibrationConfig
from alien.core.calibrate import calibrate_classifier
from alien.core.model import AlienClassifier, Prediction
from tests.tiny import tiny_model, tiny_texts_and_labels, tiny_tokenizer

README = Path(__file__).resolve().parents[2] / "README.md"
START, END = "<!-- library-example:start -->", "<!-- library-example:end -->"
# TREC's coarse classes, deliberately not in the order a reader might guess
CLASSES = ("NUM", "LOC", "HUM", "DESC", "ENTY", "ABBR")


def library_example() -> str:
    """The Python code between the library-example markers of the README."""
    text = README.read_text(encoding="utf-8")
    assert START in text and END in text, f"{README} lacks the {START} / {END} markers"
    section = text[text.index(START) + len(START) : text.index(END)]
    blocks = re.findall(r"```python\n(.*?)```", section, flags=re.DOTALL)
    assert len(blocks) == 1, f"expected one ```python block between the markers, found {len(blocks)}"
    return blocks[0]


def default_run_layout(root: Path) -> None:
    """``models/backbone`` (6 named classes) and ``data/prepared`` splits, as ``make run`` leaves them."""
    model = tiny_model("bert", num_labels=len(CLASSES))
    model.config.id2label = dict(enumerate(CLASSES))
    model.config.label2id = {name: i for i, name in enumerate(CLASSES)}
    model.save_pretrained(root / "models" / "backbone")
    tiny_tokenizer().save_pretrained(root / "models" / "backbone")
    prepared = root / "data" / "prepared"
    prepared.mkdir(parents=True)
    for split, n, seed in (("alignment", 96, 0), ("validation", 96, 1)):
        texts, _ = tiny_texts_and_labels(n, seed=seed)
        rows = [{"id": f"{split}-{i}", "text": t, "label": i % len(CLASSES)} for i, t in enumerate(texts)]
        (prepared / f"{split}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    (prepared / "labels.json").write_text(json.dumps(list(CLASSES)))


def test_readme_library_example_runs_as_written_on_a_multi_class_model(tmp_path, monkeypatch):
    code = library_example()
    assert "alien.config" not in code, "a notebook trains a head without the pipeline's config classes"
    assert "label_names=[" not in code, "label names are read from the model, not written out"
    default_run_layout(tmp_path)
    monkeypatch.chdir(tmp_path)
    ns: dict = {}
    exec(compile(code, str(README), "exec"), ns)
    pred, clf = ns["pred"], ns["clf"]
    assert isinstance(pred, Prediction) and len(pred) == 2
    assert isinstance(clf, AlienClassifier)
    # label names come from the model's config.id2label, in its order
    assert pred.label_names == CLASSES and set(pred.label_strings) <= set(CLASSES)
    # uncertainty is the calibrated one: the map fitted on validation, not the head's raw output
    assert clf.calibrator is not None and clf.abstention is not None
    assert clf.abstention.split == "validation" and clf.abstention.target_risk == 0.05
    np.testing.assert_allclose(pred.uncertainty, clf.calibrator(pred.raw_uncertainty))
    grid = np.linspace(0.01, 0.99, 99)
    assert not np.allclose(clf.calibrator(grid), grid), "the fitted map is the identity"
    np.testing.assert_array_equal(pred.abstain, clf.abstention.abstain(pred.uncertainty))
    # what was saved keeps the map and the rule: the reloaded model predicts the same
    reloaded = AlienClassifier.load(tmp_path / "models" / "my-alien")
    texts = ["a gripping film", "a dull film"]
    again, before = reloaded.predict(texts), clf.predict(texts)
    np.testing.assert_array_equal(again.uncertainty, before.uncertainty)
    np.testing.assert_array_equal(again.abstain, before.abstain)
    assert again.label_names == CLASSES


def test_calibrate_classifier_defaults_are_the_shipped_calibration_section(tmp_path):
    defaults = {f.name: f.default for f in fields(CalibrationConfig)}  # type: ignore[arg-type]
    signature = calibrate_classifier.__kwdefaults__
    assert {k: signature[k] for k in ("method", "target_risk", "delta", "split")} == defaults
