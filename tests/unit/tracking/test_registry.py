"""Aliases, promotion, rollback, history and the registry transaction on a real sqlite store."""

from __future__ import annotations

import pytest

from alien.tracking import registry as reg
from alien.tracking.transaction import registry_transaction
from tests.unit.tracking.fixtures import empty_store, store  # noqa: F401  (pytest fixtures)

NAME = "unit-model"


@pytest.fixture
def client(store):  # noqa: F811
    from mlflow import MlflowClient

    return MlflowClient(tracking_uri=store, registry_uri=store)


def _add_versions(client, n: int, *, name: str = NAME) -> None:
    client.create_registered_model(name)
    for i in range(n):
        gate = {"gate_passed": str(i % 2 == 0).lower()}
        client.create_model_version(name, source=f"file:///artifacts/v{i}", tags=gate)


def test_promote_moves_old_champion_to_previous_and_rollback_walks_back(client) -> None:
    _add_versions(client, 3)
    assert reg.get_champion_version(NAME, client=client) is None
    assert reg.promote(NAME, 1, client=client) is None
    assert reg.promote(NAME, "2", client=client) == "1"
    assert reg.promote(NAME, "3", client=client) == "2"
    assert reg.promote(NAME, "3", client=client) == "3"  # already champion: a no-op
    assert reg.aliases_of(NAME, client=client) == {"champion": "3", "previous-champion": "2"}
    assert client.get_model_version(NAME, "3").tags["promoted_from"] == "2"

    assert reg.rollback(NAME, client=client) == ("3", "2")
    aliases = reg.aliases_of(NAME, client=client)
    assert aliases == {"champion": "2", "previous-champion": "1", "rolled-back": "3"}
    assert "rolled_back_at" in client.get_model_version(NAME, "3").tags
    assert reg.rollback(NAME, client=client) == ("2", "1")
    assert str(reg.get_champion_version(NAME, client=client).version) == "1"
    with pytest.raises(ValueError, match="previous-champion"):
        reg.rollback(NAME, client=client)


def test_promote_unknown_version_and_rollback_without_champion_raise(client) -> None:
    _add_versions(client, 1)
    with pytest.raises(ValueError, match="no version '7'"):
        reg.promote(NAME, 7, client=client)
    with pytest.raises(ValueError, match="no 'champion' alias"):
        reg.rollback(NAME, client=client)


def test_history_lists_versions_with_aliases_and_gate(client) -> None:
    assert reg.history("missing", client=client) == []
    _add_versions(client, 2)
    reg.promote(NAME, "1", client=client)
    client.set_registered_model_alias(NAME, reg.CHALLENGER, "2")
    rows = reg.history(NAME, client=client)
    assert [(r["version"], r["aliases"], r["gate_passed"]) for r in rows] == [
        ("1", ["champion"], True),
        ("2", ["challenger"], False),
    ]
    assert rows[0]["created_at"].startswith("20")


def test_transaction_restores_aliases_and_drops_new_versions(client) -> None:
    _add_versions(client, 2)
    reg.promote(NAME, "1", client=client)
    client.set_registered_model_alias(NAME, reg.CHALLENGER, "2")
    with pytest.raises(RuntimeError, match="boom"), registry_transaction(client, NAME):
        client.create_model_version(NAME, source="file:///artifacts/new")
        reg.promote(NAME, "3", client=client)
        client.set_registered_model_alias(NAME, "extra", "2")
        client.set_registered_model_alias(NAME, reg.CHALLENGER, "3")
        raise RuntimeError("boom")
    assert {str(v.version) for v in client.search_model_versions(f"name = '{NAME}'")} == {"1", "2"}
    assert reg.aliases_of(NAME, client=client) == {"champion": "1", "challenger": "2"}


def test_transaction_deletes_a_model_it_created(client) -> None:
    from mlflow.exceptions import MlflowException

    with pytest.raises(KeyError), registry_transaction(client, "fresh"):
        _add_versions(client, 1, name="fresh")
        raise KeyError("late failure")
    with pytest.raises(MlflowException):
        client.get_registered_model("fresh")
