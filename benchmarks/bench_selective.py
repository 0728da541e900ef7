"""Risk-controlled abstention on real features (issue 9): does the guarantee hold, and at what coverage?

Reuses the cached cells of ``bench_calibration.py`` (RT, TREC, SMS x seeds 42, 43, 44). For each
cell the validation and test rows are pooled and re-split at random 200 times into a calibration
half and a test half. Each method's score is mapped to a probability of error by a map fitted on
the alignment split (outside the pool, so the guarantee applies exactly; ``--fit-on calibration``
refits it on every calibration half instead, as the pipeline does). On the calibration half the
threshold is chosen (Learn-then-Test, fixed sequence, delta = 0.1); on the test half the realised
risk (error rate among accepted rows) and the coverage are measured.

Two procedures: ``population`` (:func:`~alien.selective.choose_threshold`, the served threshold:
bounds the risk of all future rows) and ``batch`` (:func:`~alien.selective.choose_batch_threshold`:
bounds the realised risk of the test half itself, whose scores it sees but not its labels).

* ``alien``: the head's ``u`` through the default calibrator, fitted on the calibration half.
* ``alien_raw``: the head's ``u`` as it is.
* ``temperature_scaling``: ``1 - max softmax(logits / T)``, ``T`` fitted on the calibration half.
* ``softmax_response``, ``entropy``, ``doctor``: the backbone's own scores through the same
  calibrator (the threshold search starts at the target on a probability-of-error scale).

    python benchmarks/bench_selective.py           # every cached cell
    python benchmarks/bench_selective.py --quick   # one seed, Rotten Tomatoes, 50 re-splits

Writes ``benchmarks/results/selective.json`` and ``benchmarks/results/selective.md``.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from bench_calibration import DATASETS, RESULTS, SEEDS, cell_scores, is_cached  # noqa: E402

from alien.baselines import Doctor, PredictiveEntropy, SoftmaxResponse, TemperatureScaling  # noqa: E402
from alien.calibration import make_calibrator  # noqa: E402
from alien.core.feature_set import FeatureSet  # noqa: E402
from alien.selective import choose_batch_threshold, choose_threshold, selective_risk  # noqa: E402

DEFAULT_CALIBRATOR = "beta"
TARGETS = (0.05, 0.10)
DELTA = 0.1
N_SPLITS = 200
# A scorer fits on one set of rows and scores another: (fit rows, rows to score) -> scores.
Rows = dict[str, np.ndarray]
Scorer = Callable[[Rows, Rows], np.ndarray]
FIT_ON = ("alignment", "calibration")


def _feature_set(rows: Rows) -> FeatureSet:
    logits = torch.as_tensor(rows["logits"], dtype=torch.float32)
    return FeatureSet(torch.zeros(len(logits), 1), logits, torch.as_tensor(rows["labels"], dtype=torch.int64))


def _alien(calibrator: str) -> Scorer:
    return lambda fit, rows: make_calibrator(calibrator).fit(fit["u"], fit["errors"])(rows["u"])


def _temperature(fit: Rows, rows: Rows) -> np.ndarray:
    ts = TemperatureScaling().fit(_feature_set(fit), _feature_set(fit))
    return ts.score(_feature_set(rows))


def _calibrated_baseline(cls: type, calibrator: str) -> Scorer:
    def score(fit: Rows, rows: Rows) -> np.ndarray:
        b = cls().fit(_feature_set(fit), _feature_set(fit))
        g = make_calibrator(calibrator).fit(b.score(_feature_set(fit)), fit["errors"])
        return g(b.score(_feature_set(rows)))

    return score


def scorers(calibrator: str) -> dict[str, Scorer]:
    """Every method of the table, by name."""
    return {
        "alien": _alien(calibrator),
        "alien_raw": lambda fit, rows: rows["u"],
        "temperature_scaling": _temperature,
        "softmax_response": _calibrated_baseline(SoftmaxResponse, calibrator),
        "entropy": _calibrated_baseline(PredictiveEntropy, calibrator),
        "doctor": _calibrated_baseline(Doctor, calibrator),
    }


def _thresholds(s_cal: np.ndarray, e_cal: np.ndarray, s_test: np.ndarray, target: float) -> dict[str, float]:
    """Per procedure, the threshold chosen on the calibration half (batch also sees the test scores)."""
    s_cal, s_test = np.clip(s_cal, 0, 1), np.clip(s_test, 0, 1)
    return {
        "population": choose_threshold(s_cal, e_cal, target_risk=target, delta=DELTA).threshold,
        "batch": choose_batch_threshold(s_cal, e_cal, s_test, target_risk=target, delta=DELTA).threshold,
    }


def _pool(scores: dict[str, np.ndarray], split: str | tuple[str, ...] = ("validation", "test")) -> Rows:
    splits = (split,) if isinstance(split, str) else split
    keys = ("u", "logits", "labels", "errors")
    return {k: np.concatenate([scores[f"{s}_{k}"] for s in splits]) for k in keys}


def _take(rows: Rows, index: np.ndarray) -> Rows:
    return {k: v[index] for k, v in rows.items()}


def resplit_cell(
    scores: dict[str, np.ndarray], *, calibrator: str, n_splits: int, seed: int, fit_on: str
) -> dict[str, Any]:
    """Per method, procedure and target: realised test risk and coverage over random half/half re-splits.

    ``fit_on="alignment"``: every map (g, T) is fitted once on the alignment split, outside the pool,
    so the scores do not depend on the split and the guarantee applies exactly.
    ``fit_on="calibration"``: refitted on each calibration half (as the pipeline fits g and the
    threshold on the same split).
    """
    pool = _pool(scores)
    fixed = {m: f(_pool(scores, "alignment"), pool) for m, f in scorers(calibrator).items()}
    n = len(pool["errors"])
    rng = np.random.default_rng(seed)
    out: dict[str, Any] = {}
    for _ in range(n_splits):
        order = rng.permutation(n)
        cal_idx, test_idx = order[: n // 2], order[n // 2 :]
        cal = _take(pool, cal_idx)
        for method, scorer in scorers(calibrator).items():
            s_pool = fixed[method] if fit_on == "alignment" else scorer(cal, pool)
            s_cal, s_test = s_pool[cal_idx], s_pool[test_idx]
            for t in TARGETS:
                for procedure, threshold in _thresholds(s_cal, cal["errors"], s_test, t).items():
                    coverage, risk = selective_risk(
                        np.clip(s_test, 0, 1), pool["errors"][test_idx], threshold
                    )
                    # the risk of the whole pool the calibration half was drawn from: what the served
                    # (population) bound is about, here with the pool as the population
                    _, pool_risk = selective_risk(np.clip(s_pool, 0, 1), pool["errors"], threshold)
                    slot = out.setdefault(f"{method} / {procedure}", {}).setdefault(str(t), {})
                    slot.setdefault("risk", []).append(risk)
                    slot.setdefault("coverage", []).append(coverage)
                    slot.setdefault("pool_risk", []).append(pool_risk)
    return out


def summarise(cells: list[dict[str, Any]]) -> dict[str, dict[str, dict[str, dict[str, float]]]]:
    """dataset -> method -> target -> {held (fraction of re-splits with risk <= target), coverage, risk}."""
    table: dict[str, Any] = {}
    for c in cells:
        for method, by_target in c["results"].items():
            for t, values in by_target.items():
                slot = table.setdefault(c["dataset"], {}).setdefault(method, {}).setdefault(t, [])
                slot.append(values)
    summary: dict[str, Any] = {}
    for dataset, methods in table.items():
        for method, by_target in methods.items():
            for t, runs in by_target.items():
                risk = np.concatenate([r["risk"] for r in runs])
                coverage = np.concatenate([r["coverage"] for r in runs])
                pool_risk = np.concatenate([r.get("pool_risk", [np.nan]) for r in runs])
                summary.setdefault(dataset, {}).setdefault(method, {})[t] = {
                    "held": float(np.mean(risk <= float(t))),
                    "held_pool": float(np.mean(pool_risk <= float(t))),
                    "coverage": float(np.mean(coverage)),
                    "risk": float(np.mean(risk)),
                }
    return summary


def to_markdown(
    summary: dict[str, Any], cells: list[dict[str, Any]], n_splits: int, calibrator: str, fit_on: str
) -> str:
    seeds = sorted({c["seed"] for c in cells})
    out = [
        f"Seeds {seeds}; per cell the validation + test rows are pooled and re-split {n_splits} times into "
        f"calibration / test halves; Learn-then-Test (fixed sequence), delta = {DELTA}; `population` = exact "
        "binomial p-values (the served threshold), `batch` = hypergeometric p-values for the test half's own "
        "realised risk. "
        f"`alien` and the three backbone scores pass through the `{calibrator}` map, which (like T) is fitted "
        f"on the {'alignment split, outside the pool' if fit_on == 'alignment' else 'calibration half'}. "
        "held = fraction of re-splits "
        "(all seeds) whose realised test risk is <= the target; held (pool) = the same for the risk over the "
        "whole pool the calibration half was drawn from (the population the served bound is about); coverage "
        "and risk are means over re-splits.",
        "",
    ]
    labels = ("held", "held (pool)", "coverage", "risk")
    head = " | ".join(f"{lbl} @ {t:.0%}" for t in TARGETS for lbl in labels)
    for dataset, methods in summary.items():
        out += [f"### {dataset}", "", f"| method | {head} |", "|---|" + "---|" * len(labels) * len(TARGETS)]
        for method, by_target in methods.items():
            cells_text = []
            for t in TARGETS:
                v = by_target[str(t)]
                cells_text += [f"{v['held']:.3f}", f"{v.get('held_pool', float('nan')):.3f}"]
                cells_text += [f"{v['coverage']:.3f}", f"{v['risk']:.4f}"]
            out.append(f"| {method} | " + " | ".join(cells_text) + " |")
        out.append("")
    return "\n".join(out)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="one seed, Rotten Tomatoes, 50 re-splits")
    parser.add_argument("--calibrator", default=DEFAULT_CALIBRATOR, help="map applied to ALIEN's u")
    parser.add_argument("--fit-on", choices=FIT_ON, default="alignment", help="rows g and T are fitted on")
    parser.add_argument("--available", action="store_true", help="only the cells cached so far")
    args = parser.parse_args(argv)
    seeds = SEEDS[:1] if args.quick else SEEDS
    datasets = ["rotten_tomatoes"] if args.quick else list(DATASETS)
    n_splits = 50 if args.quick else N_SPLITS
    cells = []
    for dataset in datasets:
        for seed in seeds:
            if args.available and not is_cached(dataset, seed):
                continue
            results = resplit_cell(
                cell_scores(dataset, seed),
                calibrator=args.calibrator,
                n_splits=n_splits,
                seed=seed,
                fit_on=args.fit_on,
            )
            cells.append({"dataset": dataset, "seed": seed, "results": results})
            print(f"done {dataset} seed {seed}", flush=True)
    summary = summarise(cells)
    RESULTS.mkdir(parents=True, exist_ok=True)
    stem = "selective" if args.fit_on == "alignment" else "selective_fit_on_calibration"
    (RESULTS / f"{stem}.json").write_text(json.dumps({"summary": summary, "cells": cells}) + "\n")
    text = to_markdown(summary, cells, n_splits, args.calibrator, args.fit_on)
    (RESULTS / f"{stem}.md").write_text(text + "\n")
    print(text)


if __name__ == "__main__":
    main()
