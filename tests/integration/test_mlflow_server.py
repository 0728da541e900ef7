"""The registry lifecycle against a real ``mlflow server`` on PostgreSQL, over HTTP.

What runs: ``postgres`` (initdb + pg_ctl on 127.0.0.1) and ``mlflow server --backend-store-uri
postgresql://… --serve-artifacts --artifacts-destination <tmp>`` (conftest); the tiny project's
stages fetch → register in process (v1 champion), align → register again with another head
seed (v2 promoted), then the ``alien`` CLI in subprocesses: ``champion``, ``rollback`` and
``predict`` (``models:/…@champion``).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml

from alien.config import Params, load_params
from alien.pipeline.table import run_stages
from tests.integration.servers import Postgres, ServerProcess, server_env
from tests.project import make_tiny_project

TEXTS = ["a warm funny and moving film", "terrible acting and a stupid script", "number 7"]


@dataclass
class Lifecycle:
    root: Path
    params: Params
    first: dict[str, Any]
    second: dict[str, Any]


@pytest.fixture(scope="module")
def lifecycle(tmp_path_factory: pytest.TempPathFactory, mlflow_server: ServerProcess) -> Iterator[Lifecycle]:
    """The tiny project trained once and registered twice on the server."""
    root = tmp_path_factory.mktemp("mlflow-lifecycle") / "project"
    make_tiny_project(root, dvc=False, overrides={"registry": {"tracking_uri": mlflow_server.url}})
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(root)
        mp.delenv("MLFLOW_TRACKING_URI", raising=False)
        params = load_params("params.yaml")
        first = run_stages(params, root=root)["register"]["result"]
        # a second head (another seed) on the same features: a new deployable, so a new
        # version (the same deployable would be recognised and reused); the gate now
        # compares it with champion v1
        raw = yaml.safe_load(Path("params.yaml").read_text())
        raw["align"]["seed"] += 1
        Path("params.yaml").write_text(yaml.safe_dump(raw, sort_keys=False))
        params = load_params("params.yaml")
        second = run_stages(params, ("align", "evaluate", "gate", "register"), root=root)["register"][
            "result"
        ]
        yield Lifecycle(root, params, first, second)


def alien_cli(root: Path, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    env = server_env()
    env.pop("MLFLOW_TRACKING_URI", None)  # the URI comes from params.yaml, as for a user
    return subprocess.run(
        [sys.executable, "-m", "flows.cli", "--params", "params.yaml", *args],
        cwd=root,
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_versions_and_aliases_live_in_postgres(lifecycle: Lifecycle, postgres: Postgres) -> None:
    import psycopg

    assert (lifecycle.first["version"], lifecycle.first["promoted"]) == ("1", True)
    assert lifecycle.second["version"] == "2"
    assert lifecycle.second["promoted"], lifecycle.second["reason"]
    assert lifecycle.second["previous_champion"] == "1"
    assert lifecycle.second["tracking_uri"].startswith("http://127.0.0.1:")
    name = lifecycle.params.registry.model_name
    with psycopg.connect(postgres.uri("mlflow")) as conn:
        versions = conn.execute("SELECT version FROM model_versions WHERE name = %s", (name,)).fetchall()
        aliases = dict(conn.execute("SELECT alias, version FROM registered_model_aliases").fetchall())
    assert sorted(v for (v,) in versions) == [1, 2]
    assert aliases["champion"] == 2 and aliases["previous-champion"] == 1
    # the password is really checked: the servers got theirs from PGPASSWORD, as in compose
    with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
        psycopg.connect(postgres.uri("mlflow"), password="wrong").close()


def test_artifacts_are_proxied_into_the_servers_destination(
    lifecycle: Lifecycle, mlflow_server: ServerProcess
) -> None:
    from mlflow import MlflowClient

    client = MlflowClient(tracking_uri=mlflow_server.url)
    run = client.get_run(lifecycle.second["run_id"])
    assert run.info.artifact_uri.startswith("mlflow-artifacts:/")
    destination = Path(mlflow_server.argv[mlflow_server.argv.index("--artifacts-destination") + 1])
    stored = {p.name for p in destination.rglob("*") if p.is_file()}
    assert {"gate_report.json", "MLmodel", "model_card.md"} <= stored


def test_cli_rollback_then_champion_predict_over_http(lifecycle: Lifecycle) -> None:
    from alien.core.model import AlienClassifier

    shown = alien_cli(lifecycle.root, "champion", "--json")
    assert shown.returncode == 0, shown.stderr
    listing = json.loads(shown.stdout)
    assert [row["version"] for row in listing["versions"]] == ["1", "2"]
    assert listing["champion"] == "2" and listing["tracking_uri"].startswith("http://127.0.0.1:")

    rolled = alien_cli(lifecycle.root, "rollback", "--reason", "integration test: back to v1")
    assert rolled.returncode == 0, rolled.stderr
    assert "@champion: version 2 -> version 1" in rolled.stdout

    predicted = alien_cli(lifecycle.root, "predict", "-", stdin="\n".join(TEXTS) + "\n")
    assert predicted.returncode == 0, predicted.stderr
    rows = [json.loads(line) for line in predicted.stdout.splitlines()]
    assert [r["model_version"] for r in rows] == ["1"] * len(TEXTS)
    expected = AlienClassifier.load(lifecycle.params.paths.deployable).predict(TEXTS)
    np.testing.assert_allclose([r["uncertainty"] for r in rows], expected.uncertainty, atol=1e-5)
    assert [r["label"] for r in rows] == [expected.label_names[int(i)] for i in expected.labels]


def test_pyfunc_champion_uri_serves_over_http(lifecycle: Lifecycle, mlflow_server: ServerProcess) -> None:
    import mlflow
    import pandas as pd

    from alien.core.model import AlienClassifier

    name = lifecycle.params.registry.model_name
    os.environ["MLFLOW_TRACKING_URI"] = mlflow_server.url
    try:
        served = mlflow.pyfunc.load_model(f"models:/{name}@champion")
    finally:
        del os.environ["MLFLOW_TRACKING_URI"]
    out = served.predict(pd.DataFrame({"text": TEXTS}))
    expected = AlienClassifier.load(lifecycle.params.paths.deployable).predict(TEXTS)
    np.testing.assert_allclose(out["uncertainty"].to_numpy(), expected.uncertainty, atol=1e-6)
    np.testing.assert_array_equal(out["label_id"].to_numpy(), expected.labels)
