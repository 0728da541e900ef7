"""The server commands, once: the integration tests start these by hand and
``infra/docker-compose.yml`` runs the same lists (``test_compose.py`` checks they agree).

Each function returns an argv list; values differ between a test (127.0.0.1, a free
port, a temporary folder) and the compose file (0.0.0.0 inside the container, fixed
ports, an S3 bucket), the flags and their order do not.
"""

from __future__ import annotations

WORK_POOL = "alien-process"
DEPLOYMENT = "nightly-retrain"
NIGHTLY_CRON = "0 2 * * *"


def mlflow_server(*, host: str, port: int, backend_store_uri: str, artifacts_destination: str) -> list[str]:
    """The tracking server: a SQL backend store, artifacts proxied by the server itself."""
    return [
        "mlflow",
        "server",
        "--host",
        host,
        "--port",
        str(port),
        "--backend-store-uri",
        backend_store_uri,
        "--serve-artifacts",
        "--artifacts-destination",
        artifacts_destination,
    ]


def prefect_server(*, host: str, port: int) -> list[str]:
    """The Prefect API, UI and scheduler (its database comes from PREFECT_API_DATABASE_CONNECTION_URL)."""
    return ["prefect", "server", "start", "--host", host, "--port", str(port)]


def create_work_pool(*, pool: str = WORK_POOL) -> list[str]:
    """A process work pool; ``--overwrite`` makes a rerun of the setup step harmless."""
    return ["prefect", "work-pool", "create", pool, "--type", "process", "--overwrite"]


def deploy_nightly(*, params: str, cron: str = NIGHTLY_CRON, pool: str = WORK_POOL) -> list[str]:
    """Register the nightly deployment (declared in flows/deploy.py) on the work pool."""
    return ["python", "-m", "flows.deploy", "--pool", pool, "--cron", cron, "--params", params]


def prefect_worker(*, pool: str = WORK_POOL) -> list[str]:
    """A worker that polls the pool and runs each flow run in a subprocess."""
    return ["prefect", "worker", "start", "--pool", pool, "--type", "process"]
