"""Stage tasks retry transient failures (registry, network) but not bad input."""

from __future__ import annotations

import pytest
from prefect import flow, task

from tasks.stages import RETRY


@pytest.mark.parametrize(("error", "attempts"), [(RuntimeError, 3), (ConnectionError, 3), (ValueError, 1)])
def test_only_transient_errors_are_retried(prefect_harness, error, attempts):
    calls = []

    @task(**{**RETRY, "retry_delay_seconds": 0})
    def flaky():
        calls.append(1)
        raise error("boom")

    @flow
    def run():
        flaky()

    with pytest.raises(error):
        run()
    assert len(calls) == attempts
