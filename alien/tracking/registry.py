"""The registry as one object: :class:`Registry`, a :class:`~alien.tracking.store.Store` with its changes.

A facade for callers (the CLI, the register stage, tests): each write method is a
function of :mod:`~alien.tracking.recovery`, :mod:`~alien.tracking.lifecycle` or
:mod:`~alien.tracking.registration` applied to this store. It sits on top: no module
of ``alien.tracking`` imports it.

Every write runs as one journal plan, after finishing any interrupted one, and
callers that race (the register stage) hold :meth:`Registry.lock`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from alien.tracking import lifecycle, recovery
from alien.tracking.lock import RegistryLock, registry_lock
from alien.tracking.store import Store

if TYPE_CHECKING:
    from mlflow.entities.model_registry import ModelVersion


@dataclass(frozen=True)
class Registry(Store):
    """One registered model in one MLflow registry: its reads (:class:`Store`) and its changes."""

    def lock(self, *, timeout: float = 600.0) -> RegistryLock:
        """The lock that serialises writers of this model on this machine (see :mod:`alien.tracking.lock`)."""
        return registry_lock(self.uri, self.model_name, timeout=timeout)

    def recover(self, *, token: str | None = None) -> recovery.Recovery:
        """Finish an interrupted change and delete orphaned pending versions (hold :meth:`lock`)."""
        return recovery.recover(self, token=token)

    def orphans(self) -> list[ModelVersion]:
        """Pending versions left by interrupted registrations (deleted by the next :meth:`recover`)."""
        return recovery.orphans(self)

    def promote(
        self,
        version: str | int,
        *,
        expected_champion: str | None,
        reason: str,
        run_id: str | None = None,
        extra: dict[str, Any] | None = None,
    ) -> lifecycle.Promotion:
        """Make ``version`` the champion if the champion is still ``expected_champion`` (compare-and-set).

        See :func:`alien.tracking.lifecycle.promote`.
        """
        return lifecycle.promote(
            self, str(version), expected_champion=expected_champion, reason=reason, run_id=run_id, extra=extra
        )

    def rollback(self, *, reason: str, by: str | None = None) -> tuple[str, str]:
        """Return ``@champion`` to the previous champion and pin it; returns ``(from, to)``."""
        return lifecycle.rollback(self, reason=reason, by=by)

    def unpin(self, *, reason: str, by: str | None = None) -> str:
        """Allow promotions again after a rollback; returns the version that was pinned."""
        return lifecycle.unpin(self, reason=reason, by=by)
