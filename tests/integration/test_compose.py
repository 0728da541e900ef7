"""``infra/docker-compose.yml`` runs what the integration tests run, and the issue-12 §6 fixes hold.

Nothing is started: there is no Docker engine here. The compose file is parsed and
compared with :mod:`tests.integration.commands`, the lists the other tests start by hand.
"""

from __future__ import annotations

import fnmatch
import re
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.integration import commands

ROOT = Path(__file__).resolve().parents[2]
INFRA = ROOT / "infra"
COMPOSE: dict[str, Any] = yaml.safe_load((INFRA / "docker-compose.yml").read_text())
SERVICES: dict[str, dict[str, Any]] = COMPOSE["services"]
BIND = "${BIND_ADDRESS:-127.0.0.1}"
# what the containers run: inside a container a server listens on 0.0.0.0 (the published
# port decides who reaches it), the database and artifact store are the compose services
EXPECTED = {
    "mlflow": commands.mlflow_server(
        host="0.0.0.0",
        port=5000,
        backend_store_uri="postgresql://alien@postgres:5432/mlflow",
        artifacts_destination="s3://mlflow",
    ),
    "prefect-server": commands.prefect_server(host="0.0.0.0", port=4200),
    "prefect-pool": commands.create_work_pool(),
    "prefect-deploy": commands.deploy_nightly(params="params.yaml"),
    "prefect-worker": commands.prefect_worker(),
}


@pytest.mark.parametrize("service", sorted(EXPECTED))
def test_service_runs_the_command_the_tests_run(service: str) -> None:
    assert SERVICES[service]["command"] == EXPECTED[service]
    assert "entrypoint" not in SERVICES[service]


def test_images_are_pinned_and_nothing_installs_at_start() -> None:
    for name, service in SERVICES.items():
        image = service["image"]
        repo, _, tag = image.rpartition(":")
        assert repo and tag and tag != "latest", f"{name}: image {image!r} is not pinned"
        text = yaml.safe_dump({"c": service.get("command"), "e": service.get("entrypoint")})
        assert "pip install" not in text, name
    constraints = (ROOT / "constraints.txt").read_text()
    mlflow_pin = re.search(r"^mlflow==(\S+)$", constraints, re.M)
    assert mlflow_pin is not None
    assert SERVICES["mlflow"]["image"] == f"alien-mlflow:{mlflow_pin.group(1)}"
    assert f"mlflow=={mlflow_pin.group(1)}" in (INFRA / "mlflow.Dockerfile").read_text()
    assert "psycopg[binary]" in (INFRA / "mlflow.Dockerfile").read_text()


def test_pipeline_image_installs_the_s3_remote() -> None:
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    assert any(req.startswith("dvc-s3") for req in extras["s3"])
    assert '-e ".[pipeline,s3]"' in (INFRA / "Dockerfile").read_text()


def _ignored(patterns: list[str], path: str) -> bool:
    """Docker's rule: the last pattern matching the path or one of its parent folders wins."""
    parts = path.split("/")
    candidates = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    ignored = False
    for pattern in patterns:
        negate = pattern.startswith("!")
        glob = pattern.lstrip("!").rstrip("/")
        if any(fnmatch.fnmatch(c, glob) for c in candidates):
            ignored = not negate
    return ignored


def test_build_contexts_leave_out_venv_artifacts_and_data() -> None:
    for dockerfile in ("Dockerfile", "mlflow.Dockerfile"):
        lines = (INFRA / f"{dockerfile}.dockerignore").read_text().splitlines()
        patterns = [line.strip() for line in lines if line.strip() and not line.startswith("#")]
        heavy = [".venv/lib/python3.11/site-packages/torch/lib.so", "mlartifacts/1/model.pt",
                 "mlruns/0/meta.yaml", "mlflow.db", ".dvc/cache/files/md5/ab/cd", "data/raw.jsonl",
                 "models/finetuned/model.safetensors", "benchmarks/runs/matrix/x", ".git/objects/ab"]  # fmt: skip
        assert [p for p in heavy if not _ignored(patterns, p)] == [], dockerfile
        assert not _ignored(patterns, "constraints.txt")
    patterns = [p for p in (INFRA / "Dockerfile.dockerignore").read_text().splitlines() if p and p[0] != "#"]
    assert not any(_ignored(patterns, p) for p in ("pyproject.toml", "alien/core/head.py", "flows/deploy.py"))


def test_ports_bind_to_localhost_by_default_and_no_credentials_are_committed() -> None:
    for name, service in SERVICES.items():
        for port in service.get("ports", []):
            assert port.startswith(f"{BIND}:"), f"{name}: {port!r} would listen on every interface"
        for key, value in (service.get("environment") or {}).items():
            if re.search(r"PASSWORD|SECRET|ACCESS_KEY|ROOT_USER", key):
                assert re.fullmatch(r"\$\{[A-Z_]+:\?[^}]+\}", str(value)), (
                    f"{name}: {key} is not from the env"
                )
            assert not re.search(r"://[^/@:]+:[^/@]+@", str(value)), f"{name}: {key} has a password in a URI"
    for command in EXPECTED.values():
        assert not any(re.search(r"://[^/@:]+:[^/@]+@", arg) for arg in command)
    assert ".env" in (INFRA / ".gitignore").read_text().split()
    assert not (INFRA / ".env").exists() or ".env" in (INFRA / ".gitignore").read_text()


def test_start_order_waits_for_health_and_the_worker_reaches_minio_by_name() -> None:
    waits = {name: service.get("depends_on", {}) for name, service in SERVICES.items()}
    assert waits["minio-buckets"] == {"minio": {"condition": "service_healthy"}}
    assert "healthcheck" in SERVICES["minio"]
    assert waits["mlflow"]["minio-buckets"] == {"condition": "service_completed_successfully"}
    assert waits["prefect-deploy"] == {"prefect-pool": {"condition": "service_completed_successfully"}}
    assert waits["prefect-worker"]["prefect-deploy"] == {"condition": "service_completed_successfully"}
    worker = SERVICES["prefect-worker"]
    assert worker["environment"]["AWS_ENDPOINT_URL"] == "http://minio:9000"
    assert worker["environment"]["MLFLOW_TRACKING_URI"] == "http://mlflow:5000"
    assert SERVICES["mlflow"]["environment"]["MLFLOW_S3_ENDPOINT_URL"] == "http://minio:9000"
    # dvc.lock, data/, models/ and the DVC cache live in the bind-mounted checkout, not the container
    assert "..:/app" in worker["volumes"] and worker["working_dir"] == "/app"
    assert SERVICES["prefect-deploy"]["working_dir"] == "/app"
