"""The ``finetune`` stage in 1 vs 2 DDP processes: wall time, and whether the results agree.

For each model size the same prepared data is fine-tuned twice through the stage's
command line (``python -m alien.stages.finetune``, a fresh process each) —
``finetune.processes: 1`` (one process, all cores' threads) and ``2`` (the stage
re-launches itself under ``torchrun --standalone``, gloo on CPU, half the threads
each) — from the same initial weights. Prints wall time, the ratio, validation accuracy, and on a fixed
batch of validation texts the max abs difference of the two models' logits and
how many predictions agree. Writes ``benchmarks/results/ddp.json``.

DDP is not expected to give identical weights: each process draws its own shard
of every batch (torch's DistributedSampler order, not the single process's), and
dropout differs per rank; the global batch and the number of steps are the same.

    python benchmarks/bench_ddp.py [--sizes tiny medium] [--rows 512] [--threads N]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import torch
import yaml
from transformers import BertConfig, BertForSequenceClassification

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from alien.backbones.loading import load_finetuned  # noqa: E402
from alien.data.io import write_json, write_jsonl  # noqa: E402
from tests.tiny import VOCAB_SIZE, tiny_texts_and_labels, tiny_tokenizer  # noqa: E402

# a learning rate each size learns the task with in 3 epochs
LEARNING_RATES = {"tiny": 2e-3, "medium": 2e-4}
SIZES: dict[str, dict[str, Any]] = {
    "tiny": {"hidden_size": 32, "num_hidden_layers": 2, "num_attention_heads": 2, "intermediate_size": 64},
    "medium": {
        "hidden_size": 256,
        "num_hidden_layers": 4,
        "num_attention_heads": 4,
        "intermediate_size": 1024,
    },
}
FINETUNE = {
    "method": "full",
    "epochs": 3,
    "batch_size": 16,
    "warmup_ratio": 0.0,
    "seed": 0,
}


def _project(root: Path, size: str, rows: int) -> dict[str, Any]:
    """Prepared splits, a randomly initialised BERT of ``size`` with the tiny tokenizer, and params."""
    texts, labels = tiny_texts_and_labels(rows + 128, seed=0)
    records = [
        {"id": str(i), "text": t, "label": y} for i, (t, y) in enumerate(zip(texts, labels, strict=True))
    ]
    prepared = root / "prepared"
    write_jsonl(prepared / "train.jsonl", records[:rows])
    write_jsonl(prepared / "validation.jsonl", records[rows:])
    write_json(prepared / "labels.json", ["negative", "positive"])
    torch.manual_seed(0)
    config = BertConfig(
        vocab_size=VOCAB_SIZE, max_position_embeddings=64, num_labels=2, pad_token_id=0, **SIZES[size]
    )
    BertForSequenceClassification(config).save_pretrained(root / "backbone-init")
    tiny_tokenizer().save_pretrained(root / "backbone-init")
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    params["paths"].update(prepared=str(prepared))
    params["backbone"].update(name=str(root / "backbone-init"), max_length=32)
    params["finetune"].update(FINETUNE, learning_rate=LEARNING_RATES[size])
    params["data"].update(task="sequence-classification")
    return {"params": params, "validation": [r["text"] for r in records[rows:]]}


def _run(root: Path, params: dict[str, Any], processes: int, threads: int | None) -> dict[str, Any]:
    params = json.loads(json.dumps(params))
    params["finetune"]["processes"] = processes
    params["paths"]["backbone"] = str(root / f"models-{processes}" / "backbone")
    path = root / f"params-{processes}.yaml"
    path.write_text(yaml.safe_dump(params, sort_keys=False))
    # Both runs go through the stage's command line in a fresh process, so both pay the same start-up,
    # and each process gets its share of the cores (torchrun's workers: cores / processes threads).
    threads = threads or max(1, (os.cpu_count() or 1) // processes)
    env = {**os.environ, "OMP_NUM_THREADS": str(threads)}
    command = [sys.executable, "-m", "alien.stages.finetune", "--params", str(path)]
    start = time.perf_counter()
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    seconds = round(time.perf_counter() - start, 2)
    if done.returncode != 0:
        raise RuntimeError(f"finetune with {processes} process(es) failed: {done.stderr[-2000:]}")
    summary = json.loads(done.stdout.strip().splitlines()[-1])
    return {"wall_s": seconds, "result": summary, "threads_per_process": env["OMP_NUM_THREADS"]}


@torch.no_grad()
def _logits(folder: str, texts: list[str]) -> torch.Tensor:
    model, tokenizer = load_finetuned(folder, task="sequence-classification")
    return model(**tokenizer(texts, padding=True, truncation=True, max_length=32, return_tensors="pt")).logits


def bench(size: str, rows: int, threads: int | None = None) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix=f"alien-ddp-{size}-") as tmp:
        root = Path(tmp)
        project = _project(root, size, rows)
        runs = {n: _run(root, project["params"], n, threads) for n in (1, 2)}
        texts = project["validation"][:64]
        one, two = (_logits(runs[n]["result"]["output_dir"], texts) for n in (1, 2))
        params = sum(
            p.numel()
            for p in BertForSequenceClassification.from_pretrained(root / "backbone-init").parameters()
        )
    return {
        "size": size,
        "parameters": params,
        "train_rows": rows,
        "wall_s": {n: runs[n]["wall_s"] for n in (1, 2)},
        "two_over_one": round(runs[2]["wall_s"] / runs[1]["wall_s"], 3),
        "val_accuracy": {n: runs[n]["result"]["val_accuracy"] for n in (1, 2)},
        "processes_recorded": {n: runs[n]["result"]["processes"] for n in (1, 2)},
        "threads_per_process": {n: runs[n]["threads_per_process"] for n in (1, 2)},
        "logits_max_abs_diff": float((one - two).abs().max()),
        "logits_max_abs": float(one.abs().max()),
        "predictions_agree": f"{int((one.argmax(-1) == two.argmax(-1)).sum())}/{len(texts)}",
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", nargs="+", choices=sorted(SIZES), default=["tiny", "medium"])
    parser.add_argument("--rows", type=int, default=512, help="training rows (default: %(default)s)")
    parser.add_argument("--threads", type=int, help="threads per process (default: cores / processes)")
    args = parser.parse_args(argv)
    results = [bench(size, args.rows, args.threads) for size in args.sizes]
    print(
        f"{'size':<8}{'params':>11}{'1 proc s':>10}{'2 proc s':>10}{'2/1':>7}{'acc 1':>8}{'acc 2':>8}{'max|Δlogit|':>13}{'agree':>9}"
    )
    for r in results:
        print(
            f"{r['size']:<8}{r['parameters']:>11,}{r['wall_s'][1]:>10.1f}{r['wall_s'][2]:>10.1f}{r['two_over_one']:>7.2f}"
            f"{r['val_accuracy'][1]:>8.3f}{r['val_accuracy'][2]:>8.3f}{r['logits_max_abs_diff']:>13.4f}{r['predictions_agree']:>9}"
        )
    out = ROOT / "benchmarks" / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / "ddp.json").write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
