"""The deployable :class:`~alien.core.model.AlienClassifier` as an MLflow pyfunc model.

What it accepts and returns is :mod:`alien.tracking.pyfunc_io`. The model's
artifact is the deployable folder itself (safetensors + JSON); ``alien``
travels with it as ``code_paths`` so the pyfunc loads wherever its pinned
requirements are installed.

Serving is thread-safe, and concurrent requests share forward passes: each
request's texts join a :class:`~alien.serving.BatchedPredictor` (micro-batching;
its knobs are :class:`~alien.tracking.serving.ServingConfig`), and get the outputs
a batch ``predict`` gives. A request whose texts make the model fail fails alone.
Every row names the registered version that answered (``model_version``), looked
up when the model loads (:func:`~alien.tracking.serving.registered_version`).

This module imports MLflow at import time (it subclasses ``PythonModel``);
only the tracking code imports it.
"""

from __future__ import annotations

import importlib.metadata
import logging
import threading
import weakref
from pathlib import Path
from typing import Any

import mlflow
import pandas as pd
from mlflow.models.model import ModelInfo
from mlflow.pyfunc import PythonModel, PythonModelContext
from packaging.requirements import Requirement

import alien
from alien.serving import BatchedPredictor, BatcherClosedError, BatchingOptions, QueueFullError
from alien.task import get_task
from alien.tracking.prediction_log import log_from_env, log_response
from alien.tracking.pyfunc_io import (
    ENTITIES_COLUMN,
    MODEL_VERSION_COLUMN,
    OUTPUT_COLUMNS,
    TEXT_COLUMN,
    InvalidInput,
    model_signature,
    predictions_frame,
    validate_texts,
)
from alien.tracking.serving import ServingConfig, model_root, registered_version

