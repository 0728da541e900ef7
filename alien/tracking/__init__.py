"""MLflow tracking and the model registry for the ALIEN pipeline.

The only place (with :mod:`alien.stages.register`) that talks to MLflow.
:class:`Registry` is the registry, passed explicitly (``Registry.connect`` probes
once and changes nothing global); :func:`configure_tracking` is what the register
stage calls to start a run. Submodules import ``mlflow`` lazily, inside
functions, so importing ``alien.tracking`` costs nothing and sets no tracking URI.

May import ``alien.config``, ``alien.core``, ``alien.task`` and ``alien.evaluation``
(the model card); never ``alien.stages``.
"""

from alien.tracking.lock import RegistryBusyError
from alien.tracking.registry import Registry
from alien.tracking.setup import RegistryUnavailableError, configure_tracking, resolve_tracking_uri

__all__ = [
    "Registry",
    "RegistryBusyError",
    "RegistryUnavailableError",
    "configure_tracking",
    "resolve_tracking_uri",
]
