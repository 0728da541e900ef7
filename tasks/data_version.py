"""Prefect task: push the versioned data to the DVC remote and report its version."""

from __future__ import annotations

from collections.abc import Sequence

from prefect import task

from alien.config.paths import PathsConfig
from alien.pipeline.versioning import push
from alien.stages.artifacts import data_version
from tasks.stages import RETRY


@task(name="version-data", **RETRY)
def version_data_task(
    paths: PathsConfig, root: str, stages: Sequence[str], *, push_to_remote: bool = True
) -> dict[str, str | int]:
    """Push the outputs of the data ``stages`` (fetch, prepare) and return the raw data's version."""
    pushed = push(list(stages), root=root) if push_to_remote else 0
    return {**data_version(paths.raw, root=root), "files_pushed": pushed}
