"""NER and decoder backbones on real assets, through the pipeline's own stages.

Scenarios (sized for about 5–15 minutes each on 2 CPU cores):

* ``wnut16-minilm``: WNUT-16 Twitter NER, all-MiniLM-L6-v2, token classification, full fine-tuning.
* ``rt-smollm2-lora``: Rotten Tomatoes, SmolLM2-135M-Instruct (decoder), LoRA r=8 on q/v, merged.

Each runs fetch → prepare → finetune → features → align → evaluate in a scratch project
(``benchmarks/runs/<scenario>/``; reused, so a re-run skips nothing but costs no download) and
writes ``benchmarks/results/tasks.json`` and ``benchmarks/results/tasks.md``.

    python benchmarks/bench_tasks.py                 # both
    python benchmarks/bench_tasks.py wnut16-minilm   # one
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from alien.config import params_from_mapping  # noqa: E402
from alien.core.model import AlienClassifier  # noqa: E402
from alien.stages.pipeline import run_stages  # noqa: E402

SCENARIOS: dict[str, dict[str, dict[str, Any]]] = {
    "wnut16-minilm": {
        "data": {"source": "package:wnut16", "task": "token-classification", "max_rows": None},
        "backbone": {"name": "package:minilm", "max_length": 64},
        "finetune": {"method": "full", "epochs": 8, "learning_rate": 2e-4},
    },
    "rt-smollm2-lora": {
        "data": {"source": "package:rotten_tomatoes", "max_rows": 2000},
        "backbone": {"name": "package:smollm2", "max_length": 64},
        "finetune": {"method": "lora", "epochs": 1, "learning_rate": 5e-4, "batch_size": 16},
    },
}
STAGES = ("fetch", "prepare", "finetune", "features", "align", "evaluate")
METHODS = ("alien", "entropy", "softmax_response", "temperature_scaling")


def run_scenario(name: str) -> dict[str, Any]:
    raw = yaml.safe_load((ROOT / "params.yaml").read_text())
    for section, values in SCENARIOS[name].items():
        raw[section].update(values)
    workdir = ROOT / "benchmarks" / "runs" / name
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / "params.yaml").write_text(yaml.safe_dump(raw, sort_keys=False))
    here = Path.cwd()
    os.chdir(workdir)
    try:
        stages = run_stages(params_from_mapping(raw), STAGES)
        metrics = json.loads(Path(raw["paths"]["metrics"]).read_text())
        overhead = AlienClassifier.load(raw["paths"]["deployable"]).parameter_overhead()
    finally:
        os.chdir(here)
    return {
        "scenario": name,
        "settings": SCENARIOS[name],
        "seconds": {stage: out["seconds"] for stage, out in stages.items()},
        "rows": stages["prepare"]["result"]["rows"],
        "methods": {m: metrics["methods"][m] for m in METHODS if m in metrics["methods"]},
        "task": metrics["task"],
        "test_rows": metrics["rows"],
        "overhead": overhead,
    }


def to_markdown(results: list[dict[str, Any]]) -> str:
    lines = []
    for r in results:
        task = r["task"]
        quality = f"accuracy {task['accuracy']:.4f}"
        if "entity_f1" in task:
            quality += f", entity F1 (seqeval) {task['entity_f1']:.4f}"
        o = r["overhead"]
        lines += [
            f"### {r['scenario']}",
            "",
            f"Rows {r['rows']}; test rows {r['test_rows']}; {quality}; ALIEN adds {o['head_parameters']:,} "
            f"parameters = {o['overhead_percent']:.4f}% of the backbone ({o['backbone_parameters']:,}).",
            f"Seconds per stage: {r['seconds']}.",
            "",
            "| method | ROC-AUC ↑ | PRR ↑ | AURC ↓ | ECE ↓ | Brier ↓ |",
            "|---|---|---|---|---|---|",
        ]
        for method, m in r["methods"].items():
            lines.append(
                f"| {method} | {m['roc_auc']:.4f} | {m['prr']:.4f} | {m['aurc']:.4f} | "
                f"{m.get('ece', float('nan')):.4f} | {m.get('brier', float('nan')):.4f} |"
            )
        lines.append("")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("scenarios", nargs="*", default=list(SCENARIOS), choices=list(SCENARIOS))
    args = parser.parse_args(argv)
    out_dir = ROOT / "benchmarks" / "results"
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / "tasks.json"
    previous = {r["scenario"]: r for r in json.loads(path.read_text())} if path.is_file() else {}
    for name in args.scenarios:
        previous[name] = run_scenario(name)
        print(json.dumps(previous[name], indent=1), flush=True)
    results = [previous[n] for n in SCENARIOS if n in previous]
    path.write_text(json.dumps(results, indent=2) + "\n")
    (out_dir / "tasks.md").write_text(to_markdown(results))
    print(to_markdown(results))


if __name__ == "__main__":
    main()
