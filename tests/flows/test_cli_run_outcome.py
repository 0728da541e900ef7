"""`alien run` ends with one line saying what happened to the registry (issue 17 item 4)."""

from __future__ import annotations

import argparse
import contextlib
from types import SimpleNamespace


def test_alien_run_ends_with_the_registry_outcome(tmp_path, monkeypatch, capsys):
    import alien.pipeline.preflight
    import flows.retrain
    import flows.temp_server
    from flows.cli import cmd_run

    outcome = (
        "not promoted (version 2) because version 2 is not eligible (rolled back) · gate verdict: PASSED"
    )
    calls = []
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(alien.pipeline.preflight, "preflight", lambda params: SimpleNamespace(seconds={}))
    monkeypatch.setattr(flows.temp_server, "temporary_server", lambda root: contextlib.nullcontext())
    monkeypatch.setattr(
        flows.retrain,
        "retrain",
        lambda **kwargs: calls.append(kwargs) or {"summary": "…", "outcome": outcome},
    )
    assert cmd_run(argparse.Namespace(params="params.yaml", no_push=True)) == 0
    assert calls == [{"params_path": "params.yaml", "push_data": False}]
    assert capsys.readouterr().out.splitlines()[-1] == f"registry: {outcome}"
