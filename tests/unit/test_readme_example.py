"""The README's "use the library on your own model" snippet runs as written, on a tiny model."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from alien.core.model import AlienClassifier, Prediction
from tests.tiny import save_tiny_backbone, tiny_texts_and_labels

README = Path(__file__).resolve().parents[2] / "README.md"
START, END = "<!-- library-example:start -->", "<!-- library-example:end -->"
# What the snippet expects the reader to have: a fine-tuned model folder and labelled texts.
PROVIDED = ("MODEL_DIR", "train_texts", "train_labels", "val_texts", "val_labels")


def library_example() -> str:
    """The Python code between the library-example markers of the README."""
    readme = README
    assert readme.is_file(), f"{readme} is missing"
    text = readme.read_text(encoding="utf-8")
    assert START in text and END in text, f"{readme} lacks the {START} / {END} markers"
    section = text[text.index(START) + len(START) : text.index(END)]
    blocks = re.findall(r"```python\n(.*?)```", section, flags=re.DOTALL)
    assert len(blocks) == 1, f"expected one ```python block between the markers, found {len(blocks)}"
    return blocks[0]


def run_example(code: str, tmp_path: Path, monkeypatch) -> dict:
    monkeypatch.chdir(tmp_path)
    train_texts, train_labels = tiny_texts_and_labels(64, seed=0)
    val_texts, val_labels = tiny_texts_and_labels(32, seed=1)
    namespace = {
        "MODEL_DIR": str(save_tiny_backbone(tmp_path / "finetuned")),
        "train_texts": train_texts,
        "train_labels": train_labels,
        "val_texts": val_texts,
        "val_labels": val_labels,
    }
    exec(compile(code, str(README), "exec"), namespace)
    return namespace


def test_readme_library_example_runs(tmp_path, monkeypatch):
    code = library_example()
    assert all(name in code for name in PROVIDED), f"the snippet should use the reader's {PROVIDED}"
    assert "alien.config" not in code, "a notebook trains a head without the pipeline's config classes"
    ns = run_example(code, tmp_path, monkeypatch)
    pred = ns["pred"]
    assert isinstance(pred, Prediction) and len(pred) >= 1
    assert np.all((pred.uncertainty > 0) & (pred.uncertainty < 1))
    assert isinstance(ns["clf"], AlienClassifier)
    # The snippet's trained head is what was saved, and the saved model predicts the same.
    saved = sorted(tmp_path.glob("models/*/alien.json"))
    assert len(saved) == 1, "the snippet should save the classifier under models/"
    reloaded = AlienClassifier.load(saved[0].parent)
    texts = ["a gripping film", "a dull film"]
    np.testing.assert_array_equal(reloaded.predict(texts).uncertainty, ns["clf"].predict(texts).uncertainty)
