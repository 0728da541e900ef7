"""The interface every uncertainty baseline implements.

A baseline is fitted on cached feature sets (never on the backbone) and scores
rows with an uncertainty ``u`` ``(N,)`` where higher means "more likely wrong",
so it is evaluated exactly like the ALIEN head.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import ClassVar, Self

import numpy as np
import numpy.typing as npt
import torch

from alien.core.feature_set import FeatureSet

Scores = npt.NDArray[np.float64]


class UncertaintyBaseline(ABC):
    """Fit on feature sets, then score rows with an uncertainty.

    Attributes:
        name: key in :data:`alien.baselines.BASELINES` (and in ``params.yaml``).
        is_probability: whether ``1 - u`` is a confidence in ``[0, 1]``, so that
            ECE and Brier score are meaningful for this baseline.
    """

    name: ClassVar[str]
    is_probability: ClassVar[bool]

    def __init__(self) -> None:
        self._fitted = False

    def fit(self, train: FeatureSet, validation: FeatureSet) -> Self:
        """Fit on the training and/or validation feature set (which one is baseline specific).

        Args:
            train: features of the split the backbone was fine-tuned on.
            validation: held-out features (calibration / probe fitting).

        Returns:
            ``self``, fitted.
        """
        _check_feature_set(train, "train")
        _check_feature_set(validation, "validation")
        self._fit(train, validation)
        self._fitted = True
        return self

    def score(self, fs: FeatureSet) -> Scores:
        """Uncertainty ``(N,)`` float64 of each row of ``fs``, higher = more likely wrong.

        Raises:
            RuntimeError: called before :meth:`fit`.
            ValueError: ``fs`` incompatible with what the baseline was fitted on.
        """
        _check_feature_set(fs, "fs")
        if not self._fitted:
            raise RuntimeError(f"baseline {self.name!r} is not fitted; call fit(train, validation) first")
        return np.asarray(self._score(fs), dtype=np.float64)

    @abstractmethod
    def _fit(self, train: FeatureSet, validation: FeatureSet) -> None:
        """Learn parameters; inputs are validated feature sets."""

    @abstractmethod
    def _score(self, fs: FeatureSet) -> Scores:
        """Score a validated feature set."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}(fitted={self._fitted})"


def _check_feature_set(fs: object, arg: str) -> None:
    if not isinstance(fs, FeatureSet):
        raise TypeError(f"{arg} must be a FeatureSet, got {type(fs).__name__}")
    if len(fs) == 0:
        raise ValueError(f"{arg} has no rows")


def check_feature_dim(fs: FeatureSet, expected: int, baseline: str) -> None:
    """Raise when ``fs`` features have another width than the ones the baseline was fitted on."""
    if fs.features.shape[1] != expected:
        raise ValueError(
            f"{baseline}: features have {fs.features.shape[1]} dimensions, "
            f"but the baseline was fitted on {expected}"
        )


def features_numpy(fs: FeatureSet) -> npt.NDArray[np.float64]:
    """``(N, H)`` float64 copy of the features."""
    return fs.features.detach().to(torch.float64).cpu().numpy()
