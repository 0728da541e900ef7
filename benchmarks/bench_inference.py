"""Inference cost of ALIEN: backbone forward alone vs backbone + ALIEN head, on CPU.

Both paths run side by side in one process on the same tokenised batch,
interleaved (the order alternates every repetition) so drift in CPU clock or
load hits both equally; the median is reported. The head's own cost is also
timed alone on the captured features, which is far less noisy than the
difference of two ~1 s medians.

Usage::

    python benchmarks/bench_inference.py                    # MiniLM, batch 32, seq 64
    python benchmarks/bench_inference.py --reps 30 --json reports/bench_inference.json
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from transformers import LlamaConfig, LlamaForSequenceClassification

from alien.backbones.loading import load_backbone
from alien.core.capture import capture_features, model_inputs
from alien.core.distance import DistanceTemperature
from alien.core.head_builder import build_alien_head
from alien.core.model import AlienClassifier

SENTENCES = [
    "a warm, funny and moving film that never forgets its characters",
    "the script is lazy, the acting wooden and the ending makes no sense at all",
    "one of the most quietly devastating dramas of the decade",
    "an absolute mess from start to finish, saved only by its score",
]


def _timed(fn: Callable[[], Any]) -> float:
    start = time.perf_counter()
    fn()
    return (time.perf_counter() - start) * 1000.0


def bench_minilm(*, backbone: str, batch_size: int, seq_len: int, reps: int, warmup: int) -> dict[str, Any]:
    """Median ms/batch of the backbone alone and of the AlienClassifier forward."""
    model, tokenizer = load_backbone(backbone, task="sequence-classification", label_names=["neg", "pos"])
    clf = AlienClassifier.from_model(model.eval(), tokenizer, max_length=seq_len)
    texts = [SENTENCES[i % len(SENTENCES)] for i in range(batch_size)]
    batch = dict(
        tokenizer(
            texts, padding="max_length", truncation=True, max_length=seq_len, return_tensors="pt"
        ).items()
    )
    inputs = model_inputs(model, batch)
    runs: dict[str, Callable[[], Any]] = {
        "backbone": lambda: model(**inputs),
        "backbone+alien": lambda: clf.forward(batch),
    }
    times: dict[str, list[float]] = {name: [] for name in runs}
    with torch.inference_mode():
        for _ in range(warmup):
            for fn in runs.values():
                fn()
        for rep in range(reps):
            order = list(runs) if rep % 2 == 0 else list(reversed(runs))
            for name in order:
                times[name].append(_timed(runs[name]))
        z, _ = capture_features(model, batch)
        # the head with both distance inputs (align.distance_inputs); Gaussians fitted on noise rows
        # of the same width: the cost depends on the shapes only
        rows = torch.randn(512, z.shape[1])
        distance = DistanceTemperature.fit(
            rows, torch.arange(512) % 2, rows, ("mahalanobis", "relative_mahalanobis")
        )
        distance_head = build_alien_head(model, temperature=distance)
        head_times, distance_times = [], []
        for _ in range(200):
            head_times.append(_timed(lambda: clf.head(z)))
            distance_times.append(_timed(lambda: distance_head(z)))
    backbone_ms = statistics.median(times["backbone"])
    alien_ms = statistics.median(times["backbone+alien"])
    head_ms = statistics.median(head_times)
    distance_ms = statistics.median(distance_times)
    # Per-repetition ratios pair runs seconds apart, so slow drift in machine load cancels.
    paired = statistics.median(a / b for a, b in zip(times["backbone+alien"], times["backbone"], strict=True))
    return {
        "backbone": backbone,
        "batch_size": batch_size,
        "seq_len": seq_len,
        "reps": reps,
        "threads": torch.get_num_threads(),
        "backbone_ms": round(backbone_ms, 2),
        "backbone_plus_alien_ms": round(alien_ms, 2),
        "ratio": round(alien_ms / backbone_ms, 4),
        "paired_ratio": round(paired, 4),
        "min_ratio": round(min(times["backbone+alien"]) / min(times["backbone"]), 4),
        "head_only_ms": round(head_ms, 4),
        "head_only_percent_of_backbone": round(100.0 * head_ms / backbone_ms, 4),
        "distance_head_ms": round(distance_ms, 4),
        "distance_head_percent_of_backbone": round(100.0 * distance_ms / backbone_ms, 4),
        "overhead": clf.parameter_overhead(),
    }


def llama_overhead(num_labels: int = 2) -> dict[str, dict[str, float]]:
    """Head share of a decoder: a tiny config and a SmolLM2-135M-shaped one (meta device, no memory)."""
    configs = {
        "llama-tiny (hidden 32, 2 layers)": LlamaConfig(
            vocab_size=120,
            hidden_size=32,
            num_hidden_layers=2,
            num_attention_heads=2,
            num_key_value_heads=2,
            intermediate_size=64,
            num_labels=num_labels,
            pad_token_id=0,
        ),
        "llama SmolLM2-135M shape": LlamaConfig(
            vocab_size=49152,
            hidden_size=576,
            num_hidden_layers=30,
            num_attention_heads=9,
            num_key_value_heads=3,
            intermediate_size=1536,
            tie_word_embeddings=True,
            num_labels=num_labels,
            pad_token_id=2,
        ),
    }
    out = {}
    for name, config in configs.items():
        with torch.device("meta"):
            model = LlamaForSequenceClassification(config)
        head = build_alien_head(model).num_parameters()
        total = sum(p.numel() for p in model.parameters())
        share = 100.0 * head / total
        out[name] = {"head_parameters": head, "backbone_parameters": total, "overhead_percent": share}
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backbone", default="package:minilm")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--seq-len", type=int, default=64)
    parser.add_argument("--reps", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args(argv)

    result = bench_minilm(
        backbone=args.backbone,
        batch_size=args.batch_size,
        seq_len=args.seq_len,
        reps=args.reps,
        warmup=args.warmup,
    )
    result["llama"] = llama_overhead()
    print(
        f"{args.backbone}: batch {args.batch_size} x seq {args.seq_len}, {args.reps} interleaved reps, "
        f"{result['threads']} threads"
    )
    print(f"  backbone forward         {result['backbone_ms']:10.2f} ms/batch (median)")
    print(f"  backbone + ALIEN forward {result['backbone_plus_alien_ms']:10.2f} ms/batch (median)")
    print(f"  ratio of medians         {result['ratio']:10.4f}")
    print(f"  median per-rep ratio     {result['paired_ratio']:10.4f}")
    print(f"  ratio of minima          {result['min_ratio']:10.4f}")
    print(
        f"  ALIEN head alone         {result['head_only_ms']:10.4f} ms/batch "
        f"({result['head_only_percent_of_backbone']:.4f}% of the backbone)"
    )
    print(
        f"  ALIEN head + distances   {result['distance_head_ms']:10.4f} ms/batch "
        f"({result['distance_head_percent_of_backbone']:.4f}% of the backbone; target <= 1%)"
    )
    rows = {args.backbone: result["overhead"], **result["llama"]}
    for name, o in rows.items():
        print(
            f"  params {name}: head {o['head_parameters']:,} / model {o['backbone_parameters']:,} "
            f"= {o['overhead_percent']:.4f}%"
        )
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
