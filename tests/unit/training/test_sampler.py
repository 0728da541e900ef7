import pytest
import torch

from alien.training.sampler import EpochBatches


def _errors(n: int, n_err: int) -> torch.Tensor:
    e = torch.zeros(n)
    e[torch.randperm(n, generator=torch.Generator().manual_seed(1))[:n_err]] = 1
    return e


def test_plain_epoch_is_a_permutation_in_batches():
    batches = EpochBatches(_errors(300, 40), batch_size=128, oversample=False, seed=0)
    assert batches.steps_per_epoch == 3
    first, second = batches.epoch(), batches.epoch()
    assert [len(b) for b in first] == [128, 128, 44]
    assert torch.equal(torch.cat(first).sort().values, torch.arange(300))
    assert not torch.equal(torch.cat(first), torch.cat(second))


def test_same_seed_same_batches_and_global_rng_untouched():
    state = torch.get_rng_state()
    a = EpochBatches(_errors(200, 30), batch_size=64, oversample=True, seed=7)
    b = EpochBatches(_errors(200, 30), batch_size=64, oversample=True, seed=7)
    for _ in range(3):
        assert all(torch.equal(x, y) for x, y in zip(a.epoch(), b.epoch(), strict=True))
    assert torch.equal(state, torch.get_rng_state())


@pytest.mark.parametrize("n_err", [150, 850])  # errors the minority, or the majority
def test_oversampling_balances_errors(n_err):
    errors = _errors(1000, n_err)
    batches = EpochBatches(errors, batch_size=128, oversample=True, seed=0)
    majority = max(n_err, 1000 - n_err)
    assert batches.rows_per_epoch == 2 * majority
    epoch = batches.epoch()
    rows = torch.cat(epoch)
    assert len(rows) == 2 * majority
    assert float(errors[rows].mean()) == 0.5
    assert torch.equal(rows.unique(), torch.arange(1000))  # every original row still seen
    # each full batch is close to balanced (binomial sd ~0.044 at n=128)
    fractions = torch.stack([errors[b].mean() for b in epoch if len(b) == 128])
    assert float((fractions - 0.5).abs().max()) < 0.2
    plain = torch.cat(EpochBatches(errors, batch_size=128, oversample=False, seed=0).epoch())
    assert float(errors[plain].mean()) == pytest.approx(n_err / 1000)


def test_oversampling_needs_both_classes():
    with pytest.raises(ValueError, match="0 errors out of 50"):
        EpochBatches(torch.zeros(50), batch_size=8, oversample=True, seed=0)


def test_rejects_empty_and_bad_batch_size():
    with pytest.raises(ValueError, match="non-empty"):
        EpochBatches(torch.zeros(0), batch_size=8, oversample=False, seed=0)
    with pytest.raises(ValueError, match="batch_size"):
        EpochBatches(torch.zeros(5), batch_size=0, oversample=False, seed=0)
