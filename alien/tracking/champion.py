"""Fetching a registered version as an :class:`~alien.core.model.AlienClassifier` (gate, predict).

Registry-only: nothing here creates an experiment or a database, and MLflow's process-wide URIs
point at the registry only for the length of a download (:func:`~alien.tracking.setup.pointed_at`).
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from alien.config.registry import RegistryConfig
from alien.tracking.names import CHAMPION, TAG_PENDING
from alien.tracking.setup import missing_store, pointed_at, resolve_tracking_uri
from alien.tracking.store import Store

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


def resolve_version(registry: Store, *, alias: str | None = None, version: str | None = None) -> str:
    """The version number that ``alias`` (default ``champion``) or ``version`` names.

    Raises:
        ValueError: both given, the alias is not set, the version does not exist or is
            an unfinished (pending) registration.
    """
    if alias is not None and version is not None:
        raise ValueError(f"give an alias or a version, not both (got alias={alias!r}, version={version!r})")
    if version is None:
        alias = alias or CHAMPION
        aliases = registry.aliases()
        if alias not in aliases:
            raise ValueError(
                f"model {registry.model_name!r} at {registry.uri} has no @{alias}; aliases set: "
                f"{sorted(aliases) or 'none'} (`alien champion` lists the versions)"
            )
        version = aliases[alias]
    found = registry.model_version(version)
    if found.tags.get(TAG_PENDING) == "true":
        raise ValueError(f"version {version} is an unfinished registration (pending); it cannot be used")
    return str(found.version)


def load_classifier(registry: Store, version: str) -> AlienClassifier:
    """Download ``version``'s deployable and load it (weights are read into memory, then the copy goes)."""
    import mlflow

    from alien.core.model import AlienClassifier

    # MLflow resolves a models:/ URI through the process-wide registry URI, whatever
    # download_artifacts is given; point it at this registry for the call only.
    with pointed_at(registry.uri), tempfile.TemporaryDirectory(prefix="alien-model-") as tmp:
        local = mlflow.artifacts.download_artifacts(
            artifact_uri=f"models:/{registry.model_name}/{version}",
            dst_path=tmp,
            tracking_uri=registry.uri,
            registry_uri=registry.uri,
        )
        return AlienClassifier.load(deployable_path(local))


def load_champion(cfg: RegistryConfig | Store) -> tuple[str, AlienClassifier] | None:
    """The champion's version and classifier, or ``None`` if there is no champion yet.

    Args:
        cfg: the ``registry`` section, or a connected :class:`~alien.tracking.store.Store`. A local store
            that does not exist yet (before the first registration) has no champion;
            it is not created.

    Raises:
        RegistryUnavailableError: the tracking store / registry cannot be reached.
    """
    if isinstance(cfg, RegistryConfig):
        if missing_store(resolve_tracking_uri(cfg.tracking_uri)) is not None:
            return None
        cfg = Store.from_config(cfg)
    if not isinstance(cfg, Store):
        raise TypeError(f"cfg must be a RegistryConfig or a Store, got {type(cfg).__name__}")
    version = cfg.champion()
    if version is None:
        return None
    return version, load_classifier(cfg, version)
