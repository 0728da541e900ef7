"""Pre-flight refuses bad input in seconds, before a Prefect server starts, naming the problem."""

from __future__ import annotations

import re
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest
import yaml

from alien.config import ConfigError, load_params
from alien.pipeline.preflight import PreflightError, check_data, check_registry, preflight
from tests.integration.servers import free_port
from tests.tiny import save_tiny_backbone

ROOT = Path(__file__).resolve().parents[3]
SHIPPED = load_params(ROOT / "params.yaml")


def _params(tmp_path: Path, **sections) -> Path:
    raw = yaml.safe_load((ROOT / "params.yaml").read_text())
    for name, values in sections.items():
        raw[name].update(values)
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


def test_cli_refuses_a_bad_param_in_one_line_without_starting_prefect(tmp_path):
    path = _params(tmp_path, finetune={"epochs": -1})
    probe = (
        "import sys; from flows.cli import main; rc = main(['--params', sys.argv[1], 'run']); "
        "print('prefect-imported', 'prefect' in sys.modules); sys.exit(rc)"
    )
    done = subprocess.run([sys.executable, "-c", probe, str(path)], capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 2
    # one line naming the key and the value (the wording is alien.config's)
    assert re.fullmatch(r"error: finetune\.epochs\b.*\b0\b.*-1(\.0)?", done.stderr.strip())
    assert "prefect-imported False" in done.stdout


def test_a_deleted_section_is_refused(tmp_path):
    raw = yaml.safe_load((ROOT / "params.yaml").read_text())
    del raw["finetune"]
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(raw))
    with pytest.raises(ConfigError, match="finetune"):
        preflight(tmp_path / "params.yaml", registry=False)


def test_data_with_missing_columns_is_named(tmp_path):
    csv = tmp_path / "d.csv"
    csv.write_text("sentence,label\nhello,1\n")
    with pytest.raises(PreflightError, match=r"no column\(s\) \['text'\]; it has \['sentence', 'label'\]"):
        check_data(replace(SHIPPED.data, source=str(csv)))
    with pytest.raises(PreflightError, match="not an existing file"):
        check_data(replace(SHIPPED.data, source=str(tmp_path / "nope.csv")))
    with pytest.raises(PreflightError, match="token-classification dataset"):
        check_data(replace(SHIPPED.data, source="package:wnut16"))
    check_data(replace(SHIPPED.data, source="package:trec"))


def test_a_backbone_without_tokenizer_files_is_refused(tmp_path):
    folder = save_tiny_backbone(tmp_path / "bb")
    for f in folder.iterdir():
        if "tokenizer" in f.name or f.name in ("vocab.txt", "special_tokens_map.json"):
            f.unlink()
    path = _params(tmp_path, backbone={"name": str(folder)}, data={"source": "package:rotten_tomatoes"})
    with pytest.raises(PreflightError, match=r"backbone\.name"):
        preflight(path, registry=False)


def test_a_registry_that_is_down_is_found_in_seconds():
    down = replace(SHIPPED.registry, tracking_uri=f"http://127.0.0.1:{free_port()}")
    with pytest.raises(PreflightError, match="cannot be reached"):
        check_registry(down)


def test_sqlite_registry_first_run_and_bad_folder(tmp_path, monkeypatch):
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    assert check_registry(replace(SHIPPED.registry, tracking_uri=f"sqlite:///{tmp_path / 'new.db'}"))
    assert not (tmp_path / "new.db").exists()  # the probe created nothing
    with pytest.raises(PreflightError, match="not a writable folder"):
        check_registry(
            replace(SHIPPED.registry, tracking_uri=f"sqlite:///{tmp_path / 'no' / 'such' / 'x.db'}")
        )


# --- issue 17 item 3: data that prepare would refuse is refused by pre-flight, in seconds ----------

GOOD_ROWS = [(f"review number {i}", "pos" if i % 2 else "neg") for i in range(40)]
BAD_CSVS = {
    # name: (rows, what the one-line message names)
    "empty_label": (
        [*GOOD_ROWS[:3], ("a review without a label", ""), *GOOD_ROWS[3:]],
        r"null label \(rows \[3\]\)",
    ),
    "single_class": ([(t, "pos") for t, _ in GOOD_ROWS], r"1 class\(es\) \['pos'\]"),
    "five_rows": (GOOD_ROWS[:5], r"5 rows after .* too few rows"),
    "small_class": (
        [*GOOD_ROWS, *((f"a so-so review {i}", "meh") for i in range(3))],
        r"class\(es\) \{'meh': 3\} .* fewer than 10 rows",
    ),
}


def _write_csv(path: Path, rows: list[tuple[str, str]]) -> Path:
    path.write_text("text,label\n" + "".join(f"{t},{lab}\n" for t, lab in rows))
    return path


@pytest.mark.parametrize("name", sorted(BAD_CSVS))
def test_data_prepare_would_refuse_is_refused_naming_rows_or_classes(tmp_path, name):
    from tests.project import shrunk_params

    rows, named = BAD_CSVS[name]
    data = replace(load_params(ROOT / "params.yaml").data, **shrunk_params(tmp_path)["data"])
    data = replace(data, source=str(_write_csv(tmp_path / f"{name}.csv", rows)))
    with pytest.raises(PreflightError, match=rf"^data\.source: (?=.*{name}\.csv)(?=.*{named})") as caught:
        check_data(data, trainable=True)
    assert "\n" not in str(caught.value)
    check_data(replace(data, source=str(_write_csv(tmp_path / "good.csv", GOOD_ROWS))), trainable=True)


def _project_copy(root: Path, rows: list[tuple[str, str]]) -> dict[str, bytes]:
    """A project folder holding a versioned raw file, a dvc.lock and a registry; returns their bytes."""
    import sqlite3

    from tests.project import write_params

    write_params(root)
    _write_csv(root / "tiny.csv", rows)
    (root / "data" / "raw").mkdir(parents=True)
    (root / "data" / "raw" / "dataset.jsonl").write_text('{"text": "kept", "label": "pos"}\n')
    (root / "dvc.lock").write_text(
        "schema: '2.0'\nstages:\n  fetch:\n    cmd: python -m alien.stages.fetch\n"
    )
    with sqlite3.connect(root / "mlflow.db") as db:
        db.execute("create table kept (x int)")
    return _snapshot(root)


def _snapshot(root: Path) -> dict[str, bytes]:
    files = [root / "mlflow.db", root / "dvc.lock", *sorted((root / "data").rglob("*"))]
    return {str(f.relative_to(root)): f.read_bytes() for f in files if f.is_file()}


@pytest.mark.parametrize("name", sorted(BAD_CSVS))
def test_alien_run_refuses_bad_data_in_seconds_touching_nothing(tmp_path, name):
    import os
    import shutil
    import time

    rows, named = BAD_CSVS[name]
    before = _project_copy(tmp_path, rows)
    alien = shutil.which("alien", path=str(Path(sys.executable).parent)) or "alien"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    start = time.perf_counter()
    done = subprocess.run([alien, "run"], capture_output=True, text=True, cwd=tmp_path, env=env, timeout=60)
    seconds = time.perf_counter() - start
    assert done.returncode == 2, done.stderr
    assert re.fullmatch(rf"error: data\.source: (?=.*tiny\.csv)(?=.*{named}).*", done.stderr.strip()), (
        done.stderr
    )
    assert seconds < 5, f"{seconds:.1f} s"
    assert _snapshot(tmp_path) == before  # registry, data/raw and dvc.lock byte-identical
    assert not (tmp_path / "data" / "prepared").exists()
