"""How to serve a registered version over HTTP: ``mlflow models serve`` with the right environment.

``mlflow models serve --env-manager local`` execs ``uvicorn`` from ``PATH``, so the
interpreter's ``bin`` folder (the project venv) must come first on it; telemetry
stays off. The served pyfunc is thread-safe, so one worker answers overlapping
requests from its thread pool.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from pathlib import Path


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
        str(mlflow_bin), "models", "serve", "-m", model_uri, "--env-manager", "local",
        "-h", host, "-p", str(port), "-w", str(workers),
    ]  # fmt: skip


def serving_env(base: Mapping[str, str] | None = None) -> dict[str, str]:
    """``base`` (default ``os.environ``) with the venv's ``bin`` first on ``PATH`` and telemetry off."""
    env = dict(os.environ if base is None else base)
    bin_dir = str(Path(sys.executable).parent)
    env["PATH"] = os.pathsep.join([bin_dir, env.get("PATH", "")])
    env.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    env.setdefault("DO_NOT_TRACK", "1")
    return env
