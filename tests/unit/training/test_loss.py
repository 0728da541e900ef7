import math

import pytest
import torch
import torch.nn.functional as F

from alien.training import GridSearch, alien_loss, grid_points, l2sp_grad
from alien.training.batched import BatchedGrid
from alien.training.loss import check_loss_inputs, data_loss
from tests.unit.training.synthetic import make_head, pooler_core, shifted, synthetic_features


def _example() -> dict:
    return {
        "u": torch.tensor([0.2, 0.7, 0.9]),
        "u0": torch.tensor([0.3, 0.5, 0.9]),
        "errors": torch.tensor([0.0, 1.0, 0.0]),
        "params": {"w": torch.tensor([[1.0, 2.0]]), "b": torch.tensor([0.5])},
        "params0": {"w": torch.tensor([[0.0, 2.0]]), "b": torch.tensor([0.0])},
    }


def test_terms_match_hand_computation_on_three_rows():
    t = alien_loss(**_example(), alpha=0.5, beta=0.1)
    bce = -(math.log(1 - 0.2) + math.log(0.7) + math.log(1 - 0.9)) / 3  # 0.960801
    align = (0.1**2 + 0.2**2 + 0.0**2) / 3  # 0.016667
    l2sp = 1.0**2 + 0.5**2  # unnormalised sum over both tensors: 1.25
    assert float(t.bce) == pytest.approx(bce, rel=1e-6)
    assert float(t.bce) == pytest.approx(0.960801, abs=1e-6)
    assert float(t.align) == pytest.approx(align, rel=1e-6)
    assert float(t.l2sp) == pytest.approx(1.25, rel=1e-7)
    assert float(t.total) == pytest.approx(bce + 0.5 * align + 0.1 * l2sp, rel=1e-6)
    assert float(t.total) == pytest.approx(1.094135, abs=1e-6)


def test_bce_equals_torch_bce():
    ex = _example()
    t = alien_loss(**ex, alpha=0.0, beta=0.0)
    assert float(t.total) == pytest.approx(float(F.binary_cross_entropy(ex["u"], ex["errors"])), rel=1e-6)


def test_gradients_of_each_term():
    ex = _example()
    u = ex["u"].clone().requires_grad_(True)
    w = ex["params"]["w"].clone().requires_grad_(True)
    t = alien_loss(u, ex["u0"], ex["errors"], {"w": w}, {"w": ex["params0"]["w"]}, alpha=0.5, beta=0.1)
    t.total.backward()
    # d/dw of beta * ||w - w0||^2 = 2 beta (w - w0)
    assert torch.allclose(w.grad, torch.tensor([[0.2, 0.0]]))
    e, u0, uu = ex["errors"], ex["u0"], ex["u"]
    expected = ((uu - e) / (uu * (1 - uu)) + 0.5 * 2 * (uu - u0)) / 3
    assert torch.allclose(u.grad, expected, atol=1e-6)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"u0": torch.tensor([0.1, 0.2])}, "share shape"),
        ({"u": torch.tensor([0.0, 0.5, 0.5])}, r"inside \(0, 1\)"),
        ({"errors": torch.tensor([0.0, 0.5, 1.0])}, "0/1"),
        ({"params0": {"w": torch.zeros(1, 2)}}, "different tensors"),
        ({"params0": {"w": torch.zeros(2, 1), "b": torch.zeros(1)}}, "shape"),
        ({"u": torch.tensor([]), "u0": torch.tensor([]), "errors": torch.tensor([])}, "non-empty"),
    ],
)
def test_bad_inputs_raise_naming_the_problem(change, message):
    ex = _example() | change
    with pytest.raises(ValueError, match=message):
        alien_loss(**ex, alpha=0.5, beta=0.1)


def test_negative_weight_rejected():
    with pytest.raises(ValueError, match="alpha must be >= 0"):
        alien_loss(**_example(), alpha=-1.0, beta=0.1)


def test_negative_weight_among_per_config_weights_rejected():
    ex = _example()
    check_loss_inputs(**ex, alpha=torch.tensor([0.0, 1.0]), beta=torch.tensor([0.1, 0.0]))
    with pytest.raises(ValueError, match=r"beta must be >= 0, got 0\.1, -0\.5"):
        check_loss_inputs(**ex, alpha=torch.tensor([0.0, 1.0]), beta=torch.tensor([0.1, -0.5]))


