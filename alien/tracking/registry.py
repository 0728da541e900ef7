"""The model registry as one object, :class:`Registry`, passed explicitly.

Every state is an alias or a tag on one registered model (MLflow stages are deprecated):

* ``champion`` — the version served (``models:/<name>@champion``);
* ``challenger`` — the newest registered production candidate;
* ``previous-champion`` — what a rollback returns to;
* ``rolled-back`` — the version the last rollback replaced (kept for the post-mortem).

Version tags record the lineage and the lifecycle (``alien.pending`` while a
registration is unfinished, ``alien.eligible=false`` once rolled back, who
promoted it and from what); registered-model tags hold the pin set by a
rollback, the promotion history (:mod:`alien.tracking.events`) and the
journal of an unfinished change (:mod:`alien.tracking.journal`).

Reading never writes. Every write runs as one journal plan, after finishing
any interrupted one, and callers that race (the register stage) hold
:meth:`Registry.lock`. Nothing here sets a process-wide tracking URI or
creates an experiment.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from alien.tracking import journal
from alien.tracking.events import events_from_tags
from alien.tracking.setup import probe, resolve_tracking_uri

if TYPE_CHECKING:
    from mlflow import MlflowClient
    from mlflow.entities.model_registry import ModelVersion

    from alien.config import RegistryConfig
    from alien.tracking.lifecycle import Promotion
    from alien.tracking.lock import RegistryLock
    from alien.tracking.registration import Recovery, Registration

CHAMPION = "champion"
CHALLENGER = "challenger"
PREVIOUS = "previous-champion"
ROLLED_BACK = "rolled-back"
PRODUCTION_ALIASES = (CHAMPION, CHALLENGER, PREVIOUS, ROLLED_BACK)
MODES = ("production", "experiment")
TAG_PROMOTED_AT = "promoted_at"
TAG_PROMOTED_FROM = "promoted_from"
TAG_GATE_PASSED = "gate_passed"
TAG_PENDING = "alien.pending"
TAG_ELIGIBLE = "alien.eligible"
TAG_MODE = "alien.mode"
PIN_TAG = "alien.pin"


def is_missing(exc: Exception) -> bool:
    """Whether an MLflow error means "no such model / version / alias"."""
    code = getattr(exc, "error_code", "")
    return code in ("RESOURCE_DOES_NOT_EXIST", "NOT_FOUND") or "not found" in str(exc).lower()


@dataclass(frozen=True)
class Registry:
    """One registered model in one MLflow registry.

    Build it with :meth:`connect` (or :meth:`from_config`), which probes the
    store once; the object holds its own client, so nothing global changes.
    """

    client: MlflowClient
    model_name: str
    uri: str
    mode: str = "production"

    def __post_init__(self) -> None:
        if not self.model_name.strip():
            raise ValueError("registered model name must not be empty")
        if self.mode not in MODES:
            raise ValueError(f"registry mode {self.mode!r} is not one of {list(MODES)}")

    @classmethod
    def connect(
        cls, tracking_uri: str, model_name: str, *, mode: str = "production", create: bool = False
    ) -> Registry:
        """Resolve ``tracking_uri`` (``$MLFLOW_TRACKING_URI`` wins), probe it once, return the registry.

        Args:
            tracking_uri: ``registry.tracking_uri``; relative sqlite paths are made absolute.
            model_name: the registered model.
            mode: ``production`` or ``experiment`` (experiments never move production aliases).
            create: allow a missing local store to be created (the register stage only).

        Raises:
            RegistryUnavailableError: the store does not answer, or does not exist and
                ``create`` is false (a mistyped sqlite path is refused, not created).
            ValueError: empty model name or unknown mode.
        """
        uri = resolve_tracking_uri(tracking_uri)
        return cls(probe(uri, create=create), model_name, uri, mode)

    @classmethod
    def from_config(cls, cfg: RegistryConfig, *, create: bool = False) -> Registry:
        """:meth:`connect` with the ``registry`` section (``mode`` defaults to production)."""
        mode = str(getattr(cfg, "mode", "production"))
        return cls.connect(cfg.tracking_uri, cfg.model_name, mode=mode, create=create)

    # -- reading -------------------------------------------------------------------------------------

    def _model(self) -> Any:
        from mlflow.exceptions import MlflowException

        try:
            return self.client.get_registered_model(self.model_name)
        except MlflowException as exc:
            if is_missing(exc):
                return None
            raise

    def exists(self) -> bool:
        """Whether the registered model exists."""
        return self._model() is not None

    def aliases(self) -> dict[str, str]:
        """``{alias: version}`` (empty if the model does not exist)."""
        model = self._model()
        return {} if model is None else {a: str(v) for a, v in model.aliases.items()}

    def model_tags(self) -> dict[str, str]:
        """The registered model's tags (pin, events, journal)."""
        model = self._model()
        return {} if model is None else dict(model.tags)

    def champion(self) -> str | None:
        """The champion's version, or ``None`` when there is none."""
        return self.aliases().get(CHAMPION)

    def model_version(self, version: str | int) -> ModelVersion:
        """One version.

        Raises:
            ValueError: the version does not exist.
        """
        from mlflow.exceptions import MlflowException

        try:
            return self.client.get_model_version(self.model_name, str(version))
        except MlflowException as exc:
            if is_missing(exc):
                raise ValueError(f"model {self.model_name!r} has no version {str(version)!r}") from exc
            raise

    def versions(self) -> list[ModelVersion]:
        """Every version, oldest first (pending ones included)."""
        if not self.exists():
            return []
        found = self.client.search_model_versions(f"name = '{self.model_name}'")
        return sorted(found, key=lambda v: int(v.version))

    def pin(self) -> dict[str, Any] | None:
        """The pin a rollback set (``version``, ``at``, ``by``, ``reason``), or ``None``."""
        text = self.model_tags().get(PIN_TAG)
        return None if text is None else dict(json.loads(text))

    def pending_change(self) -> journal.Plan | None:
        """An interrupted change still recorded in the journal (finished by the next write)."""
        return journal.pending(self.client, self.model_name)

    def events(self) -> list[dict[str, Any]]:
        """The promotion history, oldest first (see :mod:`alien.tracking.events`)."""
        return events_from_tags(self.model_tags())

    def history(self) -> list[dict[str, Any]]:
        """Every version, oldest first, with its aliases and lifecycle.

        Returns:
            One dict per version: ``version``, ``aliases`` (sorted), ``tags``, ``gate_passed``
            (``None`` if untagged), ``created_at`` (ISO-8601 UTC), ``run_id``, ``status``,
            ``pending``, ``eligible``, ``mode``. Empty if the model does not exist.
        """
        by_version: dict[str, list[str]] = {}
        for alias, version in self.aliases().items():
            by_version.setdefault(version, []).append(alias)
        rows = []
        for v in self.versions():
            tags, gate = dict(v.tags), v.tags.get(TAG_GATE_PASSED)
            rows.append(
                {
                    "version": str(v.version),
                    "aliases": sorted(by_version.get(str(v.version), [])),
                    "tags": tags,
                    "gate_passed": None if gate is None else gate.lower() == "true",
                    "created_at": datetime.fromtimestamp(v.creation_timestamp / 1000, UTC).isoformat(),
                    "run_id": v.run_id,
                    "status": v.status,
                    "pending": tags.get(TAG_PENDING) == "true",
                    "eligible": tags.get(TAG_ELIGIBLE, "true") == "true",
                    "mode": tags.get(TAG_MODE, "production"),
                }
            )
        return rows

    # -- writing (each one journal plan) ---------------------------------------------------------------

    def lock(self, *, timeout: float = 600.0) -> RegistryLock:
        """The lock that serialises writers of this model on this machine (see :mod:`alien.tracking.lock`)."""
        from alien.tracking.lock import registry_lock

        return registry_lock(self.uri, self.model_name, timeout=timeout)

    def recover(self, *, token: str | None = None) -> Recovery:
        """Finish an interrupted change and delete orphaned pending versions (hold :meth:`lock`)."""
        from alien.tracking.registration import recover

        return recover(self, token=token)

    def promote(
        self, version: str | int, *, expected_champion: str | None, reason: str, run_id: str | None = None,
        extra: dict[str, Any] | None = None,
    ) -> Promotion:  # fmt: skip
        """Make ``version`` the champion if the champion is still ``expected_champion`` (compare-and-set).

        Refused (``promoted=False`` with the reason) in experiment mode, while the
        champion is pinned, for a version that is not eligible, or when the champion
        changed since the caller looked. Raises ``ValueError`` for an unknown version.
        """
        from alien.tracking.lifecycle import promote

        return promote(
            self, str(version), expected_champion=expected_champion, reason=reason, run_id=run_id, extra=extra
        )

    def rollback(self, *, reason: str, by: str | None = None) -> tuple[str, str]:
        """Return ``@champion`` to the previous champion and pin it; returns ``(from, to)``."""
        from alien.tracking.lifecycle import rollback

        return rollback(self, reason=reason, by=by)

    def unpin(self, *, reason: str, by: str | None = None) -> str:
        """Allow promotions again after a rollback; returns the version that was pinned."""
        from alien.tracking.lifecycle import unpin

        return unpin(self, reason=reason, by=by)

    def register_version(
        self, source: str, *, token: str, run_id: str, model_id: str | None, tags: dict[str, str],
        description: str, promote: bool, expected_champion: str | None, reason: str,
        extra: dict[str, Any] | None = None,
    ) -> Registration:  # fmt: skip
        """Register ``source`` once per ``token``: pending version, then one commit plan.

        A finished version with the same token is returned instead of a new one
        (``reused``). Promotion, when ``promote``, is the compare-and-set of
        :meth:`promote`; ``challenger`` moves in production mode only. On failure the
        pending version is cleaned up (or left, reported, for the next run) and the
        error re-raised. Hold :meth:`lock` and call :meth:`recover` first.
        """
        from alien.tracking.registration import register_version

        return register_version(
            self, source, token=token, run_id=run_id, model_id=model_id, tags=tags,
            description=description, promote=promote, expected_champion=expected_champion,
            reason=reason, extra=extra,
        )  # fmt: skip

    def orphans(self) -> list[ModelVersion]:
        """Pending versions left by interrupted registrations (deleted by the next :meth:`recover`)."""
        from alien.tracking.registration import orphans

        return orphans(self)
