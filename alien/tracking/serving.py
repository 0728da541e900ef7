"""Serving a registered version over HTTP: the knobs, the command, and which version is served.

``mlflow models serve --env-manager local`` execs ``uvicorn`` from ``PATH``, so the
interpreter's ``bin`` folder (the project venv) must come first on it; telemetry
stays off.

How MLflow 3 serves (``mlflow.pyfunc.scoring_server``): ``uvicorn`` runs ``-w N``
worker *processes*, each loading its own copy of the model; inside one process every
request's ``predict`` runs on a thread of asyncio's default pool
(``min(32, cores + 4)`` threads). The pyfunc's micro-batcher lets the requests of
one process share forward passes; it cannot batch across processes, so more workers
mean more copies of the model and smaller batches.

The knobs (:class:`ServingConfig`) are the model's ``model_config``: written with
their defaults when the model is logged, and overridden per server, without
re-logging, through MLflow's ``MLFLOW_PYFUNC_INFERENCE_CONFIG`` (JSON, only keys the
model was logged with), e.g. ``MLFLOW_PYFUNC_INFERENCE_CONFIG='{"max_wait_ms": 2}'``.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from alien.serving import BatchingOptions

log = logging.getLogger(__name__)
INFERENCE_CONFIG_ENV = "MLFLOW_PYFUNC_INFERENCE_CONFIG"
"""MLflow's variable that overrides a pyfunc's logged ``model_config`` when it is loaded."""


@dataclass(frozen=True)
class ServingConfig:
    """How the served model predicts (its ``model_config``).

    Attributes:
        batch_size: most examples per forward when ``batching`` is off.
        batching: share forward passes between concurrent requests (``false``: every
            request runs its own forward on its own thread, as before micro-batching).
        options: the micro-batcher's ``max_batch``, ``max_wait_ms`` and ``max_queue``
            (:class:`~alien.serving.BatchingOptions`).
        model_version: the registered version the served rows name; empty: looked up in
            the registry when the model loads (:func:`registered_version`).
    """

    batch_size: int = 32
    batching: bool = True
    options: BatchingOptions = field(default_factory=BatchingOptions)
    model_version: str = ""

    def __post_init__(self) -> None:
        if isinstance(self.batch_size, bool) or not isinstance(self.batch_size, int) or self.batch_size < 1:
            raise ValueError(f"batch_size must be an int >= 1, got {self.batch_size!r}")
        if not isinstance(self.batching, bool):
            raise TypeError(f"batching must be true or false, got {self.batching!r}")
        if not isinstance(self.model_version, str):
            raise TypeError(f"model_version must be a string, got {self.model_version!r}")

    def to_model_config(self) -> dict[str, Any]:
        """The flat mapping logged as ``model_config`` (every key, so every key can be overridden)."""
        flat = {k: v for k, v in asdict(self).items() if k != "options"}
        return {**flat, **asdict(self.options)}

    @classmethod
    def from_model_config(cls, values: Mapping[str, Any] | None) -> ServingConfig:
        """The config from a (possibly partial) ``model_config``; missing keys keep their defaults.

        Raises:
            ValueError: an unknown key (named, with the known ones) or a bad value.
            TypeError: a value of the wrong type.
        """
        values = dict(values or {})
        known = set(cls().to_model_config())
        unknown = sorted(set(values) - known)
        if unknown:
            raise ValueError(f"unknown serving option(s) {unknown}; known: {sorted(known)}")
        batching = {k: values.pop(k) for k in asdict(BatchingOptions()) if k in values}
        if "model_version" in values and values["model_version"] is not None:
            values["model_version"] = str(values["model_version"])
        return cls(**{k: v for k, v in values.items() if v is not None}, options=BatchingOptions(**batching))


def serve_argv(model_uri: str, *, host: str = "127.0.0.1", port: int = 5001, workers: int = 1) -> list[str]:
    """The command line that serves ``model_uri`` (e.g. ``models:/alien-classifier@champion``).

    Raises:
        ValueError: an empty URI, a port outside 1..65535 or ``workers < 1``.
    """
    if not model_uri:
        raise ValueError("model_uri must not be empty (e.g. models:/alien-classifier@champion)")
    if not 0 < port < 65536:
        raise ValueError(f"port must lie in 1..65535, got {port}")
    if workers < 1:
        raise ValueError(f"workers must be >= 1, got {workers}")
    mlflow_bin = Path(sys.executable).with_name("mlflow")
    return [
        str(mlflow_bin),
        "models",
        "serve",
        "-m",
        model_uri,
        "--env-manager",
        "local",
        "-h",
        host,
        "-p",
        str(port),
        "-w",
        str(workers),
    ]


def serving_env(
    base: Mapping[str, str] | None = None, *, overrides: Mapping[str, Any] | None = None
) -> dict[str, str]:
    """``base`` (default ``os.environ``) with the venv's ``bin`` first on ``PATH`` and telemetry off.

    Args:
        base: the environment to start from.
        overrides: serving options for this server (keys of
            :meth:`ServingConfig.to_model_config`), passed as ``MLFLOW_PYFUNC_INFERENCE_CONFIG``.

    Raises:
        ValueError, TypeError: an override that :meth:`ServingConfig.from_model_config` refuses.
    """
    env = dict(os.environ if base is None else base)
    bin_dir = str(Path(sys.executable).parent)
    env["PATH"] = os.pathsep.join([bin_dir, env.get("PATH", "")])
    env.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    env.setdefault("DO_NOT_TRACK", "1")
    if overrides:
        ServingConfig.from_model_config(overrides)  # refuse a typo here, not in the server's log
        env[INFERENCE_CONFIG_ENV] = json.dumps(dict(overrides))
    return env


def model_root(artifact: str | Path) -> Path | None:
    """The logged model's folder (the one holding ``MLmodel``) above one of its artifacts."""
    for folder in Path(artifact).resolve().parents:
        if (folder / "MLmodel").is_file():
            return folder
    return None


def registered_version(model_dir: str | Path) -> tuple[str, str] | None:
    """``(model name, version)`` of the finished registered version made from the model at ``model_dir``.

    The version number does not exist when the model is logged (it is registered after,
    from the logged model's ``models:/<model_id>``), so it is looked up here: the versions
    of the model's run whose source is this logged model. Read-only and fast: a local
    store that does not exist is not created, a remote one gets no retries.

    Returns:
        ``None`` when the model is not registered (yet), or no registry can be asked;
        a lookup that fails is logged, never raised (serving goes on without a version).
    """
    import mlflow
    from mlflow.models import Model

    from alien.assets.environ import scoped_environ
    from alien.tracking.names import TAG_PENDING
    from alien.tracking.setup import _PROBE_HTTP_ENV, missing_store

    meta = Model.load(str(model_dir))
    uri = mlflow.get_registry_uri()
    if not meta.run_id or not uri or missing_store(uri) is not None:
        return None
    try:
        with scoped_environ(_PROBE_HTTP_ENV):
            found = mlflow.MlflowClient(registry_uri=uri).search_model_versions(f"run_id = '{meta.run_id}'")
    except Exception as exc:  # serving goes on; the rows say model_version null
        log.warning("could not look up the registered version of run %s: %s", meta.run_id, exc)
        return None
    sources = {f"models:/{meta.model_id}"} if meta.model_id else None
    ours = [
        v
        for v in found
        if (sources is None or v.source in sources or getattr(v, "model_id", None) == meta.model_id)
        and v.tags.get(TAG_PENDING) != "true"
    ]
    if not ours:
        return None
    latest = max(ours, key=lambda v: int(v.version))
    return str(latest.name), str(latest.version)
