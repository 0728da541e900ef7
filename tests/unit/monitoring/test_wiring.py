"""The pieces the commands and the flow stand on: label files, the source append, fired windows,
one monitor run over a log, and the served model's log switch."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from alien.monitoring import PredictionLog, RetrainPolicy
from alien.monitoring.labels_file import append_to_source, check_file_source, read_label_file
from alien.monitoring.session import Reference, read_fired, record_fired, run_monitor
from alien.tracking.prediction_log import REQUEST_ID_COLUMN, log_from_env, log_response


def _log(folder: Path, u: np.ndarray) -> list[str]:
    rows = [
        {
            "model_name": "m",
            "model_version": "2",
            "label": "a",
            "u": float(x),
            "raw_uncertainty": float(x),
            "abstain": bool(x > 0.5),
            "text": f"t{i}",
        }
        for i, x in enumerate(u)
    ]
    with PredictionLog(folder) as log:
        return log.append(rows)


def test_a_label_file_is_checked_whole(tmp_path: Path) -> None:
    path = tmp_path / "labels.csv"
    path.write_text("id,label\nabc,pos\n")
    assert read_label_file(path) == {"abc": "pos"}
    cases = (
        ("id\nabc\n", "missing column"),
        ("id,label\nabc,\n", "line(s) [2]"),
        ("id,label\nabc,pos\nabc,neg\n", "given twice: ['abc']"),
    )
    for text, needle in cases:
        path.write_text(text)
        with pytest.raises(ValueError, match=re.escape(needle)):
            read_label_file(path)


def test_only_a_local_csv_or_jsonl_source_with_its_columns_takes_rows(tmp_path: Path) -> None:
    for source in ("package:trec", str(tmp_path / "nope.csv"), "user/dataset"):
        with pytest.raises(ValueError, match=r"local \.csv or \.jsonl"):
            check_file_source(source, columns=("text", "label"))
    csv = tmp_path / "d.csv"
    csv.write_text("label,text,extra\nneg,old,1")  # no final newline
    with pytest.raises(ValueError, match="lacks"):
        check_file_source(str(csv), columns=("sentence", "label"))
    source = check_file_source(str(csv), columns=("text", "label"))
    assert append_to_source(source, [("new, one", "pos")], text_column="text", label_column="label") == 1
    frame = pd.read_csv(csv)
    assert frame["text"].tolist() == ["old", "new, one"] and frame["label"].tolist() == ["neg", "pos"]


def test_empty_log_and_one_row_window_say_so(tmp_path: Path) -> None:
    policy = RetrainPolicy()
    out = run_monitor(tmp_path / "log", target_risk=0.1, policy=policy, reference=Reference())
    assert out.version is None and out.reports == [] and "no windows" in out.table
    _log(tmp_path / "log", np.array([0.2]))
    out = run_monitor(tmp_path / "log", target_risk=0.1, policy=policy, reference=Reference(), partial=True)
    assert [r.status for r in out.reports] == ["one_row"] and out.triggers == []
    assert "no champion test error" in " ".join(out.notes)


def test_fired_windows_are_remembered(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    _log(tmp_path, rng.beta(4.0, 2.0, size=200))
    reference = Reference.from_test_scores(rng.beta(1.0, 8.0, size=500), np.zeros(500), source="test")
    first = run_monitor(tmp_path, target_risk=0.1, policy=RetrainPolicy(), reference=reference)
    assert {t.name for t in first.triggers} == {"error_above_champion", "drift_u"}
    record_fired(tmp_path, first.triggers)
    assert read_fired(tmp_path) == {"2/rows 0-199"}
    assert run_monitor(tmp_path, target_risk=0.1, policy=RetrainPolicy(), reference=reference).triggers == []


def test_the_served_log_is_switched_by_the_serving_process(tmp_path: Path) -> None:
    assert log_from_env({}) is None and log_from_env({"ALIEN_MONITOR_LOG": " "}) is None
    with pytest.raises(ValueError, match="ALIEN_MONITOR_LOG_TEXT"):
        log_from_env({"ALIEN_MONITOR_LOG": str(tmp_path), "ALIEN_MONITOR_LOG_TEXT": "maybe"})
    log = log_from_env({"ALIEN_MONITOR_LOG": str(tmp_path), "ALIEN_MONITOR_LOG_TEXT": "true"})
    assert log is not None and log.log_text
    frame = pd.DataFrame({"label": ["a"], "uncertainty": [0.3], "raw_uncertainty": [0.4], "abstain": [False]})
    served = frame.copy()
    out = log_response(log, ["hi"], served, model_name=None, model_version="5")
    assert out is served, "the request's own frame gains the column in place (no copy per request)"
    assert out[REQUEST_ID_COLUMN].tolist() == log.read()["request_id"].tolist()
    bad = frame.assign(uncertainty=[1.5])  # the append fails: answered as is, without request_id
    assert REQUEST_ID_COLUMN not in log_response(log, ["hi"], bad, model_name="m", model_version="5")
