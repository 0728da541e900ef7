"""Pointing MLflow at the tracking store and registry, and failing fast when it is down."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from alien.assets.environ import scoped_environ
from alien.config.registry import RegistryConfig

if TYPE_CHECKING:
    from mlflow import MlflowClient

TRACKING_URI_ENV = "MLFLOW_TRACKING_URI"
# A probe gets no retries and a short timeout so "registry down" fails in seconds;
# later calls keep a few retries because a pipeline run should survive a blip.
_PROBE_HTTP_ENV = {"MLFLOW_HTTP_REQUEST_MAX_RETRIES": "0", "MLFLOW_HTTP_REQUEST_TIMEOUT": "5"}
# What a pipeline run sets where the user has not (for the run only: see alien.stages.register).
RUN_ENV = {
    "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR": "false",  # a bar per file buries stage logs
    "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "2",
    "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR": "1",
    "MLFLOW_HTTP_REQUEST_TIMEOUT": "60",
}


class RegistryUnavailableError(RuntimeError):
    """The MLflow tracking store / model registry cannot be reached."""


def is_missing(exc: Exception) -> bool:
    """Whether an MLflow error means "no such model / version / alias / tag"."""
    code = getattr(exc, "error_code", "")
    return code in ("RESOURCE_DOES_NOT_EXIST", "NOT_FOUND") or "not found" in str(exc).lower()


def resolve_tracking_uri(configured: str, *, root: str | Path | None = None) -> str:
    """The tracking URI to use: ``$MLFLOW_TRACKING_URI`` if set, else ``configured``.

    Relative sqlite paths and bare directory paths are made absolute against
    ``root`` (default: the current directory, i.e. the project root), so a stage
    started from elsewhere still finds the same store.

    Args:
        configured: ``registry.tracking_uri`` from ``params.yaml``.
        root: directory that relative paths are resolved against.

    Returns:
        An absolute URI, e.g. ``sqlite:////project/mlflow.db`` or ``http://host:5000``.

    Raises:
        ValueError: the URI is empty.
    """
    uri = os.environ.get(TRACKING_URI_ENV) or configured
    if not uri.strip():
        raise ValueError(f"empty MLflow tracking URI (registry.tracking_uri={configured!r})")
    base = Path(root) if root is not None else Path.cwd()
    if uri.startswith("sqlite:///"):
        db = uri[len("sqlite:///") :]
        if db and db != ":memory:" and not db.startswith("/"):
            return f"sqlite:///{(base / db).resolve()}"
        return uri
    if "://" not in uri and not uri.startswith("file:"):
        return (base / uri).resolve().as_uri()
    return uri


@contextlib.contextmanager
def pointed_at(uri: str) -> Iterator[None]:
    """Point MLflow's process-wide tracking and registry URIs at ``uri`` for the block only.

    The one place ``alien`` touches them. Everything else passes a client
    (``MlflowClient(tracking_uri=..., registry_uri=...)``); this is for what MLflow
    offers only through its global URIs: ``models:/`` downloads, and the fluent run
    that ``mlflow.pyfunc.log_model`` logs into (it takes no client and no run id). The
    previous URIs, and the ``MLFLOW_*_URI`` variables MLflow's setters export, are
    restored afterwards, so one call cannot redirect the next in the same process.
    """
    import mlflow
    from mlflow.tracking._model_registry import utils as registry_utils
    from mlflow.tracking._tracking_service import utils as tracking_utils

    # The explicitly set values (None when unset, so env/defaults keep applying afterwards);
    # get_tracking_uri() would return a resolved default and pin it for the rest of the process.
    before = getattr(tracking_utils, "_tracking_uri", None), getattr(registry_utils, "_registry_uri", None)
    with scoped_environ(restore=(TRACKING_URI_ENV, "MLFLOW_REGISTRY_URI")):
        mlflow.set_tracking_uri(uri)
        mlflow.set_registry_uri(uri)
        try:
            yield
        finally:
            mlflow.set_tracking_uri(before[0])  # type: ignore[arg-type]  # None unsets it
            mlflow.set_registry_uri(before[1])  # type: ignore[arg-type]


def run_environment() -> contextlib.AbstractContextManager[None]:
    """:data:`RUN_ENV` for a pipeline run's block, where the user has not set them; restored afterwards."""
    return scoped_environ(RUN_ENV, override=False)


