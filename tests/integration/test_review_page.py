"""The page a reviewer approves from, in a real browser.

What runs: the tiny project's stages in process register v1 into a sqlite store, then a
second head (another seed) is gated against champion v1 and registered as v2, with the
stage timings and a Prefect flow-run link handed over the way ``flows/retrain.py`` does;
``mlflow server`` (conftest) serves that store on 127.0.0.1; headless Chromium renders
v2's model-version page (``#/models/<name>/versions/2``). The rendered DOM must hold the
card (gate table, the champion row, provenance) and every plot link of the card must
answer HTTP 200 with an image. A screenshot is saved next to the test's files.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from html import unescape
from pathlib import Path

import pytest
import yaml

from alien.config import load_params
from alien.pipeline.table import run_stages
from alien.tracking.run_context import FlowContext
from tests.integration.conftest import StartMlflow
from tests.project import make_tiny_project

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
MODEL = "alien-classifier"
FLOW_RUN_ID = "0b6c2c64-7d1e-4d6e-9a51-3f2f7d0c1a11"
FLOW_RUN_URL = f"http://127.0.0.1:4200/runs/flow-run/{FLOW_RUN_ID}"
pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="needs Debian's chromium")


@dataclass
class Review:
    root: Path
    server_url: str
    run_id: str
    dom: str
    screenshot: Path


def _chromium(url: str, *, out: list[str]) -> subprocess.CompletedProcess[str]:
    profile = tempfile.mkdtemp(prefix="chromium-")
    argv = [
        CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        f"--user-data-dir={profile}", "--virtual-time-budget=15000", *out, url,
    ]  # fmt: skip
    try:
        return subprocess.run(argv, capture_output=True, text=True, timeout=240, check=True)
    finally:
        shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture(scope="module")
def review(tmp_path_factory: pytest.TempPathFactory, start_mlflow_server: StartMlflow) -> Iterator[Review]:
    """Two registered versions in a sqlite store, served by ``mlflow server``, v2's page rendered."""
    root = tmp_path_factory.mktemp("review") / "project"
    make_tiny_project(root)
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(root)
        mp.delenv("MLFLOW_TRACKING_URI", raising=False)
        first = run_stages(load_params("params.yaml"), root=root)
        assert first["register"]["result"]["version"] == "1"
        raw = yaml.safe_load(Path("params.yaml").read_text())
        raw["align"]["seed"] += 1  # another head on the same features: a new version, gated against v1
        Path("params.yaml").write_text(yaml.safe_dump(raw, sort_keys=False))
        params = load_params("params.yaml")
        stages = run_stages(params, ("align", "evaluate", "gate"), root=root)
        seconds = {name: s["seconds"] for name, s in stages.items()}
        context = FlowContext(stage_seconds=seconds, flow_run_id=FLOW_RUN_ID, flow_run_url=FLOW_RUN_URL)
        extra = {"register": {"context": context}}
        second = run_stages(params, ("register",), root=root, extra=extra)["register"]["result"]
    assert second["version"] == "2" and second["champion_at_gate"] == "1"
    server = start_mlflow_server(f"sqlite:///{root / 'mlflow.db'}")
    page = f"{server.url}/#/models/{MODEL}/versions/2"
    dom = _chromium(page, out=["--dump-dom"]).stdout
    shot = root.parent / "version-2.png"
    _chromium(page, out=[f"--screenshot={shot}", "--window-size=1400,2600", "--hide-scrollbars"])
    yield Review(root, server.url, second["run_id"], dom, shot)


def _text(dom: str) -> str:
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", " ", dom)))


def test_version_page_shows_the_card_with_gates_champion_and_provenance(review: Review) -> None:
    text = _text(review.dom)
    assert "Gate verdict:" in text and "PASSED all gates" in text
    for gate in ("vs_backbone", "calibration", "champion"):
        assert re.search(rf"{gate} ✅ pass", text), gate
    assert "champion v1 (ALIEN, same test split)" in text
    assert "(this version)" in text and "softmax_response" in text
    assert FLOW_RUN_URL in unescape(review.dom)  # the Prefect link survived the UI's sanitizer
    assert "uncommitted changes: true" in text  # the tiny project's tree is never committed
    assert review.screenshot.stat().st_size > 20_000


def test_every_plot_link_of_the_card_answers_with_an_image(review: Review) -> None:
    links = {unescape(u) for u in re.findall(r'(?:src|href)="([^"]*get-artifact\?[^"]*)"', review.dom)}
    names = {re.search(r"path=plots(?:/|%2F)([\w.]+)", u).group(1) for u in links}  # type: ignore[union-attr]
    assert names == {"reliability.png", "risk_coverage.png"}
    assert any(review.run_id in u for u in links)
    for link in links:
        url = link if link.startswith("http") else f"{review.server_url}/{link.lstrip('/')}"
        with urllib.request.urlopen(url, timeout=30) as response:
            assert response.status == 200
            assert response.headers["Content-Type"].startswith("image/png")
            assert response.read(8) == b"\x89PNG\r\n\x1a\n"


def test_run_is_named_and_holds_timings_datasets_and_lineage(review: Review) -> None:
    from mlflow import MlflowClient

    client = MlflowClient(tracking_uri=f"sqlite:///{review.root / 'mlflow.db'}")
    run = client.get_run(review.run_id)
    assert run.info.run_name == "tiny · tiny_backbone · v2"
    assert {"stage_seconds.align", "stage_seconds.evaluate", "stage_seconds.gate"} <= set(run.data.metrics)
    assert run.data.metrics["finetune.train_loss"] > 0
    curve = client.get_metric_history(review.run_id, "finetune.loss")  # the fine-tuning curve, by step
    assert len(curve) >= 2 and len({m.step for m in curve}) == len(curve)
    assert run.data.tags["prefect.flow_run_url"] == FLOW_RUN_URL
    assert run.data.tags["git_dirty"] == "true" and run.data.tags["git_commit"] == "unknown"
    inputs = {
        {t.key: t.value for t in i.tags}.get("mlflow.data.context"): i.dataset
        for i in run.inputs.dataset_inputs
    }
    assert set(inputs) == {"train", "validation", "test"}
    assert inputs["test"].name == "tiny-test" and len(inputs["test"].digest) == 32
