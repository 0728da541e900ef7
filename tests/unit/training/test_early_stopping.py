import math

import pytest

from alien.training.early_stopping import EarlyStopping


def _auc(k: int = 3, patience: int = 2) -> EarlyStopping:
    return EarlyStopping(
        k, patience=patience, initial={"auc": 0.5, "bce": 0.7}, metric="auc", higher_is_better=True
    )


def test_strict_improvements_keep_the_epoch_and_ties_count_as_bad():
    es = _auc()
    assert es.update(1, {"auc": [0.6, 0.5, 0.4], "bce": [0.6, 0.7, 0.8]}) == [
        0
    ]  # a tie with epoch 0 is no gain
    assert es.kept[0] == {"auc": 0.6, "bce": 0.6} and es.kept[1] == {"auc": 0.5, "bce": 0.7}
    assert es.update(2, {"auc": [0.6, 0.55, 0.3], "bce": [0.5, 0.6, 0.9]}) == [1]
    assert es.active == [0, 1]  # config 2 had two bad epochs: patience 2 spent
    assert es.best_epoch == [1, 2, 0]
    assert es.epochs_run == [2, 2, 2]
    assert es.history == [[0.6, 0.6], [0.5, 0.55], [0.4, 0.3]]
    # only the active configs are scored from now on, in `active` order
    assert es.update(3, {"auc": [0.59, 0.7], "bce": [0.5, 0.5]}) == [1]
    assert es.active == [1] and es.epochs_run == [3, 3, 2]
    assert es.ranking() == [1, 0, 2] and es.best() == 0.7


def test_lower_is_better_for_a_loss_metric_and_nan_never_improves():
    es = EarlyStopping(2, patience=1, initial={"bce": 0.7}, metric="bce", higher_is_better=False)
    assert es.update(1, {"bce": [0.6, math.nan]}) == [0]
    assert es.active == [0]
    assert es.kept[1]["bce"] == 0.7 and math.isnan(es.history[1][0])
    assert es.ranking() == [0, 1]


def test_ranking_breaks_ties_by_grid_order_and_puts_nan_last():
    es = EarlyStopping(3, patience=1, initial={"auc": math.nan}, metric="auc", higher_is_better=True)
    es.kept[1]["auc"] = es.kept[2]["auc"] = 0.8
    assert es.ranking() == [1, 2, 0]


def test_bad_arguments_raise():
    with pytest.raises(ValueError, match="k and patience must be >= 1, got 0 and 1"):
        EarlyStopping(0, patience=1, initial={"auc": 0.5}, metric="auc", higher_is_better=True)
    with pytest.raises(ValueError, match=r"metric 'bce' is not among the initial values \['auc'\]"):
        EarlyStopping(1, patience=1, initial={"auc": 0.5}, metric="bce", higher_is_better=False)
