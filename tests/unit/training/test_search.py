import dataclasses
import subprocess
import sys

import pytest

from alien.training import SELECTIONS, GridPoint, GridSearch, grid_points


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
    ("kwargs", "error", "message"),
    [
        ({"lr": 1.5, "alpha": 0.1, "beta": 0.1}, ValueError, r"GridPoint.lr must lie in \(0, 1\), got 1.5"),
        ({"lr": 0.1, "alpha": -1.0, "beta": 0.1}, ValueError, "alpha and beta must be >= 0, got -1.0"),
        ({"lr": 0.1, "alpha": 0.1, "beta": float("nan")}, ValueError, "GridPoint.beta must be finite"),
        ({"lr": "0.1", "alpha": 0.1, "beta": 0.1}, TypeError, "GridPoint.lr must be a number, got str"),
    ],
)
def test_bad_grid_point_raises_naming_the_value(kwargs, error, message):
    with pytest.raises(error, match=message):
        GridPoint(**kwargs)


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"learning_rates": ()}, ValueError, "learning_rates must list at least one value"),
        ({"alphas": 0.1}, TypeError, "alphas must be a sequence of numbers, got float"),
        ({"betas": "0.1"}, TypeError, "betas must be a sequence of numbers, got str"),
        ({"learning_rates": (0.0,)}, ValueError, r"lr must lie in \(0, 1\), got 0.0"),
        ({"max_epochs": 0}, ValueError, "max_epochs must be >= 1, got 0"),
        ({"patience": 2.5}, TypeError, "patience must be an int, got float"),
        ({"batch_size": True}, TypeError, "batch_size must be an int, got bool"),
        ({"seed": -1}, ValueError, "seed must be >= 0, got -1"),
        ({"warmup_fraction": 1.0}, ValueError, r"warmup_fraction must lie in \(0, 1\), got 1.0"),
        ({"oversample_errors": 1}, TypeError, "oversample_errors must be a bool, got int"),
        (
            {"selection": "brier"},
            ValueError,
            r"unknown selection 'brier'; choose one of \['roc_auc', 'bce'\]",
        ),
        ({"top_k": 0}, ValueError, "top_k must be >= 1, got 0"),
        ({"top_k": 28}, ValueError, "top_k must be at most the grid's 27 configs, got 28"),
    ],
)
def test_bad_settings_raise_naming_the_value_and_the_allowed_ones(kwargs, error, message):
    with pytest.raises(error, match=message):
        GridSearch(**kwargs)


def test_training_does_not_import_the_pipeline_config():
    probe = (
        "import sys, alien.training; print(sorted(m for m in sys.modules if m.startswith('alien.config')))"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
