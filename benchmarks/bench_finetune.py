"""The default fine-tune against the machine's matmul peak, and the candidates that make it faster.

In one run: the float32 GEMM peak of this machine (``torch.mm`` of 2048 x 2048
matrices, best of a few, at each thread count used, measured before and after
the fine-tunes), then the default fine-tune of ``params.yaml`` (its data
section → fetch + prepare into a scratch folder; its backbone and finetune
sections) under each candidate:

- ``baseline``: today's recipe: uniformly random batches, each padded to its
  longest row (``DataCollatorWithPadding``), torch's per-tensor AdamW, torch's
  default threads (one per core).
- ``grouped``: length-grouped batches (``finetune.group_by_length``).
- ``fused``: torch's fused AdamW kernel (``finetune.fused_adamw``).
- ``grouped+fused``: both.
- ``grouped+fused+compile``: both, with the model ``torch.compile``-d in place
  (inductor, dynamic shapes: the padded length varies per batch); the compile is
  in its seconds.
- ``grouped+fused@1thread``: both, on one thread (``finetune.threads: 1``).
- ``baseline@1thread``: today's recipe on one thread (``@1thread`` rows also give
  their speedup over it: the same threads).
- ``grouped+fused@passive``: both, on the default threads with ``OMP_WAIT_POLICY=PASSIVE``
  (OpenMP's idle threads sleep instead of spinning).

Also available (``--candidates``): ``grouped@1thread``, ``fused@1thread``.

Each fine-tune runs in a fresh process (as the stage does), in rounds that
interleave the candidates, ``--repeats`` times (``compile``: once, see
``--compile-repeats``). For each: seconds of the ``finetune()`` call (training
only; validation and test accuracy are measured afterwards, untimed) and the CPU
seconds of its process (all threads; less moved by other processes than wall
time), the median's speedup over the baseline's median, tokens/s (real = non-pad tokens;
padded = every position the model computes), achieved GFLOP/s = 6 x
non-embedding parameters x padded tokens / s (the usual training estimate:
forward 2, backward 4 FLOPs per weight per token; embedding lookups are not
matmuls, and attention's score FLOPs are ~1% at these lengths, so both are left
out) and its fraction of the peak, test accuracy, and whether two runs with the
same seed gave identical weights. A candidate PASSes at >= 1.3x the baseline's
speed in every round (its run over the baseline's run of the same round) with
test accuracy within 0.01 of the baseline's and identical weights on its repeats.

The machine may be shared: the load average is recorded with every run; compare
candidates within one run only. ``--epochs`` and ``--rows`` shrink the run for a
quick check, and ``--seed`` checks that a difference in accuracy is the seed's
noise, not the candidate's; the reported numbers (``benchmarks/results/finetune.json``) are the
default's.

    python benchmarks/bench_finetune.py [--repeats 2] [--candidates ...] [--epochs E --rows N] [--seed S] [--resume LOG]
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import torch  # noqa: E402

TARGET_SPEEDUP = 1.3
ACCURACY_TOLERANCE = 0.01
CANDIDATES: dict[str, dict[str, Any]] = {
    "baseline": {"group_by_length": False, "fused_adamw": False},
    "grouped": {"group_by_length": True, "fused_adamw": False},
    "fused": {"group_by_length": False, "fused_adamw": True},
    "grouped+fused": {"group_by_length": True, "fused_adamw": True},
    "grouped+fused@1thread": {"group_by_length": True, "fused_adamw": True, "threads": 1},
    "grouped+fused+compile": {"group_by_length": True, "fused_adamw": True, "compile": True},
    # thread settings: one thread per process, and OpenMP's waiting threads sleeping instead of spinning
    "baseline@1thread": {"group_by_length": False, "fused_adamw": False, "threads": 1},
    "grouped@1thread": {"group_by_length": True, "fused_adamw": False, "threads": 1},
    "fused@1thread": {"group_by_length": False, "fused_adamw": True, "threads": 1},
    "grouped+fused@passive": {
        "group_by_length": True,
        "fused_adamw": True,
        "env": {"OMP_WAIT_POLICY": "PASSIVE"},
    },
}
DEFAULT_CANDIDATES = (
    "baseline",
    "grouped",
    "fused",
    "grouped+fused",
    "baseline@1thread",
    "grouped+fused@1thread",
    "grouped+fused@passive",
    "grouped+fused+compile",
)


def matmul_peak(threads: int, *, size: int = 2048, tries: int = 5) -> float:
    """Best float32 GEMM GFLOP/s of ``torch.mm`` on ``size`` x ``size`` matrices at ``threads`` threads."""
    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        a, b = torch.randn(size, size), torch.randn(size, size)
        torch.mm(a, b)  # warm-up: thread pool, packing buffers
        best = float("inf")
        for _ in range(tries):
            start = time.perf_counter()
            torch.mm(a, b)
            best = min(best, time.perf_counter() - start)
    finally:
        torch.set_num_threads(before)
    return 2 * size**3 / best / 1e9


def sections() -> dict[str, Any]:
    """``params.yaml``'s paths, data, backbone and finetune sections (the only ones this reads), checked."""
    import yaml

    from alien.config.base import section_from_mapping
    from alien.config.params import SECTIONS

    raw = yaml.safe_load((ROOT / "params.yaml").read_text())
    names = ("paths", "data", "backbone", "finetune")
    return {name: section_from_mapping(SECTIONS[name], raw[name], section=name) for name in names}


