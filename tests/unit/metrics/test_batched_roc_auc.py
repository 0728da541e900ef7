import math

import pytest
import torch
from sklearn.metrics import roc_auc_score

from alien.metrics.error_detection import batched_roc_auc as batched_auroc


def test_equals_sklearn_with_ties():
    g = torch.Generator().manual_seed(0)
    labels = (torch.rand(300, generator=g) < 0.3).long()
    scores = torch.stack(
        [
            torch.rand(300, generator=g),
            torch.round(torch.rand(300, generator=g) * 5) / 5,  # heavy ties
            labels.float() * 0.3 + torch.round(torch.rand(300, generator=g) * 3),  # informative + ties
            -labels.float(),  # perfectly wrong
        ]
    )
    got = batched_auroc(scores, labels)
    for k in range(scores.shape[0]):
        assert float(got[k]) == pytest.approx(roc_auc_score(labels.numpy(), scores[k].numpy()), abs=1e-12)
    assert float(got[3]) == 0.0


def test_hand_example_and_constant_scores():
    labels = torch.tensor([0, 0, 1, 1])
    # pairs (pos, neg): 0.4>0.1, 0.4=0.4 (half), 0.8>0.1, 0.8>0.4 -> 3.5 / 4
    got = batched_auroc(torch.tensor([[0.1, 0.4, 0.4, 0.8], [0.5, 0.5, 0.5, 0.5]]), labels)
    assert got.tolist() == [0.875, 0.5]


def test_non_finite_row_is_nan_and_others_unaffected():
    labels = torch.tensor([0, 1, 0, 1])
    got = batched_auroc(torch.tensor([[0.1, float("nan"), 0.2, 0.3], [0.1, 0.9, 0.2, 0.3]]), labels)
    assert math.isnan(float(got[0]))
    assert float(got[1]) == 1.0
