"""The deployable :class:`~alien.core.model.AlienClassifier` as an MLflow pyfunc model.

Input: a DataFrame with a ``text`` column. Output, one row per input:
``label`` (class name), ``label_id``, ``probabilities`` (one list per row) and
``uncertainty`` (ALIEN), all from one backbone forward per batch. For a
token-classification model the text is split on whitespace into words, each
column holds one value per word that survived truncation, and a BIO tagger adds
``entities``: per row a list of ``{text, type, start_word, end_word,
uncertainty}`` (the entity's uncertainty is the maximum of its words', see
:mod:`alien.core.entities`; ``end_word`` is inclusive).

The model's artifact is the deployable folder itself (safetensors + JSON);
``alien`` travels with it as ``code_paths`` so the pyfunc loads wherever its
pinned requirements are installed.

This module imports MLflow at import time (it subclasses ``PythonModel``);
only the tracking code imports it.
"""

from __future__ import annotations

import importlib.metadata
import re
from pathlib import Path
from typing import Any

import mlflow
import numpy as np
import pandas as pd
from mlflow.models import ModelSignature
from mlflow.models.model import ModelInfo
from mlflow.pyfunc import PythonModel, PythonModelContext
from mlflow.types import ColSpec, DataType, Schema, TensorSpec
from mlflow.types.schema import Array, Object, Property

import alien
from alien.task import get_task

ARTIFACT_KEY = "deployable"
TEXT_COLUMN = "text"
OUTPUT_COLUMNS = ("label", "label_id", "probabilities", "uncertainty")
ENTITIES_COLUMN = "entities"
# Packages the pyfunc needs besides alien's core dependencies.
_SERVING_PACKAGES = ("mlflow", "cloudpickle")


class AlienPyfuncModel(PythonModel):
    """Serves an :class:`~alien.core.model.AlienClassifier` saved under the artifact ``deployable``."""

    def __init__(self, *, batch_size: int = 32) -> None:
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        self.batch_size = batch_size
        self.classifier: Any = None

    def load_context(self, context: PythonModelContext) -> None:
        from alien.core.model import AlienClassifier

        self.batch_size = int((context.model_config or {}).get("batch_size", self.batch_size))
        self.classifier = AlienClassifier.load(context.artifacts[ARTIFACT_KEY])

    def predict(
        self, context: PythonModelContext, model_input: pd.DataFrame, params: dict[str, Any] | None = None
    ) -> pd.DataFrame:
        """Predict labels, probabilities and uncertainty for ``model_input["text"]``.

        Raises:
            ValueError: the input is not a DataFrame with a ``text`` column, or it is empty.
        """
        if not isinstance(model_input, pd.DataFrame) or TEXT_COLUMN not in model_input.columns:
            found: Any = type(model_input).__name__
            if isinstance(model_input, pd.DataFrame):
                found = list(model_input.columns)
            raise ValueError(f"input must be a DataFrame with a {TEXT_COLUMN!r} column; got {found}")
        texts = [str(t) for t in model_input[TEXT_COLUMN].tolist()]
        return predictions_frame(self.classifier, texts, batch_size=self.batch_size)


def predictions_frame(classifier: Any, texts: list[str], *, batch_size: int = 32) -> pd.DataFrame:
    """The pyfunc output for ``texts`` (see the module docstring)."""
    from alien.core.entities import entities_per_example, is_bio_scheme

    names = list(classifier.label_names)
    if get_task(classifier.task).is_token:
        words = [t.split() for t in texts]
        pred = classifier.predict(words, batch_size=batch_size)
        rows: list[dict[str, list[Any]]] = [{c: [] for c in OUTPUT_COLUMNS} for _ in texts]
        for i, row in enumerate(pred.example_ids):
            out = rows[int(row)]
            out["label"].append(names[int(pred.labels[i])])
            out["label_id"].append(int(pred.labels[i]))
            out["probabilities"].append(pred.probabilities[i].astype(np.float64).tolist())
            out["uncertainty"].append(float(pred.uncertainty[i]))
        frame = pd.DataFrame(rows, columns=list(OUTPUT_COLUMNS))
        if is_bio_scheme(names):
            entities = entities_per_example(
                words, pred.labels, pred.uncertainty, pred.example_ids, pred.word_ids, names
            )
            frame[ENTITIES_COLUMN] = [[e.to_dict() for e in found] for found in entities]
        return frame
    pred = classifier.predict(texts, batch_size=batch_size)
    return pd.DataFrame(
        {
            "label": [names[int(i)] for i in pred.labels],
            "label_id": pred.labels.astype(np.int64),
            "probabilities": [row.tolist() for row in pred.probabilities.astype(np.float64)],
            "uncertainty": pred.uncertainty.astype(np.float64),
        }
    )


