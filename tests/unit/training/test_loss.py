import math

import pytest
import torch
import torch.nn.functional as F

from alien.training import alien_loss


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
