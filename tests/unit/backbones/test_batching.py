"""Length-grouped batch order: a seeded permutation whose batches hold similar lengths, the same on every rank."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from accelerate.data_loader import BatchSamplerShard
from torch.utils.data import BatchSampler

from alien.backbones import distributed
from alien.backbones.batching import MEGABATCH, LengthGroupedSampler, length_grouped_order
from tests.tiny import tiny_tokenizer


def lengths(n: int, *, seed: int = 0) -> list[int]:
    return [int(x) for x in np.random.default_rng(seed).integers(1, 65, size=n)]


def batches(order: list[int], size: int) -> list[list[int]]:
    return [order[i : i + size] for i in range(0, len(order), size)]


def padding(order: list[int], sizes: list[int], batch_size: int) -> int:
    """Pad positions when each batch is padded to its longest row."""
    return sum(
        len(b) * max(sizes[i] for i in b) - sum(sizes[i] for i in b) for b in batches(order, batch_size)
    )


@pytest.mark.parametrize(("n", "batch_size"), [(1000, 32), (37, 8), (5, 8), (1, 1)])
def test_order_is_a_permutation_of_the_rows(n: int, batch_size: int) -> None:
    order = length_grouped_order(lengths(n), batch_size=batch_size, seed=3)
    assert sorted(order) == list(range(n))


def test_same_seed_and_epoch_same_order_and_otherwise_another() -> None:
    sizes = lengths(500)
    order = length_grouped_order(sizes, batch_size=16, seed=42, epoch=1)
    torch.manual_seed(0)  # the global generators must not matter
    np.random.seed(0)
    assert length_grouped_order(sizes, batch_size=16, seed=42, epoch=1) == order
    assert length_grouped_order(sizes, batch_size=16, seed=43, epoch=1) != order
    assert length_grouped_order(sizes, batch_size=16, seed=42, epoch=2) != order


def test_batches_hold_similar_lengths() -> None:
    sizes, batch_size = lengths(2000, seed=1), 32
    order = length_grouped_order(sizes, batch_size=batch_size, seed=0)
    shuffled = [int(i) for i in np.random.default_rng(0).permutation(len(sizes))]
    # each batch is a run of its sorted megabatch: its lengths span little of the 1..64 range
    spans = [max(sizes[i] for i in b) - min(sizes[i] for i in b) for b in batches(order, batch_size)]
    assert (
        np.mean(spans)
        < 4
        < np.mean(
            [max(sizes[i] for i in b) - min(sizes[i] for i in b) for b in batches(shuffled, batch_size)]
        )
    )
    assert padding(order, sizes, batch_size) < padding(shuffled, sizes, batch_size) / 10


def test_full_batches_come_in_random_order_and_the_short_one_last() -> None:
    sizes, batch_size = lengths(MEGABATCH * 8 * 3 + 5, seed=2), 8
    order = length_grouped_order(sizes, batch_size=batch_size, seed=0)
    groups = batches(order, batch_size)
    assert [len(b) for b in groups] == [batch_size] * (len(groups) - 1) + [5]
    longest = [max(sizes[i] for i in b) for b in groups[:-1]]
    assert longest != sorted(longest) and longest != sorted(longest, reverse=True)  # not a length curriculum


def test_sampler_draws_a_new_order_per_epoch_and_every_instance_agrees() -> None:
    sizes = lengths(300)
    sampler = LengthGroupedSampler(sizes, batch_size=16, seed=7)
    assert len(sampler) == 300
    first = list(sampler)
    assert first == list(sampler) == length_grouped_order(sizes, batch_size=16, seed=7, epoch=0)
    sampler.set_epoch(1)
    assert list(sampler) == length_grouped_order(sizes, batch_size=16, seed=7, epoch=1) != first
    torch.manual_seed(123)  # another process, other global generator state: the same order
    other = LengthGroupedSampler(sizes, batch_size=16, seed=7)
    other.set_epoch(1)
    assert list(other) == list(sampler)


def test_under_ddp_each_step_shares_one_length_group_over_the_ranks() -> None:
    """accelerate hands per-rank batches round-robin: step k of every rank comes from global batch k."""
    sizes, global_batch, ranks = lengths(1000, seed=4), 32, 2
    order = length_grouped_order(sizes, batch_size=global_batch, seed=0)
    per_rank = [
        list(
            BatchSamplerShard(
                BatchSampler(
                    LengthGroupedSampler(sizes, batch_size=global_batch, seed=0), global_batch // ranks, False
                ),
                num_processes=ranks,
                process_index=rank,
            )
        )
        for rank in range(ranks)
    ]
    full_steps = len(sizes) // global_batch
    for step, group in enumerate(batches(order, global_batch)[:full_steps]):
        assert sorted(per_rank[0][step] + per_rank[1][step]) == sorted(group)
    seen = {i for rank in per_rank for batch in rank for i in batch}
    assert seen == set(range(len(sizes)))  # every row trained on (the short last step is topped up)


@pytest.mark.parametrize(
    ("sizes", "options", "message"),
    [
        ([3, 4], {"batch_size": 0}, "batch_size must be an integer >= 1, got 0"),
        ([3, 4], {"batch_size": 2, "epoch": -1}, "epoch must be an integer >= 0, got -1"),
        ([3, -1], {"batch_size": 2}, "lengths must be non-negative integers, got -1"),
        ([3, 2.5], {"batch_size": 2}, "lengths must be non-negative integers, got 2.5"),
    ],
)
def test_bad_arguments_are_named(sizes: list[int], options: dict[str, int], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        length_grouped_order(sizes, seed=0, **options)


@pytest.mark.integration
def test_under_torchrun_the_ranks_train_on_the_samplers_global_batches(tmp_path: Path) -> None:
    """Two gloo processes: at every step the ranks' batches together are the order's global batch."""
    from tests.unit.backbones import ddp_grouping_worker as worker

    done = distributed.torchrun("tests.unit.backbones.ddp_grouping_worker", [str(tmp_path)], processes=2)
    assert done.returncode == 0
    ranks = [json.loads((tmp_path / f"rank{r}.json").read_text()) for r in (0, 1)]
    tokenizer, rows, options = tiny_tokenizer(), worker.records(), worker.OPTIONS
    sizes = [
        len(tokenizer(r["text"], truncation=True, max_length=worker.MAX_LENGTH)["input_ids"]) for r in rows
    ]
    expected = [
        sorted(sizes[i] for i in batch)
        for epoch in (0, 1)
        for batch in batches(
            length_grouped_order(sizes, batch_size=options["batch_size"], seed=options["seed"], epoch=epoch),
            options["batch_size"],
        )
    ]
    assert len(ranks[0]) == len(ranks[1]) == len(expected) == 2 * len(rows) // options["batch_size"]
    assert [sorted(a + b) for a, b in zip(*ranks, strict=True)] == expected
