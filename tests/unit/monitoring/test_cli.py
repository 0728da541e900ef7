"""The log wired in: ``alien predict`` and the served pyfunc append to it, ``alien feedback``
attaches labels (all or none), ``alien monitor`` prints the windows; on a real sqlite registry."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from alien.config import RegistryConfig
from alien.monitoring import read_log
from flows.cli import main as cli
from tests.unit.tracking.fixtures import (  # noqa: F401  (pytest fixtures)
    EXPERIMENT,
    MODEL_NAME,
    TEXTS,
    deployable,
    empty_store,
    run_register,
    store,
    write_workspace,
)

CFG = RegistryConfig(model_name=MODEL_NAME, experiment=EXPERIMENT)


def _set_monitor(root: Path, **values: object) -> None:
    path = root / "params.yaml"
    params = yaml.safe_load(path.read_text())
    params["monitor"].update(values)
    path.write_text(yaml.safe_dump(params))


@pytest.fixture
def project(tmp_path: Path, deployable: Path, store: str, monkeypatch) -> Path:  # noqa: F811
    monkeypatch.chdir(tmp_path)
    paths = write_workspace(tmp_path, deployable, passed=True)
    assert run_register(CFG, paths).promoted
    (tmp_path / "texts.txt").write_text("\n".join(TEXTS) + "\n")
    return tmp_path


def _predict(capsys) -> list[dict]:
    assert cli(["predict", "texts.txt"]) == 0
    return [json.loads(line) for line in capsys.readouterr().out.splitlines()]


def test_predict_logs_only_when_the_log_is_on_and_rows_equal_what_it_printed(project, capsys) -> None:
    assert all("request_id" not in r for r in _predict(capsys))  # monitor.log: null
    assert not (project / "log").exists()
    _set_monitor(project, log="log")
    rows = _predict(capsys)
    logged = read_log(project / "log").set_index("request_id")
    assert len(logged) == len(rows) == len(TEXTS)
    for row in rows:
        got = logged.loc[row["request_id"]]
        assert (got["label"], got["abstain"], got["model_version"]) == (row["label"], row["abstain"], "1")
        assert got["u"] == pytest.approx(row["uncertainty"]) and got["text"] is None


def test_feedback_refuses_unknown_ids_and_labels_writing_nothing_then_attaches(project, capsys) -> None:
    _set_monitor(project, log="log", log_text=True)
    rows = _predict(capsys)
    labels = project / "labels.csv"
    labels.write_text(f"id,label\n{rows[0]['request_id']},positive\nnope,positive\n")
    assert cli(["feedback", "labels.csv"]) == 2
    assert "unknown request id(s): ['nope']" in capsys.readouterr().err
    labels.write_text(f"id,label\n{rows[0]['request_id']},sideways\n")
    assert cli(["feedback", "labels.csv"]) == 2
    assert "sideways" in capsys.readouterr().err
    assert not (project / "log" / "labels").exists()

    labels.write_text(f"id,label\n{rows[0]['request_id']},negative\n")
    assert cli(["feedback", "labels.csv", "--append-to-source"]) == 2  # data.source is package:trec
    assert "local .csv or .jsonl" in capsys.readouterr().err
    assert not (project / "log" / "labels").exists()

    source = project / "data.csv"
    source.write_text("text,label\nold row,positive\n")
    params = yaml.safe_load((project / "params.yaml").read_text())
    params["data"]["source"] = str(source)
    (project / "params.yaml").write_text(yaml.safe_dump(params))
    assert cli(["feedback", "labels.csv", "--append-to-source"]) == 0
    assert read_log(project / "log")["true_label"].tolist()[0] == "negative"
    assert source.read_text().splitlines() == ["text,label", "old row,positive", f"{TEXTS[0]},negative"]


def test_append_to_source_needs_the_texts(project, capsys) -> None:
    _set_monitor(project, log="log")  # log_text: false
    rows = _predict(capsys)
    source = project / "data.jsonl"
    source.write_text('{"text": "old", "label": "positive"}\n')
    params = yaml.safe_load((project / "params.yaml").read_text())
    params["data"]["source"] = str(source)
    (project / "params.yaml").write_text(yaml.safe_dump(params))
    (project / "labels.csv").write_text(f"id,label\n{rows[0]['request_id']},negative\n")
    assert cli(["feedback", "labels.csv", "--append-to-source"]) == 2
    assert "log_text" in capsys.readouterr().err
    assert not (project / "log" / "labels").exists() and len(source.read_text().splitlines()) == 1


def test_monitor_says_when_there_is_nothing_and_shows_a_partial_window(project, capsys) -> None:
    assert cli(["monitor"]) == 2
    assert "monitor.log is null" in capsys.readouterr().err
    _set_monitor(project, log="log")
    assert cli(["monitor"]) == 0
    assert "holds no rows" in capsys.readouterr().out
    _predict(capsys)
    assert cli(["monitor"]) == 0
    out = capsys.readouterr().out
    assert "no windows" in out
    assert "note: feature drift not tested: the log keeps no text; set monitor.log_text: true" in out
    assert cli(["monitor", "--partial"]) == 0
    out = capsys.readouterr().out
    assert "rows 0-199" in out and f"  {len(TEXTS)}  " in out


def test_monitor_tests_feature_drift_of_logged_texts_against_the_test_split_features(
    project,
    deployable,  # noqa: F811
    capsys,
) -> None:
    from alien.core.capture import extract_features
    from alien.core.model import AlienClassifier
    from tests.tiny import tiny_texts_and_labels

    _set_monitor(project, log="log", log_text=True)
    _predict(capsys)
    assert cli(["monitor", "--partial"]) == 0
    test = project / "artifacts" / "features" / "test.safetensors"
    assert f"note: feature drift not tested: no test-split features at {test.relative_to(project)}" in (
        capsys.readouterr().out
    )
    clf = AlienClassifier.load(deployable)
    texts, labels = tiny_texts_and_labels(60)
    cached = extract_features(
        clf.model, clf.tokenizer, texts, labels, max_length=clf.max_length, progress=False
    )
    cached.save(test)  # what the features stage writes for the champion's test split
    assert cli(["monitor", "--partial"]) == 0
    out = capsys.readouterr().out
    assert "note: feature drift: two-sample KS on the top 8 principal components" in out
    assert f"against the window's rows encoded by {deployable}" in out and "(features)" in out


def test_the_served_model_logs_when_its_server_asks_and_returns_the_request_id(
    project, monkeypatch, capsys
) -> None:
    import mlflow
    import pandas as pd

    monkeypatch.setenv("ALIEN_MONITOR_LOG", str(project / "served"))
    served = mlflow.pyfunc.load_model(f"models:/{MODEL_NAME}@champion").predict(pd.DataFrame({"text": TEXTS}))
    logged = read_log(project / "served").set_index("request_id").loc[served["request_id"]]
    assert logged["label"].tolist() == served["label"].tolist()
    assert logged["u"].tolist() == pytest.approx(served["uncertainty"].tolist())
    assert set(logged["model_version"]) == {"1"} and set(logged["model_name"]) == {MODEL_NAME}
