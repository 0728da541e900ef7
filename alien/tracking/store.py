"""One registered model in one MLflow registry, and everything read from it: :class:`Store`.

Every state is an alias or a tag on the registered model (:mod:`alien.tracking.names`):
``champion``, ``challenger``, ``previous-champion`` and ``rolled-back``; version tags
record the lineage and the lifecycle (``alien.pending`` while a registration is
unfinished, ``alien.eligible=false`` once rolled back, who promoted it and from what);
registered-model tags hold the pin set by a rollback, the promotion history
(:mod:`alien.tracking.events`) and the journal of an unfinished change
(:mod:`alien.tracking.journal`). The runs of registrations live in the project's
experiment (``experiment``), tagged with their owner process while they run.

Reading never writes. The changes are functions over a store, each importing only
what lies below it: :mod:`~alien.tracking.cards`, :mod:`~alien.tracking.recovery`,
:mod:`~alien.tracking.lifecycle`, :mod:`~alien.tracking.registration`;
:class:`alien.tracking.registry.Registry` gathers them as methods. Nothing here sets
a process-wide tracking URI or creates an experiment.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Self

from alien.tracking import journal
from alien.tracking.events import events_from_tags
from alien.tracking.names import (
    CHAMPION,
    MODES,
    PRODUCTION,
    REGISTERING,
    RUN_MODEL,
    RUN_PHASE,
    TAG_ELIGIBLE,
    TAG_GATE_PASSED,
    TAG_MODE,
    TAG_PENDING,
    TAG_PIN,
)
from alien.tracking.setup import is_missing, probe, resolve_tracking_uri

if TYPE_CHECKING:
    from mlflow import MlflowClient
    from mlflow.entities import Run
    from mlflow.entities.model_registry import ModelVersion

    from alien.config.registry import RegistryConfig


@dataclass(frozen=True)
class Store:
    """One registered model in one MLflow registry, read through its own client.

    Build it with :meth:`connect` (or :meth:`from_config`), which probes the store
    once; the object holds its client, so nothing global changes. ``experiment``
    (``registry.experiment``) is where its registrations' runs are; without it, no
    run is searched (:meth:`registering_runs` is empty).
    """

    client: MlflowClient
    model_name: str
    uri: str
    mode: str = PRODUCTION
    experiment: str | None = None

    def __post_init__(self) -> None:
        if not self.model_name.strip():
            raise ValueError("registered model name must not be empty")
        if self.mode not in MODES:
            raise ValueError(f"registry mode {self.mode!r} is not one of {list(MODES)}")

    @classmethod
    def connect(
        cls,
        tracking_uri: str,
        model_name: str,
        *,
        mode: str = PRODUCTION,
        experiment: str | None = None,
        create: bool = False,
        root: str | Path | None = None,
    ) -> Self:
        """Resolve ``tracking_uri`` (``$MLFLOW_TRACKING_URI`` wins), probe it once, return the store.

        Args:
            tracking_uri: ``registry.tracking_uri``; relative sqlite paths are made absolute.
            model_name: the registered model.
            mode: ``production`` or ``experiment`` (experiments never move production aliases).
            experiment: the MLflow experiment of its registrations' runs (``registry.experiment``).
            create: allow a missing local store to be created (the register stage only).
            root: what relative paths are resolved against (default: the current directory).

        Raises:
            RegistryUnavailableError: the store does not answer, or does not exist and
                ``create`` is false (a mistyped sqlite path is refused, not created).
            ValueError: empty model name or unknown mode.
        """
        uri = resolve_tracking_uri(tracking_uri, root=root)
        return cls(probe(uri, create=create), model_name, uri, mode, experiment)

    @classmethod
    def from_config(
        cls, cfg: RegistryConfig, *, create: bool = False, root: str | Path | None = None
    ) -> Self:
        """:meth:`connect` with the ``registry`` section."""
        return cls.connect(
            cfg.tracking_uri,
            cfg.model_name,
            mode=cfg.mode,
            experiment=cfg.experiment,
            create=create,
            root=root,
        )

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
        text = self.model_tags().get(TAG_PIN)
        return None if text is None else dict(json.loads(text))

    def pending_change(self) -> journal.Plan | None:
        """An interrupted change still recorded in the journal (finished by the next write)."""
        return journal.pending(self.client, self.model_name)

    def events(self) -> list[dict[str, Any]]:
        """The promotion history, oldest first (see :mod:`alien.tracking.events`)."""
        return events_from_tags(self.model_tags())

    def run_status(self, run_id: str | None) -> str | None:
        """The status of run ``run_id`` (``RUNNING``, ``FINISHED``, ...), ``None`` if unknown."""
        from mlflow.exceptions import MlflowException

        if not run_id:
            return None
        try:
            return str(self.client.get_run(run_id).info.status)
        except MlflowException:
            return None

    def registering_runs(self) -> list[Run]:
        """The RUNNING runs of this model's registrations in :attr:`experiment`, oldest first.

        They carry ``alien.phase=registering`` and the model's name from their start
        (:func:`alien.tracking.recovery.registering_tags`); empty without an experiment.
        """
        if self.experiment is None:
            return []
        found = self.client.get_experiment_by_name(self.experiment)
        if found is None:
            return []
        query = f"attributes.status = 'RUNNING' and tags.`{RUN_PHASE}` = '{REGISTERING}'"
        runs = self.client.search_runs([found.experiment_id], query, max_results=1000)
        mine = [r for r in runs if r.data.tags.get(RUN_MODEL) == self.model_name]
        return sorted(mine, key=lambda r: r.info.start_time or 0)

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
        return [_history_row(v, by_version.get(str(v.version), [])) for v in self.versions()]


def _history_row(version: ModelVersion, aliases: list[str]) -> dict[str, Any]:
    tags, gate = dict(version.tags), version.tags.get(TAG_GATE_PASSED)
    return {
        "version": str(version.version),
        "aliases": sorted(aliases),
        "tags": tags,
        "gate_passed": None if gate is None else gate.lower() == "true",
        "created_at": datetime.fromtimestamp(version.creation_timestamp / 1000, UTC).isoformat(),
        "run_id": version.run_id,
        "status": version.status,
        "pending": tags.get(TAG_PENDING) == "true",
        "eligible": tags.get(TAG_ELIGIBLE, "true") == "true",
        "mode": tags.get(TAG_MODE, PRODUCTION),
    }
