import copy

import pytest
import torch
from torch import nn

from alien.core.head import AlienHead
from alien.training import AlienHeadEnsemble


def _heads(n: int = 3) -> list[AlienHead]:
    torch.manual_seed(0)
    return [AlienHead(nn.Linear(8, 3), num_labels=3, family="bert").eval() for _ in range(n)]


def test_ensemble_averages_u_and_has_the_head_interface():
    heads = _heads()
    ens = AlienHeadEnsemble(heads).eval()
    z = torch.randn(5, 8)
    with torch.no_grad():
        us = torch.stack([h(z) for h in heads])
        torch.testing.assert_close(ens(z), us.mean(0))
        torch.testing.assert_close(ens.logits(z), torch.stack([h.logits(z) for h in heads]).mean(0))
        assert not torch.allclose(us[0], us[1])  # the members differ, so the mean is not a copy of one
    assert ens(z).shape == (5,)
    assert bool(((ens(z) >= ens.eps) & (ens(z) <= 1 - ens.eps)).all())
    assert (ens.num_labels, ens.kind, ens.family, ens.eps) == (3, "entropy", "bert", heads[0].eps)
    assert ens.num_parameters() == 3 * heads[0].num_parameters() == 3 * (8 * 3 + 3)
    assert len(ens) == 3


def test_state_dict_round_trip_and_device_moves_keep_the_members_in_sync():
    ens = AlienHeadEnsemble(_heads())
    other = AlienHeadEnsemble(_heads())
    with torch.no_grad():
        for p in other.parameters():
            p.add_(1.0)
    other.load_state_dict(ens.state_dict(), strict=True)
    z = torch.randn(4, 8)
    with torch.no_grad():
        torch.testing.assert_close(other(z), ens(z))
        clone = copy.deepcopy(ens).double()
        torch.testing.assert_close(clone(z.double()).float(), ens(z))
    assert sorted(ens.state_dict())[:2] == ["members.0.core.bias", "members.0.core.weight"]


def test_bad_members_raise():
    with pytest.raises(ValueError, match="at least one member"):
        AlienHeadEnsemble([])
    with pytest.raises(TypeError, match="must be AlienHead, got Linear"):
        AlienHeadEnsemble([nn.Linear(8, 3)])  # type: ignore[list-item]
    smooth = AlienHead(nn.Linear(8, 3), num_labels=3, kind="smoothmax", family="bert")
    with pytest.raises(ValueError, match=r"disagree on kind: \['entropy', 'smoothmax'\]"):
        AlienHeadEnsemble([*_heads(1), smooth])
