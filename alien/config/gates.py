"""The ``gates`` section: the promotion rules (docs/gates.md)."""

from __future__ import annotations

from typing import Annotated

from annotated_types import Ge, Gt, Le, Lt
from pydantic import AllowInfNan, Strict
from pydantic.dataclasses import dataclass

from alien.options.base import NUMBER, OPTIONS, Bool, Int

# NUMBER last (see alien.options.base): the ranges then stay in the JSON schema
Margin = Annotated[float, Strict(), AllowInfNan(False), Ge(0), Le(1), NUMBER]
Confidence = Annotated[float, Strict(), AllowInfNan(False), Ge(0.5), Lt(1), NUMBER]
Ceiling = Annotated[float, Strict(), AllowInfNan(False), Gt(0), Le(1), NUMBER]


@dataclass(frozen=True, config=OPTIONS)
class GatesConfig:
    """Promotion rules; every interval is a paired bootstrap on the test rows.

    Attributes:
        confidence_level: of every interval, in [0.5, 1).
        bootstrap_samples: resamples per interval, >= 100.
        require_backbone_improvement: ALIEN must beat the backbone's own uncertainty
            (ranking or calibration).
        max_ece: ceiling on ALIEN's calibrated ECE, in (0, 1].
        champion_auroc_margin: non-inferiority vs the champion: CI low of ΔROC-AUC > −margin.
        champion_brier_margin: CI high of ΔBrier < +margin.
        champion_accuracy_margin: CI low of Δaccuracy > −margin.
        seed: seeds the bootstrap.
    """

    confidence_level: Confidence = 0.95
    bootstrap_samples: Annotated[Int, Ge(100)] = 1000
    require_backbone_improvement: Bool = True
    max_ece: Ceiling = 0.10
    champion_auroc_margin: Margin = 0.05
    champion_brier_margin: Margin = 0.01
    champion_accuracy_margin: Margin = 0.02
    seed: Int = 42
