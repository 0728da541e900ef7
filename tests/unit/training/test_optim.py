import pytest
import torch

from alien.training.optim import BatchedAdam, one_cycle_multipliers


def test_batched_adam_equals_torch_adam_per_config():
    g = torch.Generator().manual_seed(0)
    lrs = torch.tensor([1e-1, 1e-3, 3e-2], dtype=torch.float64)
    start = {"w": torch.randn(4, 3, generator=g), "b": torch.randn(3, generator=g)}
    stacked = {n: p.unsqueeze(0).repeat(3, *([1] * p.ndim)).clone() for n, p in start.items()}
    grads = [{n: torch.randn(3, *p.shape, generator=g) for n, p in start.items()} for _ in range(25)]
    adam = BatchedAdam.zeros_like(stacked)
    for step_grads in grads:
        adam.update(stacked, step_grads, lrs)

    for k in range(3):
        ref = {n: p.clone().requires_grad_(True) for n, p in start.items()}
        opt = torch.optim.Adam(ref.values(), lr=float(lrs[k]))
        for step_grads in grads:
            for n, p in ref.items():
                p.grad = step_grads[n][k].clone()
            opt.step()
        for n in start:
            assert torch.allclose(stacked[n][k], ref[n].detach(), rtol=1e-6, atol=1e-7), (k, n)
    # The steps did move the parameters, differently per learning rate.
    assert not torch.allclose(stacked["w"][0], stacked["w"][1])
    assert adam.step == 25


def test_select_and_write_back_keep_rows_apart():
    params = {"w": torch.zeros(3, 2)}
    adam = BatchedAdam.zeros_like(params)
    rows = torch.tensor([0, 2])
    part, part_adam = {"w": params["w"][rows]}, adam.select(rows)
    part_adam.update(part, {"w": torch.ones(2, 2)}, torch.tensor([0.1, 0.1], dtype=torch.float64))
    adam.write_back(rows, part_adam)
    assert torch.all(adam.exp_avg["w"][1] == 0) and torch.all(adam.exp_avg["w"][rows] > 0)
    assert adam.step == 1


@pytest.mark.parametrize("pct", [0.1, 0.3])
def test_one_cycle_multipliers_match_onecyclelr(pct):
    total, max_lr = 97, 4e-4
    mult = one_cycle_multipliers(total, pct_start=pct)
    opt = torch.optim.Adam([torch.zeros(1, requires_grad=True)], lr=max_lr)
    sched = torch.optim.lr_scheduler.OneCycleLR(
        opt, max_lr=max_lr, total_steps=total, pct_start=pct, anneal_strategy="cos", cycle_momentum=False
    )
    expected = []
    for t in range(total):
        expected.append(opt.param_groups[0]["lr"])
        opt.step()
        if t + 1 < total:
            sched.step()
    assert torch.allclose(mult * max_lr, torch.tensor(expected, dtype=torch.float64), rtol=1e-12)
    # shape: warm up from max/25 to the peak, then cosine down far below the start
    assert float(mult[0]) == pytest.approx(1 / 25)
    peak = int(mult.argmax())
    assert abs(peak - (pct * total - 1)) <= 1
    assert float(mult.max()) == pytest.approx(1.0, abs=1e-3)
    assert float(mult[-1]) == pytest.approx(1 / 25 / 1e4, rel=1e-6)


def test_one_cycle_rejects_bad_arguments():
    with pytest.raises(ValueError, match="total_steps"):
        one_cycle_multipliers(0, pct_start=0.1)
    with pytest.raises(ValueError, match="pct_start"):
        one_cycle_multipliers(10, pct_start=1.0)


@pytest.mark.parametrize(("total", "pct"), [(10, 0.1), (4, 0.25), (2, 0.5)])
def test_one_step_warm_up_starts_at_the_peak(total, pct):
    """pct_start * total_steps == 1 makes OneCycleLR divide by zero; the schedule peaks at step 0."""
    mult = one_cycle_multipliers(total, pct_start=pct)
    assert mult.shape == (total,) and torch.isfinite(mult).all()
    assert float(mult[0]) == pytest.approx(1.0, abs=1e-5)
    assert (mult[1:] <= mult[:-1]).all()  # annealing only
