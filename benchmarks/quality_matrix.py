"""Quality matrix, protocol question and ablation (issue 4), through the pipeline's own stages.

For every (dataset, fine-tuning method, seed) the stages fetch → prepare → finetune → features
run once in ``benchmarks/runs/matrix/<cell>/`` (skipped when that cell's params are unchanged:
the expensive part is cached); then each head variant runs the ``align`` and ``evaluate`` stages
on those cached features with its own ``align`` section, in its own sub-folder. The seed drives
the split, the fine-tuning and the head.

    python benchmarks/quality_matrix.py            # everything (~30–40 min on 2 cores)
    python benchmarks/quality_matrix.py --quick    # 1 seed, 1 dataset: a smoke run
    python benchmarks/quality_matrix.py --runner dask --workers 2   # cells fanned out on Dask

Writes ``benchmarks/results/matrix.json`` (every cell) and ``benchmarks/results/matrix.md``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
from copy import deepcopy
from pathlib import Path
from typing import Any

import numpy as np
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import bench_calibration as cal  # noqa: E402
from _tables import mean_std  # noqa: E402

from alien.config import params_from_mapping  # noqa: E402
from alien.pipeline.table import run_stages  # noqa: E402

DATASETS = {
    "rotten_tomatoes": "package:rotten_tomatoes",
    "trec": "package:trec",
    "sms_spam": "package:sms_spam",
}
SEEDS = (42, 43, 44)
ROWS = 2500
FINETUNE = {
    "full": {"method": "full", "epochs": 2, "learning_rate": 1e-4},
    "lora": {"method": "lora", "epochs": 2, "learning_rate": 5e-4},
}
LORA_DATASETS = ("rotten_tomatoes",)
# name -> align overrides; the protocol and ablation variants run on LORA-free cells of ABLATION_DATASET
VARIANTS: dict[str, dict[str, Any]] = {
    "alien": {},
    "alien_smoothmax": {"uncertainty": "smoothmax"},
    "protocol_train": {"train_split": "train"},
    "bce_only": {"alphas": [0.0], "betas": [0.0]},
    "bce_align": {"betas": [0.0]},
    "bce_l2sp": {"alphas": [0.0]},
}
MAIN_VARIANTS = ("alien", "alien_smoothmax")
ABLATION_DATASET = "rotten_tomatoes"
BASELINES = (
    "softmax_response", "entropy", "temperature_scaling", "doctor",
    "mahalanobis", "relative_mahalanobis", "rde", "linear_probe",
)  # fmt: skip
METRICS = ("roc_auc", "prr", "aurc", "ece", "brier")
LOWER_IS_BETTER = {"aurc", "ece", "brier"}


def _params(dataset: str, method: str, seed: int) -> dict[str, Any]:
    raw = yaml.safe_load((ROOT / "params.yaml").read_text())
    raw["data"].update({"source": DATASETS[dataset], "max_rows": ROWS, "seed": seed})
    raw["finetune"].update({**FINETUNE[method], "seed": seed})
    raw["align"]["seed"] = seed
    raw["evaluate"]["baselines"] = list(BASELINES)
    return raw


def _features_elsewhere(dataset: str, method: str, seed: int, key: str) -> Path | None:
    """bench_calibration's (or bench_selection's) cell with the same fine-tuned features, if one is built."""
    if method != "full" or ROWS != cal.ROWS or FINETUNE["full"] != cal.FINETUNE:
        return None
    own = cal.RUNS / f"{dataset}-s{seed}"
    stamp = own / "features.key"
    if stamp.is_file() and stamp.read_text() == cal._own_key(dataset, seed):
        return own
    shared = cal._shared_features(dataset, seed, key)
    return None if shared is None or shared.parent.name == "matrix" else shared


def run_cell(dataset: str, method: str, seed: int, variants: list[str]) -> dict[str, Any]:
    """Features once per cell (cached, or another benchmark's identical ones), then align + evaluate per variant."""
    raw = _params(dataset, method, seed)
    cell = ROOT / "benchmarks" / "runs" / "matrix" / f"{dataset}-{method}-s{seed}"
    cell.mkdir(parents=True, exist_ok=True)
    key = hashlib.sha256(json.dumps([raw["data"], raw["backbone"], raw["finetune"]], sort_keys=True).encode())
    stamp = cell / "features.key"
    built = stamp.is_file() and stamp.read_text() == key.hexdigest()
    source = None if built else _features_elsewhere(dataset, method, seed, key.hexdigest())
    if source is not None:
        for name in ("prepared", "backbone", "features"):
            raw["paths"][name] = str(source / raw["paths"][name])
    here = Path.cwd()
    os.chdir(cell)
    try:
        timings: dict[str, Any] = {"features_from": str(source.relative_to(ROOT))} if source else {}
        if not built and source is None:
            stages = run_stages(
                params_from_mapping(raw), ("fetch", "prepare", "finetune", "features"), root=cell
            )
            timings = {name: out["seconds"] for name, out in stages.items()}
            stamp.write_text(key.hexdigest())
        results = {}
        for variant in variants:
            v = deepcopy(raw)
            v["align"].update(VARIANTS[variant])
            out = f"variants/{variant}"
            v["paths"].update(
                {
                    "deployable": f"{out}/deployable",
                    "grid": f"{out}/grid.json",
                    "metrics": f"{out}/metrics.json",
                    "plots": f"{out}/plots",
                }
            )
            run_stages(params_from_mapping(v), ("align", "evaluate"), root=cell)
            results[variant] = json.loads(Path(v["paths"]["metrics"]).read_text())
    finally:
        os.chdir(here)
    return {"dataset": dataset, "method": method, "seed": seed, "timings": timings, "variants": results}


def _table(rows: dict[str, dict[str, list[float]]], metrics: tuple[str, ...]) -> list[str]:
    best = {}
    for m in metrics:
        scored = {name: np.mean(v[m]) for name, v in rows.items() if v.get(m)}
        if scored:
            pick = min if m in LOWER_IS_BETTER else max
            best[m] = pick(scored, key=lambda n: scored[n])
    lines = ["| method | " + " | ".join(metrics) + " |", "|---|" + "---|" * len(metrics)]
    for name, v in rows.items():
        cells = []
        for m in metrics:
            if not v.get(m):
                cells.append("—")
                continue
            text = mean_std(v[m])
            cells.append(f"**{text}**" if best.get(m) == name else text)
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return lines


def _collect(
    cells: list[dict[str, Any]], dataset: str, method: str, variants: tuple[str, ...], with_baselines: bool
) -> dict[str, dict[str, list[float]]]:
    rows: dict[str, dict[str, list[float]]] = {}
    for c in cells:
        if c["dataset"] != dataset or c["method"] != method:
            continue
        first = c["variants"][variants[0]]
        if with_baselines:
            for b in BASELINES:
                for m in METRICS:
                    if m in first["methods"].get(b, {}):
                        rows.setdefault(b, {}).setdefault(m, []).append(first["methods"][b][m])
        for variant in variants:
            if variant not in c["variants"]:
                continue
            metrics = c["variants"][variant]
            for m in METRICS:
                rows.setdefault(variant, {}).setdefault(m, []).append(metrics["methods"]["alien"][m])
            rows[variant].setdefault("accuracy", []).append(metrics["task"]["accuracy"])
            raw_head = metrics["methods"].get("alien_raw")
            if variant == "alien" and with_baselines and raw_head:
                for m in METRICS:
                    rows.setdefault("alien_raw", {}).setdefault(m, []).append(raw_head[m])
    return rows


def to_markdown(cells: list[dict[str, Any]]) -> str:
    seeds = sorted({c["seed"] for c in cells})
    out = [
        f"Seeds {seeds}; {ROWS} rows per dataset (stable-hash subset), MiniLM; mean ± std over seeds; "
        "best per column in bold. `alien` (and each head variant) is the served, calibrated u; `alien_raw` "
        "is the head's own output. ECE/Brier are not defined for the distance scores (Mahalanobis, RDE).",
        "",
    ]
    for dataset in DATASETS:
        for method in FINETUNE:
            rows = _collect(cells, dataset, method, MAIN_VARIANTS, with_baselines=True)
            if not rows:
                continue
            acc = rows.get("alien", {}).get("accuracy", [])
            out += [f"### {dataset} — {method} fine-tuning (accuracy {mean_std(acc)})", ""]
            out += [*_table(rows, METRICS), ""]
    protocol = _collect(cells, ABLATION_DATASET, "full", ("alien", "protocol_train"), with_baselines=False)
    if "protocol_train" in protocol:
        out += [
            f"### Protocol: head trained on a held-out alignment split (`alien`) vs on the backbone's "
            f"own train split (`protocol_train`) — {ABLATION_DATASET}",
            "",
        ]
        out += [*_table(protocol, METRICS), ""]
    ablation = _collect(
        cells, ABLATION_DATASET, "full", ("bce_only", "bce_align", "bce_l2sp", "alien"), with_baselines=False
    )
    if "bce_only" in ablation:
        out += [f"### Ablation — {ABLATION_DATASET} (`alien` = BCE + alignment + L2-SP)", ""]
        out += [*_table(ablation, METRICS), ""]
    return "\n".join(out)


def main(argv: list[str] | None = None) -> None:
    from flows.sweep import RUNNERS, run_sweep

    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="one seed, Rotten Tomatoes only")
    parser.add_argument("--runner", choices=RUNNERS, default="sequential", help="Prefect task runner")
    parser.add_argument("--workers", type=int, default=2, help="Dask LocalCluster worker processes")
    parser.add_argument("--dask-address", help="a running Dask scheduler (tcp://host:8786) instead")
    parser.add_argument("--threads", type=int, default=1, help="torch threads per cell, under either runner")
    args = parser.parse_args(argv)
    seeds = SEEDS[:1] if args.quick else SEEDS
    datasets = [ABLATION_DATASET] if args.quick else list(DATASETS)
    results = ROOT / "benchmarks" / "results"
    results.mkdir(parents=True, exist_ok=True)
    specs = []
    for seed in seeds:
        for dataset in datasets:
            methods = ["full", "lora"] if dataset in LORA_DATASETS and not args.quick else ["full"]
            for method in methods:
                variants = (
                    list(VARIANTS)
                    if dataset == ABLATION_DATASET and method == "full"
                    else list(MAIN_VARIANTS)
                )
                specs.append({"dataset": dataset, "method": method, "seed": seed, "variants": variants})
    # every cell is one task on the chosen runner (flows/sweep.py); same seeds, same numbers
    cells = run_sweep(
        run_cell,
        specs,
        runner=args.runner,
        workers=args.workers,
        address=args.dask_address,
        threads=args.threads,
    )
    for cell in cells:
        print(f"done {cell['dataset']} {cell['method']} seed {cell['seed']}: {cell['timings']}", flush=True)
    (results / "matrix.json").write_text(json.dumps(cells, indent=1) + "\n")
    (results / "matrix.md").write_text(to_markdown(cells) + "\n")
    print(to_markdown(cells))


if __name__ == "__main__":
    main()
