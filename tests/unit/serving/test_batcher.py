"""MicroBatcher: shared calls, per-request results, chunking, error isolation, bounds, shutdown.

Batches are made deterministic by holding the worker inside a first call while the
requests under test queue up; the assertions then read which items each call got.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor

import pytest

from alien.serving.batcher import BatcherClosedError, MicroBatcher, QueueFullError

BAD = -1


class Doubler:
    """A ``predict_batch`` that doubles ints, logs its calls, fails on ``BAD`` and can hold its first call."""

    def __init__(self, *, hold_first: bool = False) -> None:
        self.calls: list[list[int]] = []
        self.release = threading.Event()
        if not hold_first:
            self.release.set()

    def __call__(self, items: list[int]) -> list[int]:
        self.calls.append(list(items))
        if len(self.calls) == 1:
            assert self.release.wait(10), "the test never released the first call"
        if BAD in items:
            raise ValueError(f"bad item in {items}")
        return [2 * x for x in items]


def _wait_until(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.001)


def _queue_behind_held_call(
    batcher: MicroBatcher[int, int], fn: Doubler, pool: ThreadPoolExecutor, requests: list[list[int]]
) -> tuple[Future[list[int]], list[Future[list[int]]]]:
    """Hold the worker in a first call on ``[0]``, then queue ``requests`` one by one, in order."""
    warm = pool.submit(batcher.submit, [0])
    _wait_until(lambda: len(fn.calls) == 1)
    futures = []
    for i, request in enumerate(requests):
        futures.append(pool.submit(batcher.submit, request))
        _wait_until(lambda i=i: batcher.queued == i + 1)
    return warm, futures


def test_queued_requests_share_one_call_and_each_gets_its_own_results():
    fn = Doubler(hold_first=True)
    requests = [[1], [2, 3], [4, 5, 6], [7, 8, 9, 10]]
    with MicroBatcher(fn, max_batch=32) as batcher, ThreadPoolExecutor(8) as pool:
        warm, futures = _queue_behind_held_call(batcher, fn, pool, requests)
        fn.release.set()
        assert warm.result(10) == [0]
        assert [f.result(10) for f in futures] == [[2 * x for x in r] for r in requests]
        stats = batcher.stats()
    assert fn.calls == [[0], [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]]
    assert (stats.calls, stats.items, stats.requests, stats.failed_batches) == (2, 11, 5, 0)


def test_batches_hold_at_most_max_batch_and_only_a_request_larger_than_that_is_chunked():
    fn = Doubler(hold_first=True)
    requests = [[1, 2, 3], list(range(10, 20)), [7]]
    with MicroBatcher(fn, max_batch=4) as batcher, ThreadPoolExecutor(8) as pool:
        _, futures = _queue_behind_held_call(batcher, fn, pool, requests)
        fn.release.set()
        assert [f.result(10) for f in futures] == [[2 * x for x in r] for r in requests]
    served = fn.calls[1:]
    assert all(len(call) <= 4 for call in served)
    assert [x for call in served for x in call] == [x for r in requests for x in r]
    # [10..19] does not fit beside [1, 2, 3]: it starts a batch of its own, and its tail takes [7] along
    assert served == [[1, 2, 3], [10, 11, 12, 13], [14, 15, 16, 17], [18, 19, 7]]


def test_a_request_larger_than_max_batch_alone_is_served_in_chunks():
    fn = Doubler()
    with MicroBatcher(fn, max_batch=32) as batcher:
        assert batcher.submit(list(range(70))) == [2 * x for x in range(70)]
    assert [len(call) for call in fn.calls] == [32, 32, 6]


def test_a_bad_request_fails_alone_and_its_batchmates_succeed():
    fn = Doubler(hold_first=True)
    with MicroBatcher(fn) as batcher, ThreadPoolExecutor(8) as pool:
        _, (good, bad, other) = _queue_behind_held_call(batcher, fn, pool, [[1, 2], [3, BAD], [4]])
        fn.release.set()
        assert good.result(10) == [2, 4]
        assert other.result(10) == [8]
        with pytest.raises(ValueError, match=r"bad item in \[3, -1\]$"):
            bad.result(10)  # the exception of its own retry, not of the combined call
        assert batcher.stats().failed_batches == 1
    assert fn.calls == [[0], [1, 2, 3, BAD, 4], [1, 2], [3, BAD], [4]]


def test_a_failing_chunk_fails_its_request_and_its_remaining_chunks_are_skipped():
    fn = Doubler(hold_first=True)
    with MicroBatcher(fn, max_batch=2) as batcher, ThreadPoolExecutor(8) as pool:
        _, (large, small) = _queue_behind_held_call(batcher, fn, pool, [[1, 2, BAD, 4, 5, 6], [7]])
        fn.release.set()
        with pytest.raises(ValueError, match="bad item"):
            large.result(10)
        assert small.result(10) == [14]
        assert batcher.queued == 0
    assert fn.calls == [[0], [1, 2], [BAD, 4], [7]]


def test_a_wrong_number_of_results_fails_the_request():
    with MicroBatcher(lambda items: items[:-1]) as batcher:
        with pytest.raises(RuntimeError, match="returned 1 results for 2 items"):
            batcher.submit([1, 2])
        assert batcher.submit([]) == []


def test_a_full_queue_raises_at_once_instead_of_blocking():
    fn = Doubler(hold_first=True)
    with MicroBatcher(fn, max_queue=2) as batcher, ThreadPoolExecutor(8) as pool:
        _, futures = _queue_behind_held_call(batcher, fn, pool, [[1], [2]])
        with pytest.raises(QueueFullError, match=r"2 requests already waiting \(max_queue=2\)"):
            batcher.submit([3])
        fn.release.set()
        assert [f.result(10) for f in futures] == [[2], [4]]
        assert batcher.submit([3]) == [6]  # room again


def test_close_fails_waiting_requests_finishes_the_one_in_flight_and_refuses_new_ones():
    fn = Doubler(hold_first=True)
    with ThreadPoolExecutor(8) as pool:
        batcher = MicroBatcher(fn)
        warm, futures = _queue_behind_held_call(batcher, fn, pool, [[1], [2]])
        batcher.close(timeout=0)
        for future in futures:
            with pytest.raises(BatcherClosedError, match="closed before this request was served"):
                future.result(10)
        with pytest.raises(BatcherClosedError, match="is closed"):
            batcher.submit([3])
        fn.release.set()
        assert warm.result(10) == [0]
        batcher.close()
    assert batcher.closed and not batcher._worker.is_alive() and batcher._worker.daemon
    assert fn.calls == [[0]]


def test_the_context_manager_closes():
    with MicroBatcher(Doubler()) as batcher:
        assert batcher.submit([1]) == [2]
    assert batcher.closed
    with pytest.raises(BatcherClosedError):
        batcher.submit([1])


def test_options_and_the_function_are_checked():
    with pytest.raises(ValueError, match="max_batch must be >= 1, got 0"):
        MicroBatcher(Doubler(), max_batch=0)
    with pytest.raises(ValueError, match="max_wait_ms must lie in"):
        MicroBatcher(Doubler(), max_wait_ms=-1)
    with pytest.raises(TypeError, match="predict_batch must be callable, got int"):
        MicroBatcher(3)


def test_submit_from_inside_predict_batch_fails_instead_of_deadlocking():
    batcher: MicroBatcher[int, int] = MicroBatcher(lambda items: batcher.submit(items))
    with batcher, pytest.raises(RuntimeError, match="would deadlock"):
        batcher.submit([1])


def test_a_lone_sequential_client_pays_no_wait():
    """Idle fast path: with a 1 s wait, five sequential requests still take a call each at once."""
    fn = Doubler()
    with MicroBatcher(fn, max_wait_ms=1000) as batcher:
        start = time.monotonic()
        results = [batcher.submit([i, i + 1]) for i in range(5)]
        elapsed = time.monotonic() - start
    assert results == [[2 * i, 2 * i + 2] for i in range(5)]
    assert fn.calls == [[i, i + 1] for i in range(5)]
    assert elapsed < 2.5, f"{elapsed:.2f} s: the batcher waited for company (5 x 1 s)"


def test_after_concurrency_the_worker_lingers_and_sends_once_max_batch_is_pending():
    fn = Doubler(hold_first=True)
    with MicroBatcher(fn, max_batch=2, max_wait_ms=1000) as batcher, ThreadPoolExecutor(8) as pool:
        _, futures = _queue_behind_held_call(batcher, fn, pool, [[1], [2]])
        fn.release.set()
        assert [f.result(10) for f in futures] == [[2], [4]]  # one call served two requests
        start = time.monotonic()
        first = pool.submit(batcher.submit, [5])
        time.sleep(0.1)  # well inside the 1 s window
        second = pool.submit(batcher.submit, [6])
        assert (first.result(10), second.result(10)) == ([10], [12])
        elapsed = time.monotonic() - start
    assert fn.calls[-1] == [5, 6], "the worker did not wait for the second request"
    assert elapsed < 0.9, "the batch was not sent as soon as max_batch items were pending"


def test_a_lingering_worker_sends_a_lone_request_when_the_wait_ends_then_returns_to_the_fast_path():
    fn = Doubler(hold_first=True)
    with MicroBatcher(fn, max_wait_ms=300) as batcher, ThreadPoolExecutor(8) as pool:
        _, futures = _queue_behind_held_call(batcher, fn, pool, [[1], [2]])
        fn.release.set()
        assert [f.result(10) for f in futures] == [[2], [4]]  # concurrency seen: the worker lingers
        start = time.monotonic()
        assert batcher.submit([5]) == [10]
        lingered = time.monotonic() - start
        start = time.monotonic()
        assert batcher.submit([6]) == [12]
        fast = time.monotonic() - start
    assert fn.calls[-2:] == [[5], [6]]
    assert 0.29 <= lingered < 2.0, f"waited {lingered:.3f} s for company, max_wait is 0.3 s"
    assert fast < 0.25, f"{fast:.3f} s: after a single-request batch a lone request must not wait"
