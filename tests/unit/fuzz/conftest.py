"""Hypothesis profiles for the fuzz tests.

``ci`` (the default) is derandomised, so every run of the default suite draws
the same examples, and small enough to keep the fuzz tests under ~30 s.
``HYPOTHESIS_PROFILE=deep`` draws many more examples (still derandomised)
for a longer search, e.g. ``HYPOTHESIS_PROFILE=deep pytest tests/unit/fuzz``.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

settings.register_profile(
    "ci",
    max_examples=60,
    deadline=None,
    derandomize=True,
    database=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile(
    "deep",
    parent=settings.get_profile("ci"),
    max_examples=2000,
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
