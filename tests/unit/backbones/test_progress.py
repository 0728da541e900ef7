"""Fine-tuning reports its progress: one log line per epoch (steps, loss, ETA) when there is no terminal."""

from __future__ import annotations

import logging
import re
from pathlib import Path

from alien.backbones.finetune import finetune
from alien.options.finetune import FinetuneOptions
from tests.tiny import tiny_model, tiny_texts_and_labels, tiny_tokenizer


def test_a_line_per_epoch_with_loss_and_eta(tmp_path: Path, caplog) -> None:
    texts, labels = tiny_texts_and_labels(32)
    records = [{"text": t, "label": y} for t, y in zip(texts, labels, strict=True)]
    options = FinetuneOptions(
        method="full", epochs=3.0, batch_size=8, learning_rate=1e-3, warmup_ratio=0.0, seed=0
    )
    with caplog.at_level(logging.INFO, logger="alien.finetune"):
        finetune(
            tiny_model("bert"),
            tiny_tokenizer(),
            records,
            records[:8],
            options,
            task="sequence-classification",
            max_length=32,
            output_dir=tmp_path / "out",
        )
    records = [r for r in caplog.records if r.name == "alien.finetune"]
    assert {r.levelno for r in records} == {logging.INFO}  # progress, not a warning
    lines = [r.getMessage() for r in records]
    assert len(lines) == 3
    pattern = r"finetune epoch \d\.\d\d/3: step (\d+)/12, loss \d+\.\d{4}, elapsed \d+ s, ETA \d+ s"
    assert all(re.fullmatch(pattern, line) for line in lines), lines
    steps = [int(re.fullmatch(pattern, line).group(1)) for line in lines]
    assert steps == [4, 8, 12]
    assert lines[-1].endswith("ETA 0 s")
