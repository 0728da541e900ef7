"""How fine-tuning batches: padding to the batch's longest row, length grouping, and the same model for a seed."""

from __future__ import annotations

from typing import Any

import pytest
import torch
from transformers import DataCollatorWithPadding

from alien.backbones.finetune import finetune
from alien.backbones.records import encode_records, forward_inputs
from alien.task import get_task
from tests.tiny import tiny_model, tiny_texts_and_labels, tiny_tokenizer

SEQ = "sequence-classification"
FAST: dict[str, Any] = {"epochs": 2.0, "batch_size": 8, "learning_rate": 5e-3, "warmup_ratio": 0.0}


def varied_records(n: int, *, seed: int = 0) -> list[dict[str, Any]]:
    """Rows of 1 to 5 sentences, about 10 to 60 tokens, so padding matters."""
    texts, labels = tiny_texts_and_labels(n, seed=seed)
    return [
        {"text": " ".join([text] * (1 + (i * 3) % 5)), "label": label}
        for i, (text, label) in enumerate(zip(texts, labels, strict=True))
    ]


def test_padding_to_the_longest_row_gives_each_row_its_own_logits() -> None:
    """The collator's dynamic padding equals max-length padding and the row alone, per example."""
    model, tokenizer = tiny_model("bert", seed=3).eval(), tiny_tokenizer()
    features = encode_records(
        tokenizer, varied_records(12), task=get_task(SEQ), max_length=64, keep=forward_inputs(model)
    )
    assert len({len(f["input_ids"]) for f in features}) > 3  # rows of several lengths
    dynamic = DataCollatorWithPadding(tokenizer)(features)
    static = DataCollatorWithPadding(tokenizer, padding="max_length", max_length=64)(features)
    assert dynamic["input_ids"].shape[1] == max(len(f["input_ids"]) for f in features) < 64
    with torch.no_grad():
        logits = {
            name: model(**{k: v for k, v in batch.items() if k != "labels"}).logits
            for name, batch in (("dynamic", dynamic), ("static", static))
        }
        alone = torch.cat(
            [model(**{k: torch.tensor([v]) for k, v in f.items() if k != "labels"}).logits for f in features]
        )
    torch.testing.assert_close(logits["dynamic"], logits["static"], atol=1e-5, rtol=0)
    torch.testing.assert_close(logits["dynamic"], alone, atol=1e-5, rtol=0)


def _train_and_watch(
    options: dict[str, Any], records: list[dict[str, Any]]
) -> tuple[dict[str, Any], list[Any]]:
    """Fine-tune a tiny BERT; its final weights and, per training step, the batch's real lengths."""
    model, steps = tiny_model("bert", seed=1), []

    def watch(module: torch.nn.Module, args: Any, kwargs: dict[str, Any]) -> None:
        if module.training:
            steps.append(kwargs["attention_mask"].sum(dim=1).tolist())

    model.register_forward_pre_hook(watch, with_kwargs=True)
    finetune(model, tiny_tokenizer(), records, [], task=SEQ, max_length=64, **{**FAST, **options})
    return {k: v.clone() for k, v in model.state_dict().items()}, steps


@pytest.mark.parametrize(
    "recipe",
    [{"group_by_length": False, "fused_adamw": False}, {"group_by_length": True, "fused_adamw": True}],
)
def test_the_same_seed_gives_identical_weights(recipe: dict[str, bool]) -> None:
    records = varied_records(40)
    first, first_steps = _train_and_watch({**recipe, "seed": 5}, records)
    second, second_steps = _train_and_watch({**recipe, "seed": 5}, records)
    assert first_steps == second_steps  # the same batches, in the same order
    assert first.keys() == second.keys()
    assert all(torch.equal(first[k], second[k]) for k in first)
    other, other_steps = _train_and_watch({**recipe, "seed": 6}, records)
    assert other_steps != first_steps
    assert any(not torch.equal(first[k], other[k]) for k in first)


def test_grouped_batches_pad_less_and_still_see_every_row_each_epoch() -> None:
    records = varied_records(64)
    _, random_steps = _train_and_watch({"group_by_length": False, "seed": 0}, records)
    _, grouped_steps = _train_and_watch({"group_by_length": True, "seed": 0}, records)
    assert len(grouped_steps) == len(random_steps) == 2 * 64 // 8

    def padded(steps: list[list[int]]) -> int:
        return sum(len(b) * max(b) - sum(b) for b in steps)

    assert padded(grouped_steps) < padded(random_steps) / 4
    lengths = sorted(
        len(tiny_tokenizer()(r["text"], truncation=True, max_length=64)["input_ids"]) for r in records
    )
    for epoch in (grouped_steps[:8], grouped_steps[8:]):  # every row once per epoch
        assert sorted(n for batch in epoch for n in batch) == lengths
    assert grouped_steps[:8] != grouped_steps[8:]  # a new order each epoch
