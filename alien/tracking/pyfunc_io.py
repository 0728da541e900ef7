"""What the served model accepts and returns: input checks, the output frame, the signature.

Input: a DataFrame with a ``text`` column of non-blank strings. Output, one row
per input: ``label`` (class name), ``label_id``, ``probabilities`` (one list per
row), ``uncertainty`` (the calibrated probability that the label is wrong),
``raw_uncertainty`` (the ALIEN head's own output) and ``abstain`` (true where the
risk-controlled rule refuses the row), and last ``model_version``: the registered
version that answered, as ``alien predict`` prints it (null when the model is not
registered). For a token-classification model the text is split on whitespace into
words and each column but ``model_version`` holds one value per word that survived
truncation; a BIO tagger adds ``entities``.

A bad request raises :class:`InvalidInput` (a ``ValueError``) naming the row;
:mod:`alien.tracking.pyfunc` turns it into an HTTP 400 with that one line.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
from mlflow.models import ModelSignature
from mlflow.types import ColSpec, DataType, Schema, TensorSpec
from mlflow.types.schema import Array, Object, Property

from alien.task import get_task

TEXT_COLUMN = "text"
OUTPUT_COLUMNS = ("label", "label_id", "probabilities", "uncertainty", "raw_uncertainty", "abstain")
ENTITIES_COLUMN = "entities"
MODEL_VERSION_COLUMN = "model_version"
_SHOWN = 5


class InvalidInput(ValueError):
    """The request itself is wrong (a client error, never a server fault)."""


def validate_texts(model_input: Any) -> list[str]:
    """The texts of a request, checked: a DataFrame with a ``text`` column of non-blank strings.

    Raises:
        InvalidInput: not a DataFrame, no ``text`` column, no rows, or a row that is not
            a string (JSON ``null`` included) or is empty/whitespace; the message names the rows.
    """
    if not isinstance(model_input, pd.DataFrame) or TEXT_COLUMN not in model_input.columns:
        found: Any = type(model_input).__name__
        if isinstance(model_input, pd.DataFrame):
            found = list(model_input.columns)
        raise InvalidInput(f"input must be a table with a {TEXT_COLUMN!r} column; got {found}")
    values = model_input[TEXT_COLUMN].tolist()
    if not values:
        raise InvalidInput("input has no rows")
    not_text = [i for i, v in enumerate(values) if not isinstance(v, str)]
    if not_text:
        shown = ", ".join(f"{i} ({_describe(values[i])})" for i in not_text[:_SHOWN])
        raise InvalidInput(f"{len(not_text)} row(s) of {TEXT_COLUMN!r} are not strings: rows {shown}")
    blank = [i for i, v in enumerate(values) if not v.strip()]
    if blank:
        raise InvalidInput(
            f"{len(blank)} row(s) of {TEXT_COLUMN!r} are empty or blank: rows {blank[:_SHOWN]}"
        )
    return [str(v) for v in values]


def _describe(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "null"
    return type(value).__name__


def predictions_frame(
    classifier: Any, texts: list[str], *, batch_size: int = 32, model_version: str | None = None
) -> pd.DataFrame:
    """The served output for ``texts`` (see the module docstring).

    ``classifier`` is an :class:`~alien.core.model.AlienClassifier` or anything with its
    ``task``, ``label_names`` and ``predict`` (:class:`alien.serving.BatchedPredictor`).
    """
    if get_task(classifier.task).is_token:
        frame = _token_frame(classifier, texts, batch_size=batch_size)
    else:
        frame = _sequence_frame(classifier, texts, batch_size=batch_size)
    frame[MODEL_VERSION_COLUMN] = pd.Series([model_version] * len(frame), dtype=object)
    return frame


def _sequence_frame(classifier: Any, texts: list[str], *, batch_size: int) -> pd.DataFrame:
    pred = classifier.predict(texts, batch_size=batch_size)
    names = list(classifier.label_names)
    return pd.DataFrame(
        {
            "label": [names[int(i)] for i in pred.labels],
            "label_id": pred.labels.astype(np.int64),
            "probabilities": [row.tolist() for row in pred.probabilities.astype(np.float64)],
            "uncertainty": pred.uncertainty.astype(np.float64),
            "raw_uncertainty": pred.raw_uncertainty.astype(np.float64),
            "abstain": pred.abstain.astype(bool),
        }
    )


def _token_frame(classifier: Any, texts: list[str], *, batch_size: int) -> pd.DataFrame:
    from alien.core.entities import entities_per_example, is_bio_scheme

    names = list(classifier.label_names)
    words = [t.split() for t in texts]
    pred = classifier.predict(words, batch_size=batch_size)
    rows: list[dict[str, list[Any]]] = [{c: [] for c in OUTPUT_COLUMNS} for _ in texts]
    for i, row in enumerate(pred.example_ids):
        out = rows[int(row)]
        out["label"].append(names[int(pred.labels[i])])
        out["label_id"].append(int(pred.labels[i]))
        out["probabilities"].append(pred.probabilities[i].astype(np.float64).tolist())
        out["uncertainty"].append(float(pred.uncertainty[i]))
        out["raw_uncertainty"].append(float(pred.raw_uncertainty[i]))
        out["abstain"].append(bool(pred.abstain[i]))
    frame = pd.DataFrame(rows, columns=list(OUTPUT_COLUMNS))
    if is_bio_scheme(names):
        entities = entities_per_example(
            words, pred.labels, pred.uncertainty, pred.example_ids, pred.word_ids, names
        )
        frame[ENTITIES_COLUMN] = [[e.to_dict() for e in found] for found in entities]
    return frame


def model_signature(task: str, *, entities: bool = False) -> ModelSignature:
    """Input ``text: string``; the output columns typed for ``task`` (``entities``: a BIO tagger).

    ``model_version`` is an optional string: null where the model is not registered.
    """
    inputs = Schema([ColSpec(DataType.string, TEXT_COLUMN)])
    kinds = {
        "label": DataType.string,
        "label_id": DataType.long,
        "uncertainty": DataType.double,
        "raw_uncertainty": DataType.double,
        "abstain": DataType.boolean,
    }
    token = get_task(task).is_token
    columns: list[ColSpec | TensorSpec] = []
    for name in OUTPUT_COLUMNS:
        if name == "probabilities":
            kind: Any = Array(Array(DataType.double)) if token else Array(DataType.double)
        else:
            kind = Array(kinds[name]) if token else kinds[name]
        columns.append(ColSpec(kind, name))
    if token and entities:
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
    columns.append(ColSpec(DataType.string, MODEL_VERSION_COLUMN, required=False))
    return ModelSignature(inputs=inputs, outputs=Schema(columns))
