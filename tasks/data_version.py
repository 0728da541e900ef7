"""Prefect task: push the versioned data to the DVC remote and report its version."""

from __future__ import annotations

from prefect import task

from alien.config import PathsConfig
from alien.stages.artifacts import data_version
from alien.stages.versioning import push
from tasks.stages import RETRY


@task(name="version-data", **RETRY)
def version_data_task(paths: PathsConfig, root: str, *, push_to_remote: bool = True) -> dict[str, str | int]:
    pushed = push(["fetch", "prepare"], root=root) if push_to_remote else 0
    return {**data_version(paths.raw, root=root), "files_pushed": pushed}
