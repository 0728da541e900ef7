"""MLflow tracking and the model registry for the ALIEN pipeline.

The only place (with :mod:`alien.stages.register`) that talks to MLflow. One way
round, each module importing only what lies below it:

* :mod:`~alien.tracking.names` — every alias and tag name;
* :mod:`~alien.tracking.setup` — resolving and probing a store (explicit clients;
  :func:`~alien.tracking.setup.pointed_at` is the one scoped change of MLflow's
  process-wide URIs), :mod:`~alien.tracking.journal`, :mod:`~alien.tracking.events`,
  :mod:`~alien.tracking.lock`;
* :mod:`~alien.tracking.store` — :class:`Store`, the client and its reads;
* :mod:`~alien.tracking.cards`, :mod:`~alien.tracking.recovery`,
  :mod:`~alien.tracking.lifecycle`, :mod:`~alien.tracking.registration` — the
  changes, as functions over a store;
* :mod:`~alien.tracking.registry` — :class:`Registry`, the facade on top that
  nothing here imports.

Submodules import ``mlflow`` lazily, inside functions, so importing ``alien.tracking``
costs little and sets no tracking URI. May import ``alien.config``, ``alien.core``,
``alien.task``, ``alien.assets`` and ``alien.evaluation`` (the model card); never
``alien.stages``.
"""

from alien.tracking.lock import RegistryBusyError
from alien.tracking.registry import Registry
from alien.tracking.setup import RegistryUnavailableError, configure_tracking, resolve_tracking_uri
from alien.tracking.store import Store

__all__ = [
    "Registry",
    "RegistryBusyError",
    "RegistryUnavailableError",
    "Store",
    "configure_tracking",
    "resolve_tracking_uri",
]
