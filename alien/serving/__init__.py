"""Micro-batched serving: concurrent requests share forward passes of the deployable model.

:class:`MicroBatcher` is the generic, thread-safe batcher; :class:`BatchedPredictor`
puts an :class:`~alien.core.model.AlienClassifier` behind it; :class:`BatchingOptions`
holds the batch size, the wait and the queue bound. :mod:`alien.serving.features` recomputes
the features the head reads for served texts, for the monitor's feature drift.

May import: ``alien.core`` and ``alien.task``; never tracking, stages or any runner.
"""

from alien.serving.batcher import MicroBatcher
from alien.serving.options import BatchingOptions
from alien.serving.predictor import BatchedPredictor
from alien.serving.reports import BatcherClosedError, BatcherStats, QueueFullError

__all__ = [
    "BatchedPredictor",
    "BatcherClosedError",
    "BatcherStats",
    "BatchingOptions",
    "MicroBatcher",
    "QueueFullError",
]
