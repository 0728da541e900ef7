"""Two `alien run` processes in one clone: the second is refused at once, the first promotes.

End to end, as a user starts them (two shells, one project): real processes, each with
its own temporary Prefect server, one sqlite registry. Before the run lock existed both
promoted and one report contradicted the registry.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

from tests.integration.servers import server_env
from tests.project import make_tiny_project

ROOT = Path(__file__).resolve().parents[2]
RUN = "import sys; from flows.cli import main; sys.exit(main(['run', '--no-push']))"


def _alien_run(project: Path) -> subprocess.Popen[str]:
    env = server_env(PYTHONPATH=str(ROOT))
    env.pop("PREFECT_API_URL", None)
    env.pop("MLFLOW_TRACKING_URI", None)
    env["PREFECT_HOME"] = str(project / ".prefect")
    return subprocess.Popen(
        [sys.executable, "-c", RUN],
        cwd=project,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _champion(project: Path) -> dict:
    env = server_env(PYTHONPATH=str(ROOT))
    env.pop("MLFLOW_TRACKING_URI", None)
    done = subprocess.run(
        [sys.executable, "-c", "import sys; from flows.cli import main; sys.exit(main(['champion', '--json']))"],
        cwd=project, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout)


def test_a_second_run_in_the_same_clone_is_refused_while_the_first_promotes(tmp_path: Path) -> None:
    project = make_tiny_project(tmp_path / "project")
    first = _alien_run(project)
    owner = project / ".alien-run.owner"
    deadline = time.monotonic() + 300
    while not (owner.is_file() and f"pid {first.pid} " in owner.read_text()):
        assert first.poll() is None, f"first run ended early: {first.communicate()[1][-3000:]}"
        assert time.monotonic() < deadline, "the first run never took the project lock"
        time.sleep(0.2)

    started = time.monotonic()
    second = _alien_run(project)
    _, err = second.communicate(timeout=120)
    assert second.returncode == 2, err[-3000:]
    assert "another run of the project" in err and f"pid {first.pid}" in err
    assert time.monotonic() - started < 60  # refused before any Prefect server or stage starts
    assert first.poll() is None, "the refusal must not disturb the running one"

    _, err = first.communicate(timeout=900)
    assert first.returncode == 0, err[-3000:]
    listing = _champion(project)
    assert len(listing["versions"]) == 1 and listing["orphans"] == [], listing
    assert listing["champion"] == listing["versions"][0]["version"], listing
    report = json.loads((project / "reports" / "registration.json").read_text())
    assert str(report["champion_version"]) == str(listing["champion"]), report
