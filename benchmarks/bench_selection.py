"""Selection study (issue 9): which validation criterion picks the ALIEN head, and how many configs.

Real features, built by the pipeline's own stages (fetch → prepare → finetune →
features, params shrunk as in ``benchmarks/quality_matrix.py``: MiniLM, 2500 rows)
for TREC and Rotten Tomatoes on 3 seeds, cached under ``benchmarks/runs/selection/``.

Validation-only evidence: the head is trained on the alignment split, the
validation split is cut in two halves; the grid is early-stopped and selected on
one half ("selection half") and scored on the other ("score half"), then the
halves swap (2 folds per seed). Compared: ``selection`` in {roc_auc (the paper),
bce} x ``top_k`` in {1, 3}. Printed side by side: ROC-AUC of u on the score half,
and Brier / ECE (15 bins) of the confidence after a Platt map on logit(u) fitted
on the selection half.

    python benchmarks/bench_selection.py                  # every cell (builds missing features first)
    python benchmarks/bench_selection.py --features-only  # only build/cache the features
    python benchmarks/bench_selection.py --datasets trec --seeds 42 --out selection_trec
    python benchmarks/bench_selection.py --seeds --merge benchmarks/results/selection_*.json  # tabulate

Runtime: the 4 grid fits of one cell (27 configs each, ~375 alignment rows) took 740 s
at a load average of ~12 on the 2 shared cores (a few seconds each when idle, judging
from ``bench_grid.py``: 71 s for 10,000 rows); building one cell's features took 57 min
at that load (~70 s idle, ``benchmarks/results/matrix.json`` timings).

Writes ``benchmarks/results/selection.json`` and ``benchmarks/results/selection.md``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
import yaml
from sklearn.linear_model import LogisticRegression

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from _tables import mean_std  # noqa: E402

from alien.backbones.loading import load_finetuned  # noqa: E402
from alien.config import params_from_mapping  # noqa: E402
from alien.core.feature_set import FeatureSet  # noqa: E402
from alien.core.head import AlienHead  # noqa: E402
from alien.core.head_builder import build_alien_head  # noqa: E402
from alien.metrics.calibration import brier_score, expected_calibration_error  # noqa: E402
from alien.metrics.error_detection import roc_auc  # noqa: E402
from alien.pipeline.table import run_stages  # noqa: E402
from alien.training import AlienHeadEnsemble, fit_alien  # noqa: E402

DATASETS = {"trec": "package:trec", "rotten_tomatoes": "package:rotten_tomatoes"}
SEEDS = (42, 43, 44)
ROWS = 2500
FINETUNE = {"method": "full", "epochs": 2, "learning_rate": 1e-4}
RUNS = ROOT / "benchmarks" / "runs" / "selection"
SELECTIONS = ("roc_auc", "bce")
TOP_KS = (1, 3)
PAPER = "roc_auc/top1"
METRICS = ("roc_auc", "brier", "ece", "raw_brier", "raw_ece")
LOWER_IS_BETTER = {"brier", "ece", "raw_brier", "raw_ece"}


def _params(dataset: str, seed: int) -> dict[str, Any]:
    raw = yaml.safe_load((ROOT / "params.yaml").read_text())
    raw["data"].update({"source": DATASETS[dataset], "max_rows": ROWS, "seed": seed})
    raw["finetune"].update({**FINETUNE, "seed": seed})
    raw["align"]["seed"] = seed
    return raw


def _features_key(raw: dict[str, Any]) -> str:
    """Digest of what a cell's features depend on: the data, backbone and fine-tuning sections."""
    return hashlib.sha256(
        json.dumps([raw["data"], raw["backbone"], raw["finetune"]], sort_keys=True).encode()
    ).hexdigest()


def _shared_cell(dataset: str, seed: int, key: str) -> Path | None:
    """A cell of another benchmark (same stamp = same data, backbone and fine-tuning params), if built."""
    runs = ROOT / "benchmarks" / "runs"
    # bench_calibration stamps its cells with a digest of the same settings, spelled as a list
    spec = [dataset, ROWS, seed, FINETUNE, "package:minilm"]
    spec_key = hashlib.sha256(json.dumps(spec, sort_keys=True).encode()).hexdigest()
    for cell, keys in (
        (RUNS / f"{dataset}-s{seed}", {key}),
        (runs / "calibration" / f"{dataset}-s{seed}", {key, spec_key}),
        (runs / "matrix" / f"{dataset}-full-s{seed}", {key}),
    ):
        stamp = cell / "features.key"
        if stamp.is_file() and stamp.read_text() in keys and (cell / "artifacts" / "features").is_dir():
            return cell
    return None


