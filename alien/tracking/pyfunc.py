"""The deployable :class:`~alien.core.model.AlienClassifier` as an MLflow pyfunc model.

What it accepts and returns is :mod:`alien.tracking.pyfunc_io`. The model's
artifact is the deployable folder itself (safetensors + JSON); ``alien``
travels with it as ``code_paths`` so the pyfunc loads wherever its pinned
requirements are installed. Serving is thread-safe (feature capture is per
call), so ``mlflow models serve`` may run requests concurrently.

This module imports MLflow at import time (it subclasses ``PythonModel``);
only the tracking code imports it.
"""

from __future__ import annotations

import importlib.metadata
import logging
import re
from pathlib import Path
from typing import Any

import mlflow
import pandas as pd
from mlflow.models.model import ModelInfo
from mlflow.pyfunc import PythonModel, PythonModelContext

import alien
from alien.task import get_task
from alien.tracking.pyfunc_io import (
    ENTITIES_COLUMN,
    OUTPUT_COLUMNS,
    TEXT_COLUMN,
    InvalidInput,
    model_signature,
    predictions_frame,
    validate_texts,
)

__all__ = [
    "ARTIFACT_KEY",
    "ENTITIES_COLUMN",
    "OUTPUT_COLUMNS",
    "TEXT_COLUMN",
    "AlienPyfuncModel",
    "log_alien_model",
    "model_signature",
    "pip_requirements",
    "predictions_frame",
]
log = logging.getLogger(__name__)

ARTIFACT_KEY = "deployable"
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
        """Labels, probabilities, calibrated uncertainty and abstention for ``model_input["text"]``.

        Raises:
            MlflowException: ``INVALID_PARAMETER_VALUE`` (HTTP 400, one line naming the
                bad rows) for a bad request; ``INTERNAL_ERROR`` (HTTP 500, no stack trace
                or paths; the traceback goes to the server log) for a server fault.
        """
        from mlflow.exceptions import MlflowException
        from mlflow.protos.databricks_pb2 import INTERNAL_ERROR, INVALID_PARAMETER_VALUE

        try:
            texts = validate_texts(model_input)
        except InvalidInput as exc:
            raise MlflowException(str(exc), error_code=INVALID_PARAMETER_VALUE) from None
        try:
            return predictions_frame(self.classifier, texts, batch_size=self.batch_size)
        except Exception:
            log.exception("prediction failed")
            raise MlflowException(
                "internal error while predicting; the server log has the details", error_code=INTERNAL_ERROR
            ) from None


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
    from alien.core.deployable import read_metadata
    from alien.core.entities import is_bio_scheme

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
