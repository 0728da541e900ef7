import dataclasses

import pytest
from pydantic import ValidationError

from alien.options.align import SELECTIONS, GridPoint, GridSearch, grid_points


def test_grid_points_are_frozen_values_in_lr_alpha_beta_order():
    points = grid_points([1e-3, 1e-4], (0.0, 1.0), [0.5])
    assert points == [
        GridPoint(1e-3, 0.0, 0.5),
        GridPoint(1e-3, 1.0, 0.5),
        GridPoint(1e-4, 0.0, 0.5),
        GridPoint(1e-4, 1.0, 0.5),
    ]
    with pytest.raises(dataclasses.FrozenInstanceError):
        points[0].lr = 0.1  # type: ignore[misc]
    assert len({*points, GridPoint(1e-3, 0.0, 0.5)}) == 4  # hashable, equal by value


def test_defaults_are_the_papers_recipe():
    spec = GridSearch()
    assert spec.points() == grid_points((4e-4, 1e-4, 1e-5), (0.01, 0.1, 1.0), (0.01, 0.1, 1.0))
    assert len(spec.points()) == 27
    assert (spec.max_epochs, spec.patience, spec.batch_size, spec.warmup_fraction) == (50, 5, 128, 0.1)
    assert (spec.oversample_errors, spec.seed, spec.selection, spec.top_k) == (False, 42, "roc_auc", 1)
    assert SELECTIONS == ("roc_auc", "bce")


def test_axes_given_as_lists_become_tuples():
    spec = GridSearch(learning_rates=[1e-3], alphas=[0.5], betas=[0.0])  # type: ignore[arg-type]
    assert spec.learning_rates == (1e-3,) and spec.points() == [GridPoint(1e-3, 0.5, 0.0)]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"lr": 1.5, "alpha": 0.1, "beta": 0.1}, r"lr\n.*less than 1.*input_value=1.5"),
        ({"lr": 0.1, "alpha": -1.0, "beta": 0.1}, r"alpha\n.*greater than or equal to 0.*input_value=-1.0"),
        ({"lr": 0.1, "alpha": 0.1, "beta": float("nan")}, r"beta\n.*finite number"),
        ({"lr": "fast", "alpha": 0.1, "beta": 0.1}, r"lr\n.*valid number.*input_value='fast'"),
        ({"lr": True, "alpha": 0.1, "beta": 0.1}, r"lr\n.*valid number.*input_value=True"),
    ],
)
def test_bad_grid_point_raises_naming_the_value(kwargs, message):
    with pytest.raises(ValidationError, match=message):
        GridPoint(**kwargs)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"learning_rates": ()}, r"learning_rates\n.*at least 1 item"),
        ({"alphas": 0.1}, r"alphas\n.*valid tuple"),
        ({"betas": "0.1"}, r"betas\n.*valid tuple"),
        ({"learning_rates": (0.0,)}, r"learning_rates\.0\n.*greater than 0"),
        ({"max_epochs": 0}, r"max_epochs\n.*greater than or equal to 1"),
        ({"patience": 2.5}, r"patience\n.*valid integer"),
        ({"batch_size": True}, r"batch_size\n.*valid integer"),
        ({"seed": -1}, r"seed\n.*greater than or equal to 0"),
        ({"warmup_fraction": 1.0}, r"warmup_fraction\n.*less than 1"),
        ({"oversample_errors": 1}, r"oversample_errors\n.*valid boolean"),
        ({"selection": "brier"}, r"selection\n.*'roc_auc' or 'bce'.*input_value='brier'"),
        ({"top_k": 0}, r"top_k\n.*greater than or equal to 1"),
        ({"top_k": 28}, "top_k must be at most the grid's 27 configs, got 28"),
        ({"lr": 0.1}, r"lr\n.*Unexpected keyword argument"),
    ],
)
def test_bad_settings_raise_naming_the_value_and_the_allowed_ones(kwargs, message):
    with pytest.raises(ValidationError, match=message):
        GridSearch(**kwargs)