def prepare(root: Path, *, rows: int | None) -> dict[str, Any]:
    """fetch + prepare with ``params.yaml``'s data section (``rows``: its max_rows) into ``root``."""
    from alien.stages import fetch
    from alien.stages import prepare as prepare_stage

    params = sections()
    data = params["data"] if rows is None else dataclasses.replace(params["data"], max_rows=rows)
    paths = dataclasses.replace(params["paths"], raw=str(root / "raw.jsonl"), prepared=str(root / "prepared"))
    fetch.run(data, paths)
    result = prepare_stage.run(data, paths)
    return {"prepared": str(root / "prepared"), "rows": dict(result.rows), "source": data.source}


def worker(name: str, prepared: str, epochs: float | None, seed: int | None = None) -> dict[str, Any]:
    """One fine-tune under candidate ``name`` in this process; its timing, tokens, weights and accuracy."""
    from transformers import set_seed

    from alien.backbones.finetune import finetune
    from alien.backbones.loading import load_backbone, resolve_backbone
    from alien.data.io import read_labels, read_split

    settings = dict(CANDIDATES[name])
    compiled = settings.pop("compile", False)
    settings.pop("env", None)  # set by the parent when it starts this process
    params = sections()
    options = dataclasses.replace(params["finetune"], **settings)
    if epochs is not None:
        options = dataclasses.replace(options, epochs=epochs)
    if seed is not None:
        options = dataclasses.replace(options, seed=seed)
    task, labels, max_length = params["data"].task, read_labels(prepared), params["backbone"].max_length
    train, val, test = (read_split(prepared, split) for split in ("train", "validation", "test"))
    source = resolve_backbone(params["backbone"].name)
    set_seed(options.seed)  # as the stage does: the new classifier head draws from the global generator
    model, tokenizer = load_backbone(source, task=task, label_names=labels)
    counts = {"real": 0, "padded": 0, "steps": 0}

    def count(module: torch.nn.Module, args: Any, kwargs: dict[str, Any]) -> None:
        if module.training:
            counts["padded"] += int(kwargs["input_ids"].numel())
            counts["real"] += int(kwargs["attention_mask"].sum())
            counts["steps"] += 1

    if compiled:
        model.compile(dynamic=True)  # a hook would break the graph; tokens are those of the same batches
    else:
        model.register_forward_pre_hook(count, with_kwargs=True)
    start, cpu_start = time.perf_counter(), time.process_time()
    summary = finetune(
        model,
        tokenizer,
        train,
        [],
        options,
        task=task,
        max_length=max_length,
        output_dir=None,
    )
    seconds, cpu_seconds = time.perf_counter() - start, time.process_time() - cpu_start
    state = model.state_dict()
    digest = hashlib.sha256()
    for key in sorted(state):
        digest.update(key.encode())
        digest.update(state[key].detach().contiguous().numpy().tobytes())
    evaluate, _ = load_backbone(source, task=task, label_names=labels)  # uncompiled, for every candidate
    evaluate.load_state_dict(state)
    embedding = sum(p.numel() for p in evaluate.base_model.embeddings.parameters())
    return {
        "candidate": name,
        "seconds": round(seconds, 2),
        "cpu_seconds": round(cpu_seconds, 2),
        "trainer_seconds": round(summary.seconds, 2),
        "threads": options.threads or torch.get_num_threads(),
        "tokens": counts if not compiled else None,
        "params_total": summary.total_params,
        "params_non_embedding": summary.total_params - embedding,
        "train_loss": round(summary.train_loss, 4),
        "val_accuracy": _accuracy(evaluate, tokenizer, val, max_length=max_length),
        "test_accuracy": _accuracy(evaluate, tokenizer, test, max_length=max_length),
        "weights_sha256": digest.hexdigest(),
        "load_average": round(os.getloadavg()[0], 2),
    }


