"""The DVC remote on S3 the way ``infra/`` sets it up: ``s3://dvc`` with no ``endpointurl`` in
``.dvc/config``, the endpoint from ``AWS_ENDPOINT_URL`` (what the worker container gets).

What runs: moto's S3 server on 127.0.0.1 (MinIO is not installable here; moto speaks the same
S3 protocol over HTTP), then ``dvc remote add`` / ``dvc add`` / ``dvc push`` / ``dvc pull``
in a temporary git repository with ``dvc-s3`` installed.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.servers import free_port

CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "test-key",
    "AWS_SECRET_ACCESS_KEY": "test-secret",
    "AWS_DEFAULT_REGION": "us-east-1",
}


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


def test_dvc_push_and_pull_through_the_endpoint_from_the_environment(
    s3_endpoint: str, tmp_path: Path
) -> None:
    import boto3

    env = {**os.environ, **CREDENTIALS, "AWS_ENDPOINT_URL": s3_endpoint, "DVC_NO_ANALYTICS": "1"}
    s3 = boto3.client(
        "s3",
        endpoint_url=s3_endpoint,
        aws_access_key_id=CREDENTIALS["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
        region_name=CREDENTIALS["AWS_DEFAULT_REGION"],
    )
    s3.create_bucket(Bucket="dvc")
    run = lambda *cmd: subprocess.run(cmd, cwd=tmp_path, env=env, check=True, capture_output=True, text=True)  # noqa: E731
    dvc = (sys.executable, "-m", "dvc")
    run("git", "init", "-q")
    run(*dvc, "init", "-q")
    run(*dvc, "remote", "add", "-d", "team", "s3://dvc")
    assert "endpointurl" not in (tmp_path / ".dvc" / "config").read_text()
    (tmp_path / "raw.jsonl").write_text('{"text": "a fine film", "label": "positive"}\n')
    run(*dvc, "add", "raw.jsonl")
    run(*dvc, "push")

    stored = [o["Key"] for o in s3.list_objects_v2(Bucket="dvc").get("Contents", [])]
    assert len(stored) == 1 and stored[0].startswith("files/md5/")

    # a fresh machine: no file, no local cache; pull fetches it back from the bucket
    (tmp_path / "raw.jsonl").unlink()
    shutil.rmtree(tmp_path / ".dvc" / "cache")
    run(*dvc, "pull")
    assert (tmp_path / "raw.jsonl").read_text().startswith('{"text": "a fine film"')
