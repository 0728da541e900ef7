"""All-or-nothing changes to one registered model.

MLflow has no registry transactions, so :func:`registry_transaction` takes a
snapshot (does the model exist, which versions, which aliases) and, if the
block raises, deletes what was added and puts every alias back. Assumes no one
else registers versions of the same model concurrently (one pipeline per model).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from alien.tracking.registry import aliases_of

if TYPE_CHECKING:
    from mlflow import MlflowClient

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RegistrySnapshot:
    """What a registered model looked like: existence, versions, ``{alias: version}``."""

    exists: bool
    versions: frozenset[str]
    aliases: dict[str, str]


def _versions(client: MlflowClient, name: str) -> set[str]:
    return {str(v.version) for v in client.search_model_versions(f"name = '{name}'")}


def snapshot(client: MlflowClient, name: str) -> RegistrySnapshot:
    """The current state of registered model ``name``."""
    from mlflow.exceptions import MlflowException

    try:
        client.get_registered_model(name)
    except MlflowException:
        return RegistrySnapshot(False, frozenset(), {})
    return RegistrySnapshot(True, frozenset(_versions(client, name)), aliases_of(name, client=client))


def restore(client: MlflowClient, name: str, before: RegistrySnapshot) -> None:
    """Bring registered model ``name`` back to ``before``: drop new versions, reset aliases."""
    from mlflow.exceptions import MlflowException

    if not before.exists:
        with contextlib.suppress(MlflowException):  # never created: nothing to undo
            client.delete_registered_model(name)
        return
    for version in sorted(_versions(client, name) - before.versions, key=int):
        client.delete_model_version(name, version)
    now = aliases_of(name, client=client)
    for alias in now.keys() - before.aliases.keys():
        client.delete_registered_model_alias(name, alias)
    for alias, version in before.aliases.items():
        if now.get(alias) != version:
            client.set_registered_model_alias(name, alias, version)


@contextlib.contextmanager
def registry_transaction(client: MlflowClient, name: str) -> Iterator[RegistrySnapshot]:
    """Run the block; on any exception restore ``name`` to its state before it, then re-raise.

    If restoring fails too, the original exception is raised with a note saying so.
    """
    before = snapshot(client, name)
    try:
        yield before
    except BaseException as exc:
        try:
            restore(client, name, before)
        except Exception as undo:
            log.exception("could not restore registered model %r", name)
            exc.add_note(f"restoring registered model {name!r} failed too: {undo!r}; check its aliases")
        raise
