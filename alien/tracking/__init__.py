"""MLflow tracking and model registry for the ALIEN pipeline.

The only place (with :mod:`alien.stages.register`) that talks to MLflow.
Submodules import ``mlflow`` lazily, inside functions, so importing
``alien.tracking`` costs nothing and sets no tracking URI;
:func:`configure_tracking` is what entry points call.
"""

from alien.tracking.setup import RegistryUnavailableError, configure_tracking, resolve_tracking_uri

__all__ = ["RegistryUnavailableError", "configure_tracking", "resolve_tracking_uri"]
