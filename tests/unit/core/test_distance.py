"""Distance inputs of the head: fitted on the rows given, rebuilt from their description, zero at the start."""

from __future__ import annotations

import pytest
import torch

from alien.core.distance import GAIN, DistanceTemperature

INPUTS = ("mahalanobis", "relative_mahalanobis")


def _blobs(n: int = 200, h: int = 6, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    labels = torch.arange(n) % 2
    centres = torch.tensor([[3.0] + [0.0] * (h - 1), [-3.0] + [0.0] * (h - 1)])
    return centres[labels] + torch.randn(n, h, generator=g), labels


def test_it_starts_at_zero_and_far_rows_score_larger_distances():
    x, y = _blobs()
    module = DistanceTemperature.fit(x, y, x, INPUTS)
    assert torch.equal(module(x), torch.zeros(len(x)))
    far = torch.full((1, x.shape[1]), 30.0)
    phi_far = (module.raw_distances(far) - module.shift) / module.scale
    assert phi_far[0, 0] > 3.0  # many standard deviations beyond the training rows
    phi = (module.raw_distances(x) - module.shift) / module.scale
    torch.testing.assert_close(phi.mean(0), torch.zeros(2), atol=1e-4, rtol=0)


def test_the_log_temperature_is_the_gained_linear_map_of_the_standardised_distances():
    x, y = _blobs()
    module = DistanceTemperature.fit(x, y, x, INPUTS)
    with torch.no_grad():
        module.weight.copy_(torch.tensor([0.01, -0.02]))
        module.bias.fill_(0.005)
    phi = (module.raw_distances(x) - module.shift) / module.scale
    torch.testing.assert_close(module(x), GAIN * (phi @ module.weight + module.bias))


def test_the_standardisation_comes_from_the_head_rows_only():
    x, y = _blobs()
    head_rows = x[:50] * 2.0
    a = DistanceTemperature.fit(x, y, head_rows, INPUTS)
    b = DistanceTemperature.fit(x, y, x, INPUTS)
    assert torch.equal(a.class_means, b.class_means) and torch.equal(a.precision, b.precision)
    assert not torch.allclose(a.shift, b.shift)


def test_a_description_rebuilds_the_shapes_and_the_state_loads_exactly():
    x, y = _blobs()
    module = DistanceTemperature.fit(x, y, x, ("mahalanobis",))
    with torch.no_grad():
        module.weight.fill_(0.03)
    rebuilt = DistanceTemperature.from_description(module.describe())
    rebuilt.load_state_dict(module.state_dict(), strict=True)
    assert torch.equal(rebuilt(x), module(x))


@pytest.mark.parametrize("inputs", [(), ("mahalanobis", "mahalanobis"), ("knn",)])
def test_bad_inputs_are_named(inputs):
    x, y = _blobs()
    with pytest.raises(ValueError, match="distance inputs"):
        DistanceTemperature.fit(x, y, x, inputs)


def test_a_bad_description_is_named():
    with pytest.raises(ValueError, match="inputs, hidden and classes"):
        DistanceTemperature.from_description({"inputs": ["mahalanobis"]})
