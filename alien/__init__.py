"""ALIEN (Aligned Entropy) uncertainty heads for fine-tuned transformer classifiers.

Importing ``alien`` is side-effect free, pulls in neither Prefect nor MLflow, and
defers torch until a name that needs it is used (so ``alien.config`` and the
pre-flight checks answer in well under a second).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from alien.core.feature_set import FeatureSet
    from alien.core.head import AlienHead
    from alien.core.uncertainty import normalized_entropy, uncertainty_from_logits

__all__ = ["AlienHead", "FeatureSet", "normalized_entropy", "uncertainty_from_logits"]
__version__ = "0.1.0"

_LAZY = {
    "AlienHead": "alien.core.head",
    "FeatureSet": "alien.core.feature_set",
    "normalized_entropy": "alien.core.uncertainty",
    "uncertainty_from_logits": "alien.core.uncertainty",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'alien' has no attribute {name!r}")
