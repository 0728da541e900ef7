"""Prediction input: ``read_texts`` refuses blank, null and non-string cells, naming the rows.

``alien predict`` reads its input before it opens the registry or loads a model,
so a bad cell is a one-line error, not a traceback after the model loaded.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import yaml

from alien.data.sources import read_texts
from flows.cli import main
from tests.project import ROOT


def test_a_csv_is_read_as_text_exactly(tmp_path: Path) -> None:
    path = tmp_path / "in.csv"
    path.write_text('text,id\n007,1\nNA,2\nnull,3\n"a, quoted ""line""",4\n', encoding="utf-8")
    assert read_texts(path) == ["007", "NA", "null", 'a, quoted "line"']


@pytest.mark.parametrize("cell", ['""', "   ", "\t"])
def test_a_blank_csv_cell_is_refused_naming_its_row(tmp_path: Path, cell: str) -> None:
    path = tmp_path / "in.csv"
    path.write_text(f"text,id\ngood,1\n{cell},2\nbad,3\n", encoding="utf-8")
    with pytest.raises(
        ValueError, match=r"1 row\(s\) of .*in\.csv have a blank or null 'text' cell \(rows \[1\]"
    ):
        read_texts(path)


def test_an_empty_csv_cell_between_commas_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "in.csv"
    path.write_text("id,text,extra\n1,good,x\n2,,y\n3,,z\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"2 row\(s\) .* \(rows \[1, 2\]"):
        read_texts(path)


def test_an_empty_line_inside_a_csv_is_a_blank_row_but_trailing_ones_are_not(tmp_path: Path) -> None:
    path = tmp_path / "in.csv"
    path.write_text("text\ngood\n\nbad\n\n\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"1 row\(s\) .* \(rows \[1\]"):
        read_texts(path)
    path.write_text("text\ngood\nbad\n\n\n", encoding="utf-8")
    assert read_texts(path) == ["good", "bad"]
    path.write_text("text\n", encoding="utf-8")
    assert read_texts(path) == []


def test_a_jsonl_null_is_refused_and_a_number_is_not_text(tmp_path: Path) -> None:
    path = tmp_path / "in.jsonl"
    path.write_text('{"text": "good"}\n{"text": null}\n', encoding="utf-8")
    with pytest.raises(ValueError, match=r"blank or null 'text' cell \(rows \[1\]"):
        read_texts(path)
    path.write_text('{"text": "good"}\n{"text": "bad"}\n{"text": 5}\n', encoding="utf-8")
    with pytest.raises(ValueError, match=r"non-string 'text' cell \(rows \[2\]"):
        read_texts(path)


def test_a_parquet_null_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "in.parquet"
    pd.DataFrame({"text": ["good", None, "bad"]}, dtype="string").to_parquet(path)
    with pytest.raises(ValueError, match=r"rows \[1\]"):
        read_texts(path)
    pd.DataFrame({"text": ["good", "bad"]}).to_parquet(path)
    assert read_texts(path) == ["good", "bad"]


def test_a_plain_text_file_skips_blank_lines(tmp_path: Path) -> None:
    path = tmp_path / "in.txt"
    path.write_text("first\n\n   \nsecond\n", encoding="utf-8")
    assert read_texts(path) == ["first", "second"]


def test_alien_predict_refuses_a_blank_cell_before_opening_the_registry(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    raw = yaml.safe_load((ROOT / "params.yaml").read_text())
    store = tmp_path / "missing" / "mlflow.db"
    raw["registry"]["tracking_uri"] = f"sqlite:///{store}"
    params = tmp_path / "params.yaml"
    params.write_text(yaml.safe_dump(raw))
    good, blank = tmp_path / "good.csv", tmp_path / "blank.csv"
    good.write_text("text\nfine\n", encoding="utf-8")
    blank.write_text('text\nfine\n""\n', encoding="utf-8")

    assert main(["--params", str(params), "predict", str(good)]) == 2
    reached_registry = capsys.readouterr().err
    assert "blank" not in reached_registry and str(store) in reached_registry  # a valid file goes on

    assert main(["--params", str(params), "predict", str(blank)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: 1 row(s) of ") and "blank or null 'text' cell (rows [1]" in err
    assert len(err.splitlines()) == 1 and "Traceback" not in err
    assert not store.exists()
