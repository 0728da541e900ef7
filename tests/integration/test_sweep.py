"""A two-cell sweep through Prefect, once on one thread and once on a 2-worker Dask LocalCluster.

What runs: the ``sweep`` flow of :mod:`flows.sweep` against the conftest ``prefect server``;
each cell runs the tiny project's stages fetch → evaluate with its own seed in its own folder.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from flows.sweep import run_config, run_sweep
from tests.project import make_tiny_project

STAGES = ("fetch", "prepare", "finetune", "features", "align", "evaluate")
SEEDS = (42, 43)


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory, prefect_env: dict[str, str]) -> Iterator[Path]:
    from prefect.settings import PREFECT_API_URL, PREFECT_LOGGING_TO_API_ENABLED, temporary_settings

    root = make_tiny_project(tmp_path_factory.mktemp("sweep") / "project", dvc=False)
    # logs stay local: a log handler still flushing to the API after the session stopped
    # the server would retry for a minute at exit
    settings = {PREFECT_API_URL: prefect_env["PREFECT_API_URL"], PREFECT_LOGGING_TO_API_ENABLED: False}
    with pytest.MonkeyPatch.context() as mp, temporary_settings(settings):
        mp.setenv("PREFECT_API_URL", prefect_env["PREFECT_API_URL"])  # for the Dask worker processes
        mp.setenv("PREFECT_LOGGING_TO_API_ENABLED", "false")
        yield root


def cells(root: Path, runner: str) -> list[dict[str, Any]]:
    base = yaml.safe_load((root / "params.yaml").read_text())
    out = []
    for seed in SEEDS:
        params = json.loads(json.dumps(base))
        for section in ("data", "finetune", "align"):
            params[section]["seed"] = seed
        out.append({"params": params, "workdir": str(root / runner / f"s{seed}"), "stages": STAGES})
    return out


def outputs(cell: dict[str, Any]) -> dict[str, Any]:
    """What the cell wrote: the evaluation metrics and the head's grid search."""
    folder, paths = Path(cell["workdir"]), cell["params"]["paths"]
    return {key: json.loads((folder / paths[key]).read_text()) for key in ("metrics", "grid")}


def test_dask_sweep_equals_the_sequential_one(project: Path) -> None:
    sequential = cells(project, "sequential")
    dask = cells(project, "dask")
    returned_seq = run_sweep(run_config, sequential, runner="sequential")
    returned_dask = run_sweep(run_config, dask, runner="dask", workers=2)

    written_seq = [outputs(c) for c in sequential]
    written_dask = [outputs(c) for c in dask]
    assert written_seq[0] != written_seq[1]  # the seeds matter, so equality below means something
    assert written_dask == written_seq
    scores = lambda r: (r["evaluate"]["methods"], r["evaluate"]["task"], r["align"]["best"])  # noqa: E731
    assert [scores(r) for r in returned_dask] == [scores(r) for r in returned_seq]


def test_runner_flag_is_validated() -> None:
    with pytest.raises(ValueError, match="runner must be one of \\['sequential', 'dask'\\]"):
        run_sweep(run_config, [{}], runner="ray")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="needs runner='dask'"):
        run_sweep(run_config, [{}], runner="sequential", address="tcp://127.0.0.1:8786")
    with pytest.raises(TypeError, match="cells \\[1\\] are not"):
        run_sweep(run_config, [{}, 3])  # type: ignore[list-item]