@torch.no_grad()
def _accuracy(
    model: torch.nn.Module, tokenizer: Any, records: list[dict[str, Any]], *, max_length: int
) -> float:
    model.eval()
    correct = 0
    for begin in range(0, len(records), 64):
        rows = records[begin : begin + 64]
        batch = tokenizer(
            [r["text"] for r in rows],
            padding=True,
            truncation=True,
            max_length=max_length,
            return_tensors="pt",
        )
        predicted = model(**batch).logits.argmax(-1)
        correct += int((predicted == torch.tensor([r["label"] for r in rows])).sum())
    return round(correct / len(records), 4)


def _spawn(name: str, prepared: str, epochs: float | None, seed: int | None) -> dict[str, Any]:
    command = [sys.executable, __file__, "--worker", name, "--prepared", prepared]
    if epochs is not None:
        command += ["--epochs", str(epochs)]
    if seed is not None:
        command += ["--seed", str(seed)]
    env = {**os.environ, **CANDIDATES[name].get("env", {})}
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"candidate {name} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def summarise(runs: list[dict[str, Any]], peaks: dict[int, float]) -> dict[str, Any]:
    """Per candidate: median seconds, speedup, tokens/s, GFLOP/s, fraction of peak, accuracy, determinism."""
    by_name: dict[str, list[dict[str, Any]]] = {}
    for run in runs:
        by_name.setdefault(run["candidate"], []).append(run)
    tokens_of = {  # a compiled run's batches are its uncompiled twin's (same sampler, same seed)
        name: next((r["tokens"] for r in group if r["tokens"]), None) for name, group in by_name.items()
    }
    base = by_name["baseline"]
    base_seconds = statistics.median(r["seconds"] for r in base)
    base_accuracy = statistics.median(r["test_accuracy"] for r in base)
    out: dict[str, Any] = {}
    for name, group in by_name.items():
        seconds = statistics.median(r["seconds"] for r in group)
        twin = name.replace("+compile", "")
        tokens = tokens_of[name] or tokens_of.get(twin)
        non_embedding = group[0]["params_non_embedding"]
        threads = group[0]["threads"]
        same = "baseline@1thread" if name.endswith("@1thread") else "baseline"
        hashes = {r["weights_sha256"] for r in group}
        cpu = [r["cpu_seconds"] for r in group if "cpu_seconds" in r]
        base_cpu = [r["cpu_seconds"] for r in base if "cpu_seconds" in r]
        row: dict[str, Any] = {
            "seconds": [r["seconds"] for r in group],
            "median_seconds": seconds,
            "speedup": round(base_seconds / seconds, 3),
            "speedup_same_threads": round(statistics.median(r["seconds"] for r in by_name[same]) / seconds, 3)
            if same in by_name
            else None,
            # round by round (each round runs every candidate back to back): the load moves less within one
            "speedup_per_round": [
                round(b["seconds"] / r["seconds"], 3) for b, r in zip(base, group, strict=False)
            ],
            # CPU seconds of the process (all its threads): less moved by other processes than wall time
            "cpu_seconds": cpu,
            "cpu_speedup": round(statistics.median(base_cpu) / statistics.median(cpu), 3)
            if cpu and base_cpu
            else None,
            "threads": threads,
            "test_accuracy": [r["test_accuracy"] for r in group],
            "val_accuracy": [r["val_accuracy"] for r in group],
            "train_loss": [r["train_loss"] for r in group],
            "load_average": [r["load_average"] for r in group],
            "deterministic": len(hashes) == 1 if len(group) > 1 else None,
            "same_weights_as": sorted(
                other
                for other, others in by_name.items()
                if other != name and hashes & {r["weights_sha256"] for r in others}
            ),
        }
        if tokens:
            gflops = 6 * non_embedding * tokens["padded"] / seconds / 1e9
            row.update(
                tokens_real=tokens["real"],
                tokens_padded=tokens["padded"],
                steps=tokens["steps"],
                real_tokens_per_s=round(tokens["real"] / seconds, 1),
                padded_tokens_per_s=round(tokens["padded"] / seconds, 1),
                gflops_per_s=round(gflops, 2),
                gflops_per_s_all_params=round(
                    6 * group[0]["params_total"] * tokens["padded"] / seconds / 1e9, 2
                ),
                fraction_of_peak=round(gflops / peaks[threads], 3),
            )
        accuracy = statistics.median(row["test_accuracy"])
        row["accuracy_delta"] = round(accuracy - base_accuracy, 4)
        row["target"] = (
            "—"
            if name == "baseline"
            else "PASS"
            if min(row["speedup_per_round"]) >= TARGET_SPEEDUP
            and abs(row["accuracy_delta"]) <= ACCURACY_TOLERANCE
            and row["deterministic"] is not False
            else "MISS"
        )
        out[name] = row
    return out