__all__ = [
    "ARTIFACT_KEY",
    "ENTITIES_COLUMN",
    "MODEL_VERSION_COLUMN",
    "OUTPUT_COLUMNS",
    "TEXT_COLUMN",
    "AlienPyfuncModel",
    "ServingConfig",
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
    """Serves an :class:`~alien.core.model.AlienClassifier` saved under the artifact ``deployable``.

    Args:
        batch_size: examples per forward without batching (overridden by the model's config).
        config: the serving options (default: :class:`ServingConfig` with ``batch_size``).

    Attributes:
        classifier: the loaded classifier (``None`` until :meth:`load_context`).
        model_name, model_version: the registered model and version served (``None``: not registered).
    """

    def __init__(self, *, batch_size: int = 32, config: ServingConfig | None = None) -> None:
        self.config = config or ServingConfig(batch_size=batch_size)
        self.classifier: Any = None
        self.model_name: str | None = None
        self.model_version: str | None = None
        self._predictor: BatchedPredictor | None = None
        self._lock = threading.Lock()
        self.prediction_log: Any = None  # alien.tracking.prediction_log: ALIEN_MONITOR_LOG

    @property
    def batch_size(self) -> int:
        """Examples per forward without batching."""
        return self.config.batch_size

    def load_context(self, context: PythonModelContext) -> None:
        from alien.core.model import AlienClassifier

        self.config = ServingConfig.from_model_config(context.model_config)
        deployable = context.artifacts[ARTIFACT_KEY]
        self.classifier = AlienClassifier.load(deployable)
        self.model_name, self.model_version = self._registered(deployable)
        self.prediction_log = log_from_env()
        options = self.config.options if self.config.batching else "off"
        log.info("serving %s version %s; batching %s", self.model_name, self.model_version, options)

    def _registered(self, deployable: str) -> tuple[str | None, str | None]:
        if self.config.model_version:  # set at serve time: a copy served away from its registry
            return None, self.config.model_version
        root = model_root(deployable)
        found = registered_version(root) if root is not None else None
        return found if found is not None else (None, None)

    def predict(
        self, context: PythonModelContext, model_input: pd.DataFrame, params: dict[str, Any] | None = None
    ) -> pd.DataFrame:
        """Labels, probabilities, calibrated uncertainty, abstention and version for ``model_input["text"]``.

        Raises:
            MlflowException: ``INVALID_PARAMETER_VALUE`` (HTTP 400, one line naming the
                bad rows) for a bad request; ``TEMPORARILY_UNAVAILABLE`` (HTTP 503) when
                the batcher's queue is full; ``INTERNAL_ERROR`` (HTTP 500, no stack trace
                or paths; the traceback goes to the server log) for a server fault.
        """
        from mlflow.exceptions import MlflowException
        from mlflow.protos.databricks_pb2 import INVALID_PARAMETER_VALUE

        try:
            texts = validate_texts(model_input)
        except InvalidInput as exc:
            raise MlflowException(str(exc), error_code=INVALID_PARAMETER_VALUE) from None
        return self.respond(texts, self.answer(texts))

    def answer(self, texts: list[str]) -> pd.DataFrame:
        """The output frame of valid ``texts`` (batched with concurrent requests unless ``batching`` is off)."""
        from mlflow.exceptions import MlflowException
        from mlflow.protos.databricks_pb2 import INTERNAL_ERROR, TEMPORARILY_UNAVAILABLE

        try:
            return predictions_frame(
                self._engine(), texts, batch_size=self.batch_size, model_version=self.model_version
            )
        except (QueueFullError, BatcherClosedError) as exc:
            raise MlflowException(
                f"server busy, retry later: {exc}", error_code=TEMPORARILY_UNAVAILABLE
            ) from None
        except Exception:
            log.exception("prediction failed")
            raise MlflowException(
                "internal error while predicting; the server log has the details", error_code=INTERNAL_ERROR
            ) from None

    def respond(self, texts: list[str], frame: pd.DataFrame) -> pd.DataFrame:
        """The one place every answered request passes, with its texts and output frame; returns the frame.

        A hook for what follows an answer (prediction logging: ``model_name`` and
        ``model_version`` are attributes, and a column of ``frame``).
        """
        if self.prediction_log is not None:
            kw = {"model_name": self.model_name, "model_version": self.model_version}
            return log_response(self.prediction_log, texts, frame, **kw)
        return frame

    def _engine(self) -> Any:
        """What predicts: the classifier itself, or the shared micro-batcher in front of it (made once)."""
        if self.classifier is None:
            raise RuntimeError("no model loaded (load_context was not called)")
        if not self.config.batching:
            return self.classifier
        predictor = self._predictor
        if predictor is None or predictor.batcher.closed:
            with self._lock:
                if self._predictor is None or self._predictor.batcher.closed:
                    self._predictor = BatchedPredictor(self.classifier, options=self.config.options)
                    weakref.finalize(self, self._predictor.close)  # stop its thread with this model
                predictor = self._predictor
        return predictor

    def close(self) -> None:
        """Stop the micro-batcher's thread (a later request starts a new one)."""
        with self._lock:
            if self._predictor is not None:
                self._predictor.close()


def _pin(requirement: str) -> str | None:
    """``"torch>=2.4,<3"`` -> ``"torch==2.13.0"`` (installed version, local suffix dropped).

    ``None`` for a requirement whose marker excludes it here (an optional extra's).
    """
    found = Requirement(requirement)
    if found.marker is not None and not found.marker.evaluate({"extra": ""}):
        return None  # an optional extra, not a core dependency
    try:
        version = importlib.metadata.version(found.name)
    except importlib.metadata.PackageNotFoundError:
        found.marker = None
        return str(found)
    return f"{found.name}=={version.split('+', 1)[0]}"


def pip_requirements() -> list[str]:
    """alien's core dependencies plus MLflow, pinned to the installed versions (no inference)."""
    try:
        declared = importlib.metadata.requires("alien") or []
    except importlib.metadata.PackageNotFoundError:
        declared = []
    pinned = [p for p in (_pin(r) for r in [*declared, *_SERVING_PACKAGES]) if p]
    return sorted(set(pinned), key=str.lower)


def log_alien_model(
    model_dir: str | Path,
    *,
    name: str = "model",
    batch_size: int = 32,
    batching: BatchingOptions | None = None,
) -> ModelInfo:
    """Log the deployable folder ``model_dir`` as a pyfunc model (in the active run, if any).

    Args:
        model_dir: a folder written by :meth:`alien.core.model.AlienClassifier.save`.
        name: the logged model's name within the run.
        batch_size: examples per backbone forward when serving without batching.
        batching: the micro-batcher's options (default :class:`BatchingOptions`); all of
            :class:`ServingConfig` is logged as ``model_config``, so a server can override
            any of it (:data:`alien.tracking.serving.INFERENCE_CONFIG_ENV`).

    Returns:
        MLflow's :class:`~mlflow.models.model.ModelInfo` (``model_uri``, ``model_id``, ...).

    Raises:
        FileNotFoundError: ``model_dir`` is not an AlienClassifier folder.
        ValueError: ``batch_size < 1``.
    """
    from alien.core.deployable import read_metadata
    from alien.core.entities import is_bio_scheme

    config = ServingConfig(batch_size=batch_size, options=batching or BatchingOptions())
    model_dir = Path(model_dir)
    meta = read_metadata(model_dir)
    task = meta.get("task", "sequence-classification")
    bio = get_task(task).is_token and is_bio_scheme(meta.get("label_names", []))
    example = pd.DataFrame({TEXT_COLUMN: ["a short example sentence"]})
    return mlflow.pyfunc.log_model(
        name=name,
        # models from code: the entry file is logged as source, so nothing is pickled
        python_model=str(Path(__file__).with_name("pyfunc_entry.py")),
        model_config=config.to_model_config(),
        artifacts={ARTIFACT_KEY: str(model_dir)},
        code_paths=[str(Path(alien.__file__).parent)],
        pip_requirements=pip_requirements(),
        signature=model_signature(task, entities=bio),
        input_example=example,
    )