def build_cell(dataset: str, seed: int) -> Path:
    """Run the stages up to ``features`` once per (dataset, seed); the folder of that cell.

    Cells whose features another benchmark already built with the same params are read from there.
    """
    raw = _params(dataset, seed)
    key = _features_key(raw)
    shared = _shared_cell(dataset, seed, key)
    if shared is not None:
        return shared
    cell = RUNS / f"{dataset}-s{seed}"
    cell.mkdir(parents=True, exist_ok=True)
    stamp = cell / "features.key"
    here = Path.cwd()
    os.chdir(cell)
    try:
        run_stages(params_from_mapping(raw), ("fetch", "prepare", "finetune", "features"), root=cell)
    finally:
        os.chdir(here)
    stamp.write_text(key)
    return cell


def halves(errors: torch.Tensor, *, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Two disjoint halves of the rows, stratified by error so each half holds both classes."""
    g = torch.Generator().manual_seed(seed)
    a, b = [], []
    for cls in (0, 1):
        rows = torch.nonzero(errors == cls).squeeze(1)
        rows = rows[torch.randperm(rows.numel(), generator=g)]
        a.append(rows[: rows.numel() // 2])
        b.append(rows[rows.numel() // 2 :])
    return torch.cat(a).sort().values, torch.cat(b).sort().values


def _logit(u: np.ndarray) -> np.ndarray:
    return np.log(u) - np.log1p(-u)


def score(head: AlienHead | AlienHeadEnsemble, select: FeatureSet, held: FeatureSet) -> dict[str, float]:
    """ROC-AUC of u on ``held``; Brier/ECE of 1 - g(u) there, g = Platt on logit(u) fitted on ``select``."""
    with torch.no_grad():
        u_sel = head(select.features).double().numpy()
        u_held = head(held.features).double().numpy()
    e_sel, e_held = select.errors.numpy().astype(int), held.errors.numpy().astype(int)
    platt = LogisticRegression(C=1e6).fit(_logit(u_sel)[:, None], e_sel)
    p_err = platt.predict_proba(_logit(u_held)[:, None])[:, 1]
    correct = 1 - e_held
    return {
        "roc_auc": roc_auc(u_held, e_held),
        "brier": brier_score(1.0 - p_err, correct),
        "ece": expected_calibration_error(1.0 - p_err, correct, n_bins=15),
        "raw_brier": brier_score(1.0 - u_held, correct),
        "raw_ece": expected_calibration_error(1.0 - u_held, correct, n_bins=15),
    }


def run_cell(dataset: str, seed: int, *, splits: int = 1) -> list[dict[str, Any]]:
    """Every (split, fold, selection, top_k) of one (dataset, seed): scores on the held-out half."""
    cell = build_cell(dataset, seed)
    raw = _params(dataset, seed)
    paths = raw["paths"]
    train = FeatureSet.load(cell / paths["features"] / "alignment.safetensors")
    validation = FeatureSet.load(cell / paths["features"] / "validation.safetensors")
    model, _ = load_finetuned(str(cell / paths["backbone"]), task=raw["data"]["task"])
    head = build_alien_head(model, kind="entropy")
    align = {k: v for k, v in raw["align"].items() if k not in ("uncertainty", "train_split")}
    align.update({"top_k": max(TOP_KS)})
    rows = []
    for split in range(splits):
        a, b = halves(validation.errors, seed=seed + 1000 * split)
        for fold, (sel_rows, held_rows) in enumerate(((a, b), (b, a))):
            tag = {"split": split, "fold": fold}
            rows += _run_fold(
                head, train, validation.subset(sel_rows), validation.subset(held_rows), align, tag
            )
    for row in rows:
        row.update(
            {"dataset": dataset, "seed": seed, "train_rows": len(train), "validation_rows": len(validation)}
        )
    return rows


def _run_fold(
    head: AlienHead,
    train: FeatureSet,
    select: FeatureSet,
    held: FeatureSet,
    align: dict[str, Any],
    tag: dict[str, int],
) -> list[dict[str, Any]]:
    """The entropy baseline and every (selection, top_k) trained on ``train``, selected on ``select``."""
    rows = [{**tag, "variant": "entropy", **score(head, select, held)}]
    for selection in SELECTIONS:
        start = time.perf_counter()
        result = fit_alien(head, train, select, **{**align, "selection": selection})
        seconds = time.perf_counter() - start
        print(f"  {tag} {selection}: {seconds:.0f} s, winner {result.best.point}", flush=True)
        assert isinstance(result.head, AlienHeadEnsemble)
        for k in TOP_KS:
            members = list(result.head.members[:k])
            chosen = members[0] if k == 1 else AlienHeadEnsemble(members)
            rows.append(
                {**tag, "variant": f"{selection}/top{k}", "seconds": seconds, **score(chosen, select, held)}
            )
    return rows


def _run(row: dict[str, Any]) -> tuple[int, int, int]:
    return (row["seed"], row.get("split", 0), row["fold"])


def to_markdown(rows: list[dict[str, Any]]) -> str:
    out = [
        "Validation-only evidence: head trained on the alignment split; validation cut in two stratified "
        "halves, grid early-stopped and selected on one, scored on the other, then swapped "
        "(runs = seeds x half-splits x 2 folds; mean ± std over runs). Brier/ECE: confidence "
        "1 − g(u), g = Platt on logit(u) fitted on the selection half; raw_*: 1 − u. "
        "'wins' = runs where the variant beats the paper's roc_auc/top1 on that metric.",
        "",
    ]
    variants = ["entropy", *(f"{s}/top{k}" for s in SELECTIONS for k in TOP_KS)]
    for dataset in DATASETS:
        sub = [r for r in rows if r["dataset"] == dataset]
        if not sub:
            continue
        n_val = sorted({r["validation_rows"] for r in sub})
        runs = sorted({_run(r) for r in sub})
        seeds = sorted({r[0] for r in runs})
        out += [
            f"### {dataset}: {len(runs)} runs, seeds {seeds}, validation rows per seed {n_val} "
            f"(halves of ~{n_val[0] // 2})",
            "",
        ]
        out += ["| variant | " + " | ".join(METRICS) + " | wins roc_auc / brier / ece |"]
        out += ["|---|" + "---|" * (len(METRICS) + 1)]
        paper = {_run(r): r for r in sub if r["variant"] == PAPER}
        for v in variants:
            vr = [r for r in sub if r["variant"] == v]
            cells = [mean_std([r[m] for r in vr]) for m in METRICS]
            wins = []
            for m in ("roc_auc", "brier", "ece"):
                better = [
                    (r[m] < paper[_run(r)][m]) if m in LOWER_IS_BETTER else (r[m] > paper[_run(r)][m])
                    for r in vr
                ]
                wins.append(f"{sum(better)}/{len(better)}")
            out.append(f"| {v} | " + " | ".join(cells) + f" | {' / '.join(wins) if v != PAPER else '—'} |")
        out.append("")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--features-only", action="store_true", help="build the cached features and stop")
    parser.add_argument("--datasets", nargs="+", choices=list(DATASETS), default=list(DATASETS))
    parser.add_argument(
        "--seeds", nargs="*", type=int, default=list(SEEDS), help="none: only tabulate --merge"
    )
    parser.add_argument("--built-only", action="store_true", help="skip cells whose features are not cached")
    parser.add_argument(
        "--splits", type=int, default=1, help="random stratified half-splits per cell (2 folds each)"
    )
    parser.add_argument(
        "--merge", nargs="*", default=[], help="earlier selection JSON files to tabulate with"
    )
    parser.add_argument("--out", default="selection", help="results name under benchmarks/results/")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    cells = [(d, s) for s in args.seeds for d in args.datasets]  # seeds outer: both datasets early
    if args.built_only:
        cells = [(d, s) for d, s in cells if _shared_cell(d, s, _features_key(_params(d, s))) is not None]
    for dataset, seed in cells:
        t0 = time.perf_counter()
        build_cell(dataset, seed)
        print(f"features {dataset} seed {seed}: {time.perf_counter() - t0:.0f} s", flush=True)
    if args.features_only:
        return
    rows: list[dict[str, Any]] = [r for path in args.merge for r in json.loads(Path(path).read_text())]
    results = ROOT / "benchmarks" / "results"
    for dataset, seed in cells:
        t0 = time.perf_counter()
        rows += run_cell(dataset, seed, splits=args.splits)
        print(f"selection {dataset} seed {seed}: {time.perf_counter() - t0:.0f} s", flush=True)
        (results / f"{args.out}.json").write_text(json.dumps(rows, indent=1) + "\n")
    (results / f"{args.out}.json").write_text(json.dumps(rows, indent=1) + "\n")
    md = to_markdown(rows) + "\n"
    if cells:
        md += f"Runtime of this invocation ({len(cells)} cells): {time.perf_counter() - start:.0f} s.\n"
    (results / f"{args.out}.md").write_text(md)
    print(md)


if __name__ == "__main__":
    main()