def table(rows: dict[str, Any]) -> str:
    head = (
        f"{'candidate':24} {'threads':>7} {'seconds':>16} {'speedup':>11} {'same thr':>8} {'CPU s':>11} {'CPU sp.':>7} {'real tok/s':>10} {'pad tok/s':>9} "
        f"{'GFLOP/s':>8} {'of peak':>7} {'test acc':>15} {'Δacc':>7} {'same weights':>12} {'target':>6}"
    )
    lines = [head, "-" * len(head)]
    for name, r in rows.items():
        seconds = "/".join(f"{s:.0f}" for s in r["seconds"])
        same = {True: "yes", False: "NO", None: "1 run"}[r["deterministic"]]
        cpu = "/".join(f"{c:.0f}" for c in r["cpu_seconds"]) or "—"
        same_threads = f"{r['speedup_same_threads']:.2f}x" if r["speedup_same_threads"] else "—"
        per_round = "/".join(f"{x:.2f}" for x in r["speedup_per_round"]) + "x"
        cpu_speedup = f"{r['cpu_speedup']:.2f}x" if r["cpu_speedup"] else "—"
        accuracy = "/".join(f"{a:.4f}" for a in r["test_accuracy"])
        lines.append(
            f"{name:24} {r['threads']:>7} {seconds:>16} {per_round:>11} {same_threads:>8} {cpu:>11} {cpu_speedup:>7} "
            f"{r.get('real_tokens_per_s', 0):>10.0f} "
            f"{r.get('padded_tokens_per_s', 0):>9.0f} {r.get('gflops_per_s', 0):>8.1f} "
            f"{r.get('fraction_of_peak', 0):>7.1%} {accuracy:>15} {r['accuracy_delta']:>+7.4f} {same:>12} "
            f"{r['target']:>6}"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--candidates", nargs="+", choices=list(CANDIDATES), default=list(DEFAULT_CANDIDATES))
    parser.add_argument("--repeats", type=int, default=2, help="runs per candidate (default: %(default)s)")
    parser.add_argument("--compile-repeats", type=int, default=1, help="runs of a compile candidate")
    parser.add_argument(
        "--epochs", type=float, default=None, help="quick check only: override finetune.epochs"
    )
    parser.add_argument("--seed", type=int, default=None, help="override finetune.seed (not written)")
    parser.add_argument("--rows", type=int, default=None, help="quick check only: override data.max_rows")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "finetune.json")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--prepared", help=argparse.SUPPRESS)
    parser.add_argument(
        "--resume", type=Path, help="the output of an interrupted run: its finished fine-tunes count as done"
    )
    args = parser.parse_args(argv)
    if args.worker:
        print(json.dumps(worker(args.worker, args.prepared, args.epochs, args.seed)))
        return 0
    names = ["baseline", *[n for n in args.candidates if n != "baseline"]]
    threads = sorted({CANDIDATES[n].get("threads", torch.get_num_threads()) for n in names})
    load = [round(x, 2) for x in os.getloadavg()]
    max_length = _max_length()
    peaks_before = {t: matmul_peak(t) for t in threads}
    runs = _logged_runs(args.resume) if args.resume else []
    resumed = len(runs)
    with tempfile.TemporaryDirectory(prefix="alien-bench-finetune-") as scratch:
        data = prepare(Path(scratch), rows=args.rows)
        for round_ in range(max(args.repeats, args.compile_repeats)):
            for name in names:
                wanted = args.compile_repeats if CANDIDATES[name].get("compile") else args.repeats
                if round_ < wanted and sum(r["candidate"] == name for r in runs) <= round_:
                    runs.append(_spawn(name, data["prepared"], args.epochs, args.seed))
                    r = runs[-1]
                    print(json.dumps(r), flush=True)  # the whole run, in case this process dies later
                    print(
                        f"round {round_ + 1} {name}: {r['seconds']} s, test {r['test_accuracy']}, "
                        f"load {r['load_average']}",
                        flush=True,
                    )
    peaks_after = {t: matmul_peak(t) for t in threads}
    peaks = {t: max(peaks_before[t], peaks_after[t]) for t in threads}
    rows = summarise(runs, peaks)
    default = args.epochs is None and args.rows is None and args.seed is None
    result = {
        "default_run": default,
        "data": data,
        "cpu": {"cores": os.cpu_count(), "torch_threads_default": torch.get_num_threads()},
        "matmul_peak_gflops": {str(t): round(p, 1) for t, p in peaks.items()},
        "matmul_peak_before_after": {
            str(t): [round(peaks_before[t], 1), round(peaks_after[t], 1)] for t in threads
        },
        "load_average_start_1_5_15min": load,
        "load_average_end_1_5_15min": [round(x, 2) for x in os.getloadavg()],
        "target": f">= {TARGET_SPEEDUP}x the baseline's speed, test accuracy within {ACCURACY_TOLERANCE}",
        "flops_estimate": "6 x non-embedding parameters x padded (computed) tokens",
        "static_padding_tokens_per_epoch": data["rows"]["train"] * max_length,
        "candidates": rows,
        "resumed": {"log": str(args.resume), "runs": resumed} if args.resume else None,
        "runs": runs,
    }
    print(f"matmul peak (float32 2048^2, best of 5): {result['matmul_peak_gflops']} GFLOP/s by threads")
    print(
        f"load average at start {load}, at end {result['load_average_end_1_5_15min']} ({os.cpu_count()} cores)"
    )
    print(table(rows))
    if default:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(result, indent=2) + "\n")
        print(f"wrote {args.out}")
    else:
        print("--epochs/--rows/--seed: not written; the reported numbers are the default's")
    return 0


def _logged_runs(log: Path) -> list[dict[str, Any]]:
    """The fine-tunes an interrupted run printed (one JSON line each); fetch + prepare give the same splits."""
    return [json.loads(line) for line in log.read_text().splitlines() if line.startswith('{"candidate"')]


def _max_length() -> int:
    return int(sections()["backbone"].max_length)


if __name__ == "__main__":
    raise SystemExit(main())
