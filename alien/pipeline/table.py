"""THE stage table: for each stage its module, the params it receives, what it reads and writes.

Both runners take the pipeline from here. ``dvc.yaml`` is generated from
:data:`STAGES` (``python -m alien.pipeline.dvc_yaml --write-dvc-yaml``; ``--check``
exits 1 when the file differs), with every stage's code dependencies computed
as the import closure of its module (:mod:`alien.pipeline.dvc_yaml`); the Prefect
flow iterates :data:`STAGES` and its tasks, like the benchmarks, call
:func:`stage_runner`. A stage's ``run`` takes the sections its ``params`` name, by
name (plus ``paths``), and reads no other params; the generator refuses a table
that disagrees with the code.

Stages are named by module name and imported lazily, only when run: this module
never imports :mod:`alien.stages` (which imports :mod:`alien.pipeline.cli`), and
importing it stays cheap (``register`` pulls in MLflow).
"""

from __future__ import annotations

import importlib
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from alien.config.params import Params
from alien.pipeline.cli import HasToDict, call_run


@dataclass(frozen=True)
class Output:
    """One file or folder a stage writes: ``paths.<key>`` plus an optional suffix.

    Attributes:
        key: the ``paths`` key (``${paths.<key>}`` in ``dvc.yaml``).
        suffix: appended to the path (the raw data's ``.meta.json`` sidecar).
        cache: whether DVC caches it (small reports are not cached).
        persist: whether DVC keeps it while the stage runs.
    """

    key: str
    suffix: str = ""
    cache: bool = True
    persist: bool = False


@dataclass(frozen=True)
class Stage:
    """One row of the table.

    Attributes:
        name: the stage (``alien.stages.<name>`` is its module).
        params: the ``params.yaml`` sections or keys DVC tracks for it; their
            sections (plus ``paths``) are what its ``run`` receives.
        deps: the ``paths`` keys it reads.
        outs: what it writes (``outs:`` in ``dvc.yaml``).
        metrics: metrics files it writes.
        plots: plot data it writes.
        always_changed: run on every ``dvc repro`` (it looks at the outside world).
        live: it reads or writes the live registry, which DVC does not track: both
            runners run it every time and DVC never restores it from its run-cache
            (``always_changed`` in ``dvc.yaml``; its outputs are not cached).
    """

    name: str
    params: tuple[str, ...]
    deps: tuple[str, ...] = ()
    outs: tuple[Output, ...] = ()
    metrics: tuple[Output, ...] = ()
    plots: tuple[Output, ...] = ()
    always_changed: bool = False
    live: bool = False

    @property
    def module(self) -> str:
        return f"alien.stages.{self.name}"

    @property
    def sections(self) -> tuple[str, ...]:
        """The params sections ``run`` receives, in table order (``paths`` last)."""
        return (*dict.fromkeys(p.split(".")[0] for p in self.params), "paths")


STAGES: tuple[Stage, ...] = (
    Stage(
        "fetch",
        params=("data.source", "data.task", "data.text_column", "data.label_column"),
        outs=(Output("raw", persist=True), Output("raw", suffix=".meta.json", cache=False, persist=True)),
        # Looking for new data is the point of a nightly run: fetch always runs, and
        # everything downstream is skipped when the raw data's md5 is unchanged.
        always_changed=True,
    ),
    Stage("prepare", params=("data",), deps=("raw",), outs=(Output("prepared"),)),
    Stage(
        "finetune",
        params=("backbone", "finetune", "data.task"),
        deps=("prepared",),
        outs=(Output("backbone"),),
    ),
    Stage(
        "features",
        params=("backbone.max_length", "data.task", "align.layers"),
        deps=("prepared", "backbone"),
        outs=(Output("features"),),
    ),
    Stage(
        "align",
        params=("align", "calibration", "backbone.max_length", "data.task"),
        deps=("features", "backbone", "prepared"),
        outs=(Output("deployable"),),
        metrics=(Output("grid", cache=False),),
    ),
    Stage(
        "evaluate",
        params=("evaluate", "calibration.split", "calibration.target_risk", "calibration.delta"),
        deps=("features", "deployable"),
        outs=(Output("scores"),),
        metrics=(Output("metrics", cache=False),),
        plots=(Output("plots", cache=False),),
    ),
    Stage(
        "gate",
        params=("gates", "registry", "data.task"),
        deps=("scores", "prepared"),
        outs=(Output("gate_report", cache=False),),
        live=True,
    ),
    Stage(
        "register",
        params=("registry", "data.source", "backbone.name"),
        deps=("gate_report", "metrics", "deployable", "plots", "grid", "raw"),
        outs=(Output("registration", cache=False),),
        live=True,
    ),
)
ORDER: tuple[str, ...] = tuple(s.name for s in STAGES)
_BY_NAME = {s.name: s for s in STAGES}

# `dvc plots show` definitions over evaluate's plot data.
PLOTS: list[dict[str, Any]] = [
    {
        "reliability": {
            "template": "simple",
            "x": "confidence",
            "y": {"reports/plots/reliability.json": "accuracy"},
        }
    },
    {
        "risk_coverage": {
            "template": "simple",
            "x": "coverage",
            "y": {"reports/plots/risk_coverage.json": "risk"},
        }
    },
]


def get_stage(name: str) -> Stage:
    """The table row of stage ``name``.

    Raises:
        ValueError: unknown stage name (the message lists the stages).
    """
    if name not in _BY_NAME:
        raise ValueError(f"unknown stage {name!r}; stages are {list(ORDER)}")
    return _BY_NAME[name]


def stage_runner(name: str) -> Callable[..., HasToDict]:
    """``(params, *, root, params_file="params.yaml", **extra) -> result`` for one stage.

    ``root`` is the project root; ``extra`` are further keywords the stage's ``run``
    takes (``register``: ``context``), see :func:`~alien.pipeline.cli.call_run`.

    Raises:
        ValueError: unknown stage name (the message lists the stages).
    """
    module = importlib.import_module(get_stage(name).module)

    def run(
        params: Params, *, root: str | Path, params_file: str | Path = "params.yaml", **extra: Any
    ) -> HasToDict:
        return call_run(module.run, params, root=root, params_file=params_file, **extra)

    return run


def run_stages(
    params: Params,
    stages: Iterable[str] = ORDER,
    *,
    root: str | Path,
    params_file: str | Path = "params.yaml",
    extra: Mapping[str, Mapping[str, Any]] | None = None,
) -> dict[str, dict[str, Any]]:
    """Run ``stages`` in order in-process; returns each stage's result and seconds.

    Args:
        params: all of ``params.yaml``.
        stages: the stages to run, in order.
        root: the project root (``paths.*`` relative to it are read from the working directory).
        params_file: the params file the stages log.
        extra: stage name -> further keywords for its ``run`` (``{"register": {"context": ...}}``).
    """
    out = {}
    for name in stages:
        start = time.perf_counter()
        keywords = (extra or {}).get(name, {})
        result = stage_runner(name)(params, root=root, params_file=params_file, **keywords).to_dict()
        out[name] = {"seconds": round(time.perf_counter() - start, 2), "result": dict(result)}
    return out
