"""The ``registry`` section: where the model is registered, and whether it may be promoted."""

from __future__ import annotations

from typing import Literal

from pydantic.dataclasses import dataclass

from alien.options.base import OPTIONS, Bool, Str, Text


@dataclass(frozen=True, config=OPTIONS)
class RegistryConfig:
    """The MLflow registry.

    Attributes:
        model_name: the registered model.
        experiment: the MLflow experiment runs are logged to.
        tracking_uri: the MLflow store (``MLFLOW_TRACKING_URI``, when set, wins).
        promote: ``False`` registers a challenger only.
        mode: ``"experiment"`` runs never move production aliases.
    """

    model_name: Text = "alien-classifier"
    experiment: Text = "alien-retrain"
    tracking_uri: Str = "sqlite:///mlflow.db"
    promote: Bool = True
    mode: Literal["production", "experiment"] = "production"
