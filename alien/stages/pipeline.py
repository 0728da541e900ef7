"""The pipeline's stages in order, each as ``Params -> result``: what both runners call.

``dvc.yaml`` runs them one process per stage; the Prefect tasks and the
benchmarks call :data:`STAGES` in-process. Stage modules are imported lazily so
that importing this module stays cheap (``register`` pulls in MLflow).
"""

from __future__ import annotations

import importlib
import time
from collections.abc import Callable, Iterable
from typing import Any

from alien.config import Params
from alien.stages._cli import _HasToDict

ORDER = ("fetch", "prepare", "finetune", "features", "align", "evaluate", "gate", "register")

# Which params sections each stage receives (matches its `params:` list in dvc.yaml).
_ARGS: dict[str, Callable[[Params], tuple[Any, ...]]] = {
    "fetch": lambda p: (p.data, p.paths),
    "prepare": lambda p: (p.data, p.paths),
    "finetune": lambda p: (p.backbone, p.finetune, p.data, p.paths),
    "features": lambda p: (p.data, p.backbone, p.paths),
    "align": lambda p: (p.align, p.backbone, p.data, p.paths),
    "evaluate": lambda p: (p.evaluate, p.paths),
    "gate": lambda p: (p.gates, p.registry, p.data, p.paths),
    "register": lambda p: (p.registry, p.paths),
}


def stage_runner(name: str) -> Callable[[Params], _HasToDict]:
    """``Params -> result`` for one stage.

    Raises:
        ValueError: unknown stage name (the message lists the stages).
    """
    if name not in _ARGS:
        raise ValueError(f"unknown stage {name!r}; stages are {list(ORDER)}")
    module = importlib.import_module(f"alien.stages.{name}")
    return lambda params: module.run(*_ARGS[name](params))


def run_stages(params: Params, stages: Iterable[str] = ORDER) -> dict[str, dict[str, Any]]:
    """Run ``stages`` in order in-process; returns each stage's result and seconds."""
    out = {}
    for name in stages:
        start = time.perf_counter()
        result = stage_runner(name)(params).to_dict()
        out[name] = {"seconds": round(time.perf_counter() - start, 2), "result": dict(result)}
    return out
