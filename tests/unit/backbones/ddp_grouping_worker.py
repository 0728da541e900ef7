"""One torchrun worker of ``test_batching``'s DDP test: fine-tune a tiny BERT with length-grouped batches
and write, per training step, the real lengths of this rank's batch to ``<folder>/rank<RANK>.json``.

    python -m torch.distributed.run --nproc_per_node 2 -m tests.unit.backbones.ddp_grouping_worker <folder>
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import torch

from alien.backbones import distributed
from alien.backbones.finetune import finetune
from tests.tiny import tiny_model, tiny_texts_and_labels, tiny_tokenizer

OPTIONS: dict[str, Any] = {
    "epochs": 2.0,
    "batch_size": 8,
    "learning_rate": 5e-3,
    "warmup_ratio": 0.0,
    "seed": 3,
    "group_by_length": True,
}
MAX_LENGTH = 64


def records(n: int = 64) -> list[dict[str, Any]]:
    """Rows of 1 to 5 sentences (about 10 to 60 tokens)."""
    texts, labels = tiny_texts_and_labels(n)
    return [
        {"text": " ".join([text] * (1 + (i * 3) % 5)), "label": label}
        for i, (text, label) in enumerate(zip(texts, labels, strict=True))
    ]


def main(folder: Path) -> None:
    model, steps = tiny_model("bert", seed=1), []

    def watch(module: torch.nn.Module, args: Any, kwargs: dict[str, Any]) -> None:
        if module.training:
            steps.append(kwargs["attention_mask"].sum(dim=1).tolist())

    model.register_forward_pre_hook(watch, with_kwargs=True)
    finetune(
        model,
        tiny_tokenizer(),
        records(),
        [],
        task="sequence-classification",
        max_length=MAX_LENGTH,
        **OPTIONS,
    )
    (folder / f"rank{distributed.rank()}.json").write_text(json.dumps(steps))


if __name__ == "__main__":
    main(Path(sys.argv[1]))
