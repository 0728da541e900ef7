"""Fan a multi-config run out over a Prefect task runner: one thread here, or Dask.

One flag picks the runner (``--runner`` in the benchmarks):

- ``sequential``: a one-thread :class:`~prefect.task_runners.ThreadPoolTaskRunner`, cells in order;
- ``dask``: :class:`prefect_dask.DaskTaskRunner` on a ``dask.distributed.LocalCluster`` of
  ``workers`` processes (one thread each), or on a running scheduler at ``address``
  (``tcp://scheduler:8786`` in production, where ``dask worker`` runs on each machine).

Every cell runs with the same number of torch threads (``threads``) under either runner,
so the same seeds give the same numbers (floating-point sums depend on the thread split).

    from flows.sweep import run_sweep
    results = run_sweep(run_cell, [{"seed": 42}, {"seed": 43}], runner="dask", workers=2)
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

from prefect import flow, task
from prefect.task_runners import ThreadPoolTaskRunner

Runner = Literal["sequential", "dask"]
RUNNERS: tuple[Runner, ...] = ("sequential", "dask")


def task_runner(runner: Runner, *, workers: int = 2, address: str | None = None) -> Any:
    """The Prefect task runner for ``runner``.

    Args:
        runner: ``sequential`` or ``dask``.
        workers: Dask worker processes of the local cluster (ignored with ``address``).
        address: a running Dask scheduler (``tcp://host:8786``); ``None`` starts a LocalCluster.

    Raises:
        ValueError: unknown ``runner``, ``workers`` < 1, or ``address`` with the sequential runner.
    """
    if runner not in RUNNERS:
        raise ValueError(f"runner must be one of {list(RUNNERS)}, got {runner!r}")
    if workers < 1:
        raise ValueError(f"workers must be >= 1, got {workers}")
    if runner == "sequential":
        if address is not None:
            raise ValueError(f"address={address!r} needs runner='dask'")
        return ThreadPoolTaskRunner(max_workers=1)
    from prefect_dask import DaskTaskRunner

    if address is not None:
        return DaskTaskRunner(address=address)
    # one thread per worker process (a process runs one cell at a time)
    cluster = {"n_workers": workers, "threads_per_worker": 1, "processes": True, "dashboard_address": None}
    return DaskTaskRunner(cluster_class="distributed.LocalCluster", cluster_kwargs=cluster)


@task(name="sweep-cell")
def _cell(fn: Callable[..., Any], kwargs: Mapping[str, Any], threads: int) -> Any:
    import torch

    torch.set_num_threads(threads)
    return fn(**kwargs)


@flow(name="sweep", validate_parameters=False)
def sweep(fn: Callable[..., Any], cells: Sequence[Mapping[str, Any]], threads: int = 1) -> list[Any]:
    """``[fn(**cell) for cell in cells]``, each call a task on the flow's task runner, in order."""
    futures = [_cell.submit(fn, cell, threads) for cell in cells]
    return [future.result() for future in futures]


def run_sweep(
    fn: Callable[..., Any],
    cells: Sequence[Mapping[str, Any]],
    *,
    runner: Runner = "sequential",
    workers: int = 2,
    address: str | None = None,
    threads: int = 1,
) -> list[Any]:
    """Run ``fn(**cell)`` for every cell through the ``sweep`` flow on the chosen runner.

    ``fn`` must be importable by the Dask workers (a module-level function; a script's own
    functions travel by value). Results come back in the order of ``cells``.

    Raises:
        TypeError: ``fn`` is not callable or a cell is not a mapping.
        ValueError: no cells, ``threads`` < 1, or a bad runner option (see :func:`task_runner`).
    """
    if not callable(fn):
        raise TypeError(f"fn must be callable, got {type(fn).__name__}")
    if not cells:
        raise ValueError("cells is empty; nothing to sweep")
    bad = [i for i, cell in enumerate(cells) if not isinstance(cell, Mapping)]
    if bad:
        raise TypeError(f"cells must be mappings of keyword arguments; cells {bad} are not")
    if threads < 1:
        raise ValueError(f"threads must be >= 1, got {threads}")
    runs_on = task_runner(runner, workers=workers, address=address)
    return list(sweep.with_options(task_runner=runs_on)(fn, list(cells), threads))


def run_config(params: Mapping[str, Any], workdir: str, stages: Sequence[str]) -> dict[str, Any]:
    """One sweep cell: run ``stages`` of the pipeline with ``params``, with ``workdir`` as the project root.

    The cell's relative ``paths.*`` are taken relative to ``workdir`` (absolute ones stay);
    the working directory is left alone. Returns each stage's result (``run_stages``
    without its timings), so two runs of the same cell compare equal.
    """
    from alien.config.params import params_from_mapping
    from alien.pipeline.table import run_stages

    root = Path(workdir).resolve()
    root.mkdir(parents=True, exist_ok=True)
    rooted = {**params, "paths": {key: str(root / path) for key, path in dict(params["paths"]).items()}}
    out = run_stages(params_from_mapping(rooted), tuple(stages), root=root)
    return {name: stage["result"] for name, stage in out.items()}
