"""Real servers on 127.0.0.1 for the integration tests (``pytest -m integration``).

- ``postgres``: a throwaway PostgreSQL cluster (Debian's server binaries) for the session.
- ``start_mlflow_server(backend_store_uri, artifacts_destination=None)``: start ``mlflow server``
  (the command in :mod:`tests.integration.commands`) on a free port in its own process group,
  wait for ``/health``; every server started is stopped (the whole group) at session end.
- ``mlflow_server``: one such server on the ``mlflow`` database of ``postgres``, artifacts
  served by the tracking server from a temporary folder.
- ``prefect_server``: ``prefect server start`` on a free port, its database the ``prefect``
  database of ``postgres`` (asyncpg), as in ``infra/docker-compose.yml``; ``prefect_env`` is
  what a client needs (``PREFECT_API_URL``, a private ``PREFECT_HOME``).

Every test under this folder carries the ``integration`` marker, so the default
``pytest`` run (``-m 'not slow and not integration'``) skips them; ``make test-integration`` runs them.
"""

from __future__ import annotations

import signal
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.integration import commands
from tests.integration.servers import (
    Postgres,
    ServerProcess,
    free_port,
    start,
    start_postgres,
    stop_postgres,
    wait_http,
)

HERE = Path(__file__).parent

StartMlflow = Callable[..., ServerProcess]


def pytest_configure(config: pytest.Config) -> None:
    # a CI timeout sends SIGTERM: turn it into the KeyboardInterrupt pytest tears fixtures
    # down on, so no server or PostgreSQL cluster outlives the run
    def _interrupt(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGTERM, _interrupt)


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # tryfirst: the marker must be on the item before `-m` deselects
    for item in items:
        if HERE in Path(str(item.path)).parents:
            item.add_marker(pytest.mark.integration)


@pytest.fixture(scope="session")
def postgres() -> Iterator[Postgres]:
    """A PostgreSQL cluster on a free 127.0.0.1 port, stopped and deleted at session end.

    Its password is in ``PGPASSWORD`` for the session, so every server and client started
    from the tests authenticates the way the compose services do.
    """
    pg = start_postgres()
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("PGPASSWORD", pg.password)
        yield pg
    stop_postgres(pg)


@pytest.fixture(scope="session")
def start_mlflow_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StartMlflow]:
    """A factory: ``start_mlflow_server(backend_store_uri, artifacts_destination=None) -> ServerProcess``.

    The server listens on a free 127.0.0.1 port (``server.url``); ``server.stop()`` ends its
    process group early (e.g. to simulate an outage), otherwise the session does.
    """
    started: list[ServerProcess] = []

    def _start(backend_store_uri: str, artifacts_destination: str | None = None) -> ServerProcess:
        folder = tmp_path_factory.mktemp("mlflow-server")
        port = free_port()
        argv = commands.mlflow_server(
            host="127.0.0.1",
            port=port,
            backend_store_uri=backend_store_uri,
            artifacts_destination=artifacts_destination or str(folder / "artifacts"),
        )
        server = start(argv, log=folder / "server.log", url=f"http://127.0.0.1:{port}", cwd=folder)
        started.append(server)
        wait_http(server, "/health")
        return server

    yield _start
    for server in started:
        server.stop()


@pytest.fixture(scope="session")
def prefect_server(tmp_path_factory: pytest.TempPathFactory, postgres: Postgres) -> Iterator[ServerProcess]:
    """``prefect server start`` on PostgreSQL, API at ``server.url + "/api"``; stopped at session end."""
    folder = tmp_path_factory.mktemp("prefect-server")
    port = free_port()
    postgres.create_database("prefect")
    server = start(
        commands.prefect_server(host="127.0.0.1", port=port),
        log=folder / "server.log",
        url=f"http://127.0.0.1:{port}",
        cwd=folder,
        PREFECT_HOME=str(folder / "home"),
        PREFECT_API_DATABASE_CONNECTION_URL=postgres.uri("prefect", driver="postgresql+asyncpg"),
        # a run refused a concurrency slot retries after this long (default 30 s)
        PREFECT_SERVER_DEPLOYMENTS_CONCURRENCY_SLOT_WAIT_SECONDS="2",
        # the scheduler fills a new deployment's calendar on its next loop (default every 60 s)
        PREFECT_SERVER_SERVICES_SCHEDULER_LOOP_SECONDS="5",
    )
    wait_http(server, "/api/health")
    yield server
    server.stop()


@pytest.fixture(scope="session")
def prefect_env(tmp_path_factory: pytest.TempPathFactory, prefect_server: ServerProcess) -> dict[str, str]:
    """Environment for Prefect clients, CLIs and workers talking to ``prefect_server``."""
    return {
        "PREFECT_API_URL": f"{prefect_server.url}/api",
        "PREFECT_HOME": str(tmp_path_factory.mktemp("prefect-client-home")),
    }


@pytest.fixture(scope="session")
def mlflow_server(postgres: Postgres, start_mlflow_server: StartMlflow) -> ServerProcess:
    """``mlflow server`` on PostgreSQL (database ``mlflow``), artifacts served by the server."""
    return start_mlflow_server(postgres.create_database("mlflow"))
