"""Champion / challenger bookkeeping in the MLflow model registry, with aliases only.

Stages (``Staging``/``Production``) are deprecated in MLflow; every state here
is an alias on a registered model:

* ``champion`` — the version served (``models:/<name>@champion``);
* ``challenger`` — the newest registered candidate;
* ``previous-champion`` — what :func:`rollback` returns to;
* ``rolled-back`` — the version a rollback replaced, kept reachable for a post-mortem.

Each promotion tags the new champion with ``promoted_at`` and ``promoted_from``
(the champion it replaced), so repeated rollbacks can walk the chain back.
All functions use the tracking/registry URI set by
:func:`alien.tracking.configure_tracking` unless a client is passed.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mlflow import MlflowClient
    from mlflow.entities.model_registry import ModelVersion

CHAMPION = "champion"
CHALLENGER = "challenger"
PREVIOUS = "previous-champion"
ROLLED_BACK = "rolled-back"
TAG_PROMOTED_AT = "promoted_at"
TAG_PROMOTED_FROM = "promoted_from"
TAG_ROLLED_BACK_AT = "rolled_back_at"
TAG_GATE_PASSED = "gate_passed"


def _client(client: MlflowClient | None) -> MlflowClient:
    if client is not None:
        return client
    from mlflow import MlflowClient

    return MlflowClient()


def _is_missing(exc: Exception) -> bool:
    """Whether an MLflow error means "no such model / version / alias"."""
    code = getattr(exc, "error_code", "")
    return code in ("RESOURCE_DOES_NOT_EXIST", "NOT_FOUND") or "not found" in str(exc).lower()


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def aliases_of(name: str, *, client: MlflowClient | None = None) -> dict[str, str]:
    """``{alias: version}`` of registered model ``name`` (empty if the model does not exist)."""
    from mlflow.exceptions import MlflowException

    try:
        model = _client(client).get_registered_model(name)
    except MlflowException as exc:
        if _is_missing(exc):
            return {}
        raise
    return {alias: str(version) for alias, version in model.aliases.items()}


def get_version_by_alias(name: str, alias: str, *, client: MlflowClient | None = None) -> ModelVersion | None:
    """The version ``alias`` points to, or ``None`` if the model or the alias does not exist."""
    version = aliases_of(name, client=client).get(alias)
    if version is None:
        return None
    return _client(client).get_model_version(name, version)


def get_champion_version(name: str, *, client: MlflowClient | None = None) -> ModelVersion | None:
    """The current champion of registered model ``name``, or ``None`` if there is none.

    Raises:
        ValueError: ``name`` is empty.
    """
    if not name:
        raise ValueError("registered model name must not be empty")
    return get_version_by_alias(name, CHAMPION, client=client)


def promote(name: str, version: str | int, *, client: MlflowClient | None = None) -> str | None:
    """Make ``version`` the champion; the old champion becomes ``previous-champion``.

    Promoting the current champion again changes nothing.

    Args:
        name: registered model name.
        version: the version to promote (must exist).
        client: an MLflow client (default: one for the configured URI).

    Returns:
        The version that was champion before (``None`` if there was none).

    Raises:
        ValueError: ``version`` does not exist in ``name``.
    """
    from mlflow.exceptions import MlflowException

    mlflow_client = _client(client)
    version = str(version)
    try:
        mlflow_client.get_model_version(name, version)
    except MlflowException as exc:
        if _is_missing(exc):
            raise ValueError(f"cannot promote: model {name!r} has no version {version!r}") from exc
        raise
    old = aliases_of(name, client=mlflow_client).get(CHAMPION)
    if old == version:
        return old
    if old is not None:
        mlflow_client.set_registered_model_alias(name, PREVIOUS, old)
    mlflow_client.set_registered_model_alias(name, CHAMPION, version)
    mlflow_client.set_model_version_tag(name, version, TAG_PROMOTED_AT, _now())
    mlflow_client.set_model_version_tag(name, version, TAG_PROMOTED_FROM, old or "")
    return old


def rollback(name: str, *, client: MlflowClient | None = None) -> tuple[str, str]:
    """Move ``champion`` back to ``previous-champion``.

    The replaced version keeps the alias ``rolled-back`` and a ``rolled_back_at``
    tag. ``previous-champion`` then moves one step further back (to the version
    the restored champion had replaced), or is removed when there is none.

    Returns:
        ``(from_version, to_version)``.

    Raises:
        ValueError: there is no champion or no previous champion to return to.
    """
    mlflow_client = _client(client)
    aliases = aliases_of(name, client=mlflow_client)
    current, previous = aliases.get(CHAMPION), aliases.get(PREVIOUS)
    if current is None:
        raise ValueError(f"cannot roll back {name!r}: it has no {CHAMPION!r} alias")
    if previous is None:
        raise ValueError(
            f"cannot roll back {name!r}: no {PREVIOUS!r} alias (champion v{current} was never replaced)"
        )
    mlflow_client.set_registered_model_alias(name, CHAMPION, previous)
    mlflow_client.set_registered_model_alias(name, ROLLED_BACK, current)
    mlflow_client.set_model_version_tag(name, current, TAG_ROLLED_BACK_AT, _now())
    before = mlflow_client.get_model_version(name, previous).tags.get(TAG_PROMOTED_FROM, "")
    existing = {str(v.version) for v in mlflow_client.search_model_versions(f"name = '{name}'")}
    if before and before in existing and before != current:
        mlflow_client.set_registered_model_alias(name, PREVIOUS, before)
    else:
        mlflow_client.delete_registered_model_alias(name, PREVIOUS)
    return current, previous


def history(name: str, *, client: MlflowClient | None = None) -> list[dict[str, Any]]:
    """Every version of ``name``, oldest first, with aliases, tags and gate verdict.

    Returns:
        One dict per version: ``version``, ``aliases`` (sorted list), ``tags``,
        ``gate_passed`` (``True``/``False``, ``None`` if untagged), ``created_at``
        (ISO-8601 UTC), ``run_id``, ``status``. Empty if the model does not exist.
    """
    mlflow_client = _client(client)
    by_version: dict[str, list[str]] = {}
    for alias, version in aliases_of(name, client=mlflow_client).items():
        by_version.setdefault(version, []).append(alias)
    versions = mlflow_client.search_model_versions(f"name = '{name}'")
    rows = []
    for v in sorted(versions, key=lambda v: int(v.version)):
        gate = v.tags.get(TAG_GATE_PASSED)
        rows.append(
            {
                "version": str(v.version),
                "aliases": sorted(by_version.get(str(v.version), [])),
                "tags": dict(v.tags),
                "gate_passed": None if gate is None else gate.lower() == "true",
                "created_at": datetime.fromtimestamp(v.creation_timestamp / 1000, UTC).isoformat(),
                "run_id": v.run_id,
                "status": v.status,
            }
        )
    return rows
