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
