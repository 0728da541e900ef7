"""The flow runs the rows of the stage table in order, versions the data right after ``prepare``,
and hands ``register`` the flow's context as an argument (no environment variables)."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from prefect import task

from alien.pipeline.table import ORDER
from alien.tracking.run_context import FlowContext

ROOT = Path(__file__).resolve().parents[2]


def test_the_flow_iterates_the_table_and_passes_register_its_context(prefect_harness, tmp_path, monkeypatch):
    import flows.retrain as module
    from tasks.stages import STAGE_TASKS

    calls: list[tuple[str, Any]] = []

    def fake(name: str) -> Any:
        def run_stage(
            p: Any, params_path: str, root: str, extra: Any = None, up_to_date: bool = False
        ) -> dict[str, Any]:
            calls.append((name, extra))
            assert not up_to_date  # not a DVC project: the run's plan knows nothing
            result = {"version": "3"} if name == "register" else {}
            if name == "register":  # the headline is read from the file register writes
                (Path(root) / "reports").mkdir(exist_ok=True)
                (Path(root) / "reports/registration.json").write_text('{"version": "3"}')
            seconds = float(ORDER.index(name) + 1)
            return {
                "stage": name,
                "skipped": False,
                "seconds": seconds,
                "result": result,
                "outputs_changed": True,
            }

        return task(name=name)(run_stage)

    @task(name="version-data")
    def version_data(paths: Any, root: str, stages: Any, *, push_to_remote: bool = True) -> dict[str, Any]:
        calls.append(("version-data", tuple(stages)))
        return {"md5": "x", "source": "dvc.lock"}

    @task(name="registry-state")
    def registry_state(registry: Any, version: str | None) -> dict[str, Any]:
        calls.append(("registry-state", version))
        return {"champion": version, "version": version, "aliases": [], "tracking_uri": "sqlite:///x"}

    for name in ORDER:
        monkeypatch.setitem(STAGE_TASKS, name, fake(name))
    monkeypatch.setattr(module, "version_data_task", version_data)
    monkeypatch.setattr(module, "registry_state_task", registry_state)
    monkeypatch.setattr(module, "render_run_summary", lambda *args, **kwargs: "summary")
    monkeypatch.setattr(module, "outcome_headline", lambda registration: f"v{registration['version']}")
    # no artifact in the session's Prefect database (the lifecycle test counts them)
    monkeypatch.setattr(
        module, "create_markdown_artifact", lambda **kwargs: calls.append(("artifact", kwargs))
    )
    shutil.copy(ROOT / "params.yaml", tmp_path / "params.yaml")
    monkeypatch.chdir(tmp_path)

    state = module.retrain(params_path="params.yaml", push_data=False, return_state=True)
    assert state.is_completed()
    prepare = ORDER.index("prepare") + 1
    assert [c[0] for c in calls] == [
        *ORDER[:prepare],
        "version-data",
        *ORDER[prepare:],
        "registry-state",
        "artifact",
    ]
    assert calls[prepare] == ("version-data", ORDER[:prepare])
    assert calls[-2] == ("registry-state", "3")
    assert (
        calls[-1][1]["markdown"] == "summary\n\nWhy it ran: started by hand (no monitor trigger, no schedule)"
    )
    extras = {name: extra for name, extra in calls if name in ORDER}
    assert all(extras[name] is None for name in ORDER if name != "register")
    assert set(extras["register"]) == {"context"}
    context = extras["register"]["context"]
    assert isinstance(context, FlowContext)
    # every stage before register, with the seconds its outcome reported
    assert dict(context.stage_seconds) == {name: float(ORDER.index(name) + 1) for name in ORDER[:-1]}
    assert context.flow_run_id == str(state.state_details.flow_run_id)
