"""What a micro-batcher reports: why it refused a request (a ``RuntimeError``: a server condition,
not bad input), and its counts."""

from __future__ import annotations

from dataclasses import dataclass


class QueueFullError(RuntimeError):
    """The batcher already holds ``max_queue`` waiting requests; retry later (an HTTP 503)."""


class BatcherClosedError(RuntimeError):
    """The batcher was closed before the request was served."""


@dataclass(frozen=True)
class BatcherStats:
    """Counts since the batcher started.

    Attributes:
        calls: calls of ``predict_batch``, the per-request retries included.
        items: items passed to those calls.
        requests: requests (or chunks of one) passed to those calls; ``requests / calls``
            is how many requests a forward pass served on average.
        failed_batches: combined calls that raised and were retried request by request.
    """

    calls: int = 0
    items: int = 0
    requests: int = 0
    failed_batches: int = 0