def test_closed_form_l2sp_gradient_equals_autograd_of_the_losss_l2sp_term():
    ex = _example()
    params = {n: p.clone().requires_grad_(True) for n, p in ex["params"].items()}
    t = alien_loss(ex["u"], ex["u0"], ex["errors"], params, ex["params0"], alpha=0.5, beta=0.3)
    auto = torch.autograd.grad(0.3 * t.l2sp, list(params.values()))
    closed = l2sp_grad({n: p.detach() for n, p in params.items()}, ex["params0"], 0.3)
    for (name, g), a in zip(closed.items(), auto, strict=True):
        torch.testing.assert_close(g, a, rtol=0, atol=0, msg=name)
    assert float(closed["w"].abs().sum()) > 0  # w moved from w0, so the check is not 0 == 0


def test_stacked_l2sp_gradient_weights_each_config_by_its_own_beta():
    g = torch.Generator().manual_seed(0)
    p0 = {"w": torch.randn(3, 2, generator=g), "b": torch.randn(2, generator=g)}
    stacked = {n: p.unsqueeze(0) + torch.randn(4, *p.shape, generator=g) for n, p in p0.items()}
    betas = torch.tensor([0.0, 0.01, 0.1, 1.0])
    closed = l2sp_grad(stacked, p0, betas)
    for k in range(4):
        one = {n: p[k].clone().requires_grad_(True) for n, p in stacked.items()}
        l2sp = sum(((p - p0[n]) ** 2).sum() for n, p in one.items())
        auto = torch.autograd.grad(betas[k] * l2sp, list(one.values()))
        for (name, c), a in zip(closed.items(), auto, strict=True):
            torch.testing.assert_close(c[k], a, msg=f"{name}[{k}]")


def test_data_loss_plus_l2sp_is_the_checked_losss_total():
    ex = _example()
    t = alien_loss(**ex, alpha=0.5, beta=0.1)
    assert float(data_loss(ex["u"], ex["u0"], ex["errors"], alpha=0.5)) == pytest.approx(
        float(t.bce + 0.5 * t.align), rel=1e-7
    )


def test_the_grids_per_config_gradient_is_autograd_of_the_checked_loss():
    """Production's gradient (vmapped data loss + closed-form L2-SP) = autograd of alien_loss, per config."""
    core = pooler_core()
    train = synthetic_features(core, shifted(core, scale=0.6), 64, seed=1)
    head = make_head(core)
    spec = GridSearch(learning_rates=(1e-2,), alphas=(0.0, 1.0), betas=(0.01, 2.0), max_epochs=1)
    points = spec.points()
    grid = BatchedGrid(head, train, points, spec)
    rows = torch.arange(len(points))
    g = torch.Generator().manual_seed(3)
    # move every config away from theta0, differently, so the L2-SP gradient is not zero
    params = {n: p + 0.1 * torch.randn(p.shape, generator=g) for n, p in grid.select(rows).items()}
    batch = torch.arange(0, 64, 2)
    production = grid.grads(params, rows, batch)
    u0 = grid.u0_train[batch]
    for k, point in enumerate(points):
        model = make_head(core)
        with torch.no_grad():
            for n, p in model.named_parameters():
                p.copy_(params[n][k])
        u = model(train.features[batch])
        named = dict(model.named_parameters())
        t = alien_loss(u, u0, train.errors[batch], named, grid.params0, alpha=point.alpha, beta=point.beta)
        auto = torch.autograd.grad(t.total, list(named.values()))
        assert set(production) == set(named)
        for name, a in zip(named, auto, strict=True):
            torch.testing.assert_close(production[name][k], a, rtol=1e-5, atol=1e-6, msg=f"{name} {point}")
    assert [p.beta for p in points] == [0.01, 2.0, 0.01, 2.0]
    assert points == grid_points((1e-2,), (0.0, 1.0), (0.01, 2.0))


def test_the_grid_runs_the_losss_checks_on_its_training_set():
    core = pooler_core()
    train = synthetic_features(core, shifted(core, scale=0.6), 64, seed=1)
    spec = GridSearch(learning_rates=(1e-2,), alphas=(0.1,), betas=(0.1,), max_epochs=1)
    head = make_head(core)
    head.eps = 0.0  # an unclamped u can reach 0 or 1 and make the BCE infinite
    with torch.no_grad():
        head.core[-1].weight.mul_(1e4)
    with pytest.raises(ValueError, match=r"u must lie strictly inside \(0, 1\)"):
        BatchedGrid(head, train, spec.points(), spec)
