"""The library stays a library: no orchestration stack on import."""

from __future__ import annotations

import subprocess
import sys

_PROBE = """
import importlib, pkgutil, sys
import alien
print("after-import-alien", "prefect" in sys.modules, "mlflow" in sys.modules)
skip = ("alien.tracking.pyfunc_entry", "alien.evaluate_modules")
for info in pkgutil.walk_packages(alien.__path__, "alien."):
    if not info.name.startswith(skip):
        importlib.import_module(info.name)
print("after-import-all", "prefect" in sys.modules)
"""


def test_import_alien_pulls_in_neither_prefect_nor_mlflow_and_no_module_imports_prefect():
    done = subprocess.run([sys.executable, "-c", _PROBE], capture_output=True, text=True, check=True)
    lines = dict(line.split(" ", 1) for line in done.stdout.strip().splitlines())
    assert lines["after-import-alien"] == "False False"
    assert lines["after-import-all"] == "False"
