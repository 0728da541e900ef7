"""ALIEN (Aligned Entropy) uncertainty heads for fine-tuned transformer classifiers.

Importing ``alien`` is side-effect free and pulls in neither Prefect nor MLflow.
"""

from alien.core.feature_set import FeatureSet
from alien.core.head import AlienHead
from alien.core.uncertainty import normalized_entropy, uncertainty_from_logits

__all__ = ["AlienHead", "FeatureSet", "normalized_entropy", "uncertainty_from_logits"]
__version__ = "0.1.0"
