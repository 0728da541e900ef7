"""Fetching the registry's champion as an :class:`~alien.core.model.AlienClassifier` (for the gate)."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from alien.config import RegistryConfig
from alien.tracking.registry import get_champion_version
from alien.tracking.setup import configure_tracking

if TYPE_CHECKING:
    from alien.core.model import AlienClassifier


def deployable_path(model_dir: str | Path) -> Path:
    """The deployable folder inside a downloaded pyfunc model (as recorded in its ``MLmodel``).

    Raises:
        FileNotFoundError: the model has no ``deployable`` artifact (not logged by
            :func:`alien.tracking.pyfunc.log_alien_model`).
    """
    from mlflow.models import Model

    from alien.tracking.pyfunc import ARTIFACT_KEY

    model_dir = Path(model_dir)
    flavor = Model.load(str(model_dir)).flavors.get("python_function", {})
    relative = (flavor.get("artifacts") or {}).get(ARTIFACT_KEY, {}).get("path")
    if not relative or not (model_dir / relative).is_dir():
        raise FileNotFoundError(
            f"{model_dir} has no {ARTIFACT_KEY!r} artifact; was it logged by log_alien_model?"
        )
    return model_dir / relative


def load_champion(cfg: RegistryConfig) -> tuple[str, AlienClassifier] | None:
    """The champion's version and classifier, or ``None`` if there is no champion yet.

    Args:
        cfg: the ``registry`` section (model name, tracking URI).

    Returns:
        ``(version, classifier)`` or ``None`` (no registered model or no ``champion`` alias).

    Raises:
        RegistryUnavailableError: the tracking store / registry cannot be reached.
    """
    import mlflow

    from alien.core.model import AlienClassifier

    configure_tracking(cfg)
    version = get_champion_version(cfg.model_name)
    if version is None:
        return None
    with tempfile.TemporaryDirectory(prefix="alien-champion-") as tmp:
        local = mlflow.artifacts.download_artifacts(
            artifact_uri=f"models:/{cfg.model_name}/{version.version}", dst_path=tmp
        )
        # load() reads all weights into memory, so the download can go once it returns
        classifier = AlienClassifier.load(deployable_path(local))
    return str(version.version), classifier
