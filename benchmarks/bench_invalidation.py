"""What a one-line edit invalidates: per edited file, the stages ``dvc status`` lists and those that rerun.

Read from the generated ``dvc.yaml`` (its deps are each stage's code closure and data inputs):
a stage is *listed* when the file is one of its deps, and *reruns* when it is listed or downstream
of one that is. Stages marked ``always_changed`` (fetch, gate, register: they look at the outside
world) are listed by ``dvc status`` whatever changed; they are shown apart. Writes
``benchmarks/results/invalidation.json``.

    python benchmarks/bench_invalidation.py [FILE ...]
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
EDITS = (
    "alien/config/gates.py",
    "alien/evaluation/rules.py",
    "alien/stages/gate.py",
    "alien/config/finetune.py",
)


def _names(entries: list[Any]) -> set[str]:
    return {next(iter(e)) if isinstance(e, dict) else e for e in entries}


def invalidated(stages: dict[str, Any], edit: str) -> dict[str, list[str]]:
    """``listed``: stages whose deps hold ``edit``; ``reruns``: those and everything downstream."""
    listed = [name for name, stage in stages.items() if edit in stage.get("deps", [])]
    reruns = set(listed)
    for name, stage in stages.items():  # dvc.yaml lists stages in pipeline order
        produced = set().union(
            *(_names(stages[u].get(k, [])) for u in reruns for k in ("outs", "metrics", "plots"))
        )
        if produced & set(stage.get("deps", [])):
            reruns.add(name)
    order = list(stages)
    return {"listed": listed, "reruns": sorted(reruns, key=order.index)}


def main(argv: list[str]) -> int:
    stages = yaml.safe_load((ROOT / "dvc.yaml").read_text(encoding="utf-8"))["stages"]
    always = [name for name, stage in stages.items() if stage.get("always_changed")]
    results = {edit: invalidated(stages, edit) for edit in (argv or EDITS)}
    print(f"always changed (listed by dvc status whatever the edit): {', '.join(always)}")
    for edit, found in results.items():
        print(f"{edit}: dvc status lists {', '.join(found['listed'])}; reruns {', '.join(found['reruns'])}")
    out = ROOT / "benchmarks" / "results" / "invalidation.json"
    out.write_text(
        json.dumps({"always_changed": always, "edits": results}, indent=2) + "\n", encoding="utf-8"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
