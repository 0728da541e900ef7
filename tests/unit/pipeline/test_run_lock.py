"""Two runs of one project never overlap: the second is refused at once, naming the first."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest

from alien.pipeline.run_lock import ProjectBusyError, project_run_lock

HOLD = """
import sys, time
from alien.pipeline.run_lock import project_run_lock
with project_run_lock(sys.argv[1]):
    print("held", flush=True)
    time.sleep(60)
"""


def test_a_second_run_is_refused_while_the_first_holds_the_project(tmp_path):
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(tmp_path)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        start = time.perf_counter()
        with (
            pytest.raises(ProjectBusyError, match=rf"in progress \(pid {holder.pid} on "),
            project_run_lock(tmp_path),
        ):
            pass
        assert time.perf_counter() - start < 5  # refused, not queued
    finally:
        holder.kill()
        holder.wait()
    with project_run_lock(tmp_path):  # free again once the holder is gone (even killed)
        pass