def model_signature(task: str, *, entities: bool = False) -> ModelSignature:
    """Input ``text: string``; the output columns typed for ``task`` (``entities``: a BIO tagger)."""
    inputs = Schema([ColSpec(DataType.string, TEXT_COLUMN)])
    if get_task(task).is_token:
        columns: list[ColSpec | TensorSpec] = [
            ColSpec(Array(DataType.string), "label"),
            ColSpec(Array(DataType.long), "label_id"),
            ColSpec(Array(Array(DataType.double)), "probabilities"),
            ColSpec(Array(DataType.double), "uncertainty"),
        ]
        if entities:
            entity = Object(
                [
                    Property("text", DataType.string),
                    Property("type", DataType.string),
                    Property("start_word", DataType.long),
                    Property("end_word", DataType.long),
                    Property("uncertainty", DataType.double),
                ]
            )
            columns.append(ColSpec(Array(entity), ENTITIES_COLUMN))
        outputs = Schema(columns)
    else:
        outputs = Schema(
            [
                ColSpec(DataType.string, "label"),
                ColSpec(DataType.long, "label_id"),
                ColSpec(Array(DataType.double), "probabilities"),
                ColSpec(DataType.double, "uncertainty"),
            ]
        )
    return ModelSignature(inputs=inputs, outputs=outputs)


def _pin(requirement: str) -> str | None:
    """``"torch>=2.4,<3"`` -> ``"torch==2.13.0"`` (installed version, local suffix dropped)."""
    if ";" in requirement and "extra" in requirement.split(";", 1)[1]:
        return None  # an optional extra, not a core dependency
    name = re.split(r"[\s<>=!~;\[]", requirement.strip(), maxsplit=1)[0]
    try:
        version = importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return requirement.split(";", 1)[0].strip()
    return f"{name}=={version.split('+', 1)[0]}"


def pip_requirements() -> list[str]:
    """alien's core dependencies plus MLflow, pinned to the installed versions (no inference)."""
    try:
        declared = importlib.metadata.requires("alien") or []
    except importlib.metadata.PackageNotFoundError:
        declared = []
    pinned = [p for p in (_pin(r) for r in [*declared, *_SERVING_PACKAGES]) if p]
    return sorted(set(pinned), key=str.lower)


def log_alien_model(model_dir: str | Path, *, name: str = "model", batch_size: int = 32) -> ModelInfo:
    """Log the deployable folder ``model_dir`` as a pyfunc model (in the active run, if any).

    Args:
        model_dir: a folder written by :meth:`alien.core.model.AlienClassifier.save`.
        name: the logged model's name within the run.
        batch_size: examples per backbone forward when serving.

    Returns:
        MLflow's :class:`~mlflow.models.model.ModelInfo` (``model_uri``, ``model_id``, ...).

    Raises:
        FileNotFoundError: ``model_dir`` is not an AlienClassifier folder.
    """
    from alien.core.entities import is_bio_scheme
    from alien.core.model import read_metadata

    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    model_dir = Path(model_dir)
    meta = read_metadata(model_dir)
    task = meta.get("task", "sequence-classification")
    bio = get_task(task).is_token and is_bio_scheme(meta.get("label_names", []))
    example = pd.DataFrame({TEXT_COLUMN: ["a short example sentence"]})
    return mlflow.pyfunc.log_model(
        name=name,
        # models from code: the entry file is logged as source, so nothing is pickled
        python_model=str(Path(__file__).with_name("pyfunc_entry.py")),
        model_config={"batch_size": batch_size},
        artifacts={ARTIFACT_KEY: str(model_dir)},
        code_paths=[str(Path(alien.__file__).parent)],
        pip_requirements=pip_requirements(),
        signature=model_signature(task, entities=bio),
        input_example=example,
    )