def _default_artifact_location(uri: str) -> str | None:
    """For a sqlite store, keep artifacts in ``mlartifacts/`` next to the database file."""
    if uri.startswith("sqlite:////"):
        return str(Path(uri[len("sqlite:///") :]).parent / "mlartifacts")
    return None  # a server or file store decides itself


def missing_store(uri: str) -> str | None:
    """Why ``uri`` names a local store that does not exist, or ``None`` if it exists (or is remote).

    MLflow creates a sqlite database (or a file store) on first contact, so a mistyped
    path would silently become a new, empty registry; read-only commands ask this first.
    """
    if uri.startswith("sqlite:///"):
        db = uri[len("sqlite:///") :]
        if db and db != ":memory:" and not Path(db).is_file():
            return f"there is no MLflow database at {db} (check registry.tracking_uri / {TRACKING_URI_ENV})"
        return None
    if uri.startswith("file:"):
        from urllib.parse import unquote, urlparse

        folder = Path(unquote(urlparse(uri).path))
        if not folder.is_dir():
            return f"there is no MLflow file store at {folder} (check registry.tracking_uri)"
    return None


def probe(uri: str, *, create: bool = False) -> MlflowClient:
    """A client for ``uri``, once tracking store and registry have answered.

    One fast probe: no retries and a short timeout, whatever the environment says
    (the retry settings of a pipeline run must not slow down "the registry is down").

    Args:
        uri: an absolute tracking URI (see :func:`resolve_tracking_uri`).
        create: allow MLflow to create a local store that does not exist yet (only the
            ``register`` stage, which writes the first version, passes ``True``).

    Raises:
        RegistryUnavailableError: either does not answer, or (``create=False``) the local
            store does not exist.
    """
    from mlflow import MlflowClient

    missing = None if create else missing_store(uri)
    if missing is not None:
        raise RegistryUnavailableError(f"MLflow registry at {uri} cannot be used: {missing}")
    with scoped_environ(_PROBE_HTTP_ENV):
        try:
            client = MlflowClient(tracking_uri=uri, registry_uri=uri)
            client.search_experiments(max_results=1)
            client.search_registered_models(max_results=1)
        except Exception as exc:  # any driver/HTTP error means the same thing to the caller
            raise RegistryUnavailableError(
                f"MLflow tracking store / registry at {uri} cannot be reached: {type(exc).__name__}: {exc}"
            ) from exc
    return client


@dataclass(frozen=True)
class Tracking:
    """The store a pipeline run logs into: its client, its URI and the run's experiment."""

    client: MlflowClient
    uri: str
    experiment_id: str


def configure_tracking(cfg: RegistryConfig, *, root: str | Path | None = None) -> Tracking:
    """Check the store answers and create the run's experiment if needed; nothing global changes.

    Only the ``register`` stage calls this: it is the one place that creates an
    experiment (and, on the first run, the sqlite database). Registry-only commands
    use :meth:`alien.tracking.store.Store.connect`, which creates nothing. MLflow's
    process-wide URIs stay as they are: the caller addresses the store through the
    returned client (and :func:`pointed_at` where MLflow reads only the global URI).

    Args:
        cfg: the ``registry`` section of ``params.yaml`` (``$MLFLOW_TRACKING_URI`` wins
            over ``cfg.tracking_uri``).
        root: the project root that a relative sqlite path is resolved against.

    Returns:
        The client, the absolute tracking URI and the id of ``cfg.experiment``.

    Raises:
        TypeError: ``cfg`` is not a :class:`RegistryConfig`.
        RegistryUnavailableError: the store cannot be reached (the message names the URI).
    """
    if not isinstance(cfg, RegistryConfig):
        raise TypeError(f"cfg must be a RegistryConfig, got {type(cfg).__name__}")
    uri = resolve_tracking_uri(cfg.tracking_uri, root=root)
    client = probe(uri, create=True)
    experiment = client.get_experiment_by_name(cfg.experiment)
    if experiment is not None:
        return Tracking(client, uri, str(experiment.experiment_id))
    created = client.create_experiment(cfg.experiment, artifact_location=_default_artifact_location(uri))
    return Tracking(client, uri, str(created))
