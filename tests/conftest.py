"""Shared test setup: offline, telemetry off, every cache in a temp dir."""

from __future__ import annotations

import os
import tempfile

_SESSION_TMP = tempfile.mkdtemp(prefix="alien-tests-")
os.environ.update(
    {
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        "HF_DATASETS_OFFLINE": "1",
        "HF_HUB_DISABLE_TELEMETRY": "1",
        "HF_HOME": os.path.join(_SESSION_TMP, "hf_home"),
        "MLFLOW_DISABLE_TELEMETRY": "true",
        "DO_NOT_TRACK": "1",
        "DVC_NO_ANALYTICS": "1",
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "120",
        "TOKENIZERS_PARALLELISM": "false",
        "WANDB_DISABLED": "true",
    }
)
os.environ.pop("MLFLOW_TRACKING_URI", None)


import pytest  # noqa: E402


@pytest.fixture(autouse=True)
def _no_leaked_tracking_state():
    """A test must leave MLflow's process-wide URIs and the MLflow/DVC environment as it found them:
    a leak redirects the registry of whichever test runs next on the same worker."""
    import mlflow.tracking._model_registry.utils as registry_utils
    import mlflow.tracking._tracking_service.utils as tracking_utils

    watched = ("MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI", "DVC_EXP_NAME", "DVC_ROOT")
    before = (
        {k: os.environ.get(k) for k in watched},
        tracking_utils._tracking_uri,
        registry_utils._registry_uri,
    )
    yield
    after = (
        {k: os.environ.get(k) for k in watched},
        tracking_utils._tracking_uri,
        registry_utils._registry_uri,
    )
    assert after == before, f"the test leaked tracking state: {before} -> {after}"
