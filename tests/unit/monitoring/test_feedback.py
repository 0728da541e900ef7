"""Late labels: attached by request id, all or none, and joined on read."""

from __future__ import annotations

from pathlib import Path

import pytest

from alien.monitoring.feedback import attach_labels, read_labels
from alien.monitoring.log import PredictionLog, read_log

NAMES = ("neg", "pos")


def _logged(directory: Path, n: int = 3) -> list[str]:
    rows = [
        {
            "model_name": "m",
            "model_version": "1",
            "label": "pos",
            "u": 0.2,
            "raw_uncertainty": 0.3,
            "abstain": False,
            "text": f"t{i}",
        }
        for i in range(n)
    ]
    return PredictionLog(directory).append(rows)


def _files(directory: Path) -> dict[str, bytes]:
    return {p.relative_to(directory).as_posix(): p.read_bytes() for p in directory.rglob("*") if p.is_file()}


def test_labels_are_joined_to_their_rows(tmp_path: Path) -> None:
    ids = _logged(tmp_path)
    assert attach_labels(tmp_path, {ids[0]: "neg", ids[2]: "pos"}, label_names=NAMES) == 2
    frame = read_log(tmp_path).set_index("request_id")
    assert frame.loc[ids[0], "true_label"] == "neg"
    assert frame.loc[ids[1], "true_label"] is None
    assert frame.loc[ids[2], "true_label"] == "pos"


def test_prediction_files_are_never_rewritten(tmp_path: Path) -> None:
    ids = _logged(tmp_path)
    before = {k: v for k, v in _files(tmp_path).items() if k.startswith("date=")}
    attach_labels(tmp_path, {ids[0]: "neg"}, label_names=NAMES)
    after = _files(tmp_path)
    assert {k: v for k, v in after.items() if k.startswith("date=")} == before
    assert [k for k in after if k.startswith("labels/")] == ["labels/feedback.jsonl"]


def test_a_later_label_wins(tmp_path: Path) -> None:
    ids = _logged(tmp_path)
    attach_labels(tmp_path, {ids[0]: "neg"}, label_names=NAMES)
    attach_labels(tmp_path, {ids[0]: "pos"}, label_names=NAMES, writer="second")
    assert read_labels(tmp_path) == {ids[0]: "pos"}


def test_unknown_ids_are_refused_by_name_and_nothing_is_written(tmp_path: Path) -> None:
    ids = _logged(tmp_path)
    before = _files(tmp_path)
    with pytest.raises(ValueError, match=r"1 unknown request id\(s\): \['nope'\]"):
        attach_labels(tmp_path, {ids[0]: "neg", "nope": "pos"}, label_names=NAMES)
    assert _files(tmp_path) == before


def test_labels_outside_the_set_are_refused_by_name_and_nothing_is_written(tmp_path: Path) -> None:
    ids = _logged(tmp_path)
    attach_labels(tmp_path, {ids[1]: "pos"}, label_names=NAMES)
    before = _files(tmp_path)
    with pytest.raises(ValueError, match=r"outside \['neg', 'pos'\]: \{'" + ids[0] + "': 'maybe'\\}") as err:
        attach_labels(tmp_path, {ids[0]: "maybe", ids[2]: "neg", "ghost": "neg"}, label_names=NAMES)
    assert "['ghost']" in str(err.value)  # both problems in one message
    assert _files(tmp_path) == before
    assert read_labels(tmp_path) == {ids[1]: "pos"}


def test_integer_labels_match_their_names_and_bools_are_refused(tmp_path: Path) -> None:
    ids = _logged(tmp_path)
    assert attach_labels(tmp_path, {ids[0]: 1}, label_names=["0", "1"]) == 1
    assert read_labels(tmp_path) == {ids[0]: "1"}
    with pytest.raises(TypeError, match="must be a string"):
        attach_labels(tmp_path, {ids[1]: True}, label_names=["0", "1"])


def test_nothing_to_attach_writes_nothing(tmp_path: Path) -> None:
    _logged(tmp_path)
    assert attach_labels(tmp_path, {}, label_names=NAMES) == 0
    assert not (tmp_path / "labels").exists()


def test_the_log_object_attaches_through_the_same_checks(tmp_path: Path) -> None:
    log = PredictionLog(tmp_path, writer="srv")
    [rid] = log.append(
        [
            {
                "model_name": "m",
                "model_version": "1",
                "label": "pos",
                "u": 0.2,
                "raw_uncertainty": 0.3,
                "abstain": False,
                "text": "t",
            }
        ]
    )
    with pytest.raises(ValueError, match="unknown request id"):
        log.attach_labels({"x" * 32: "pos"}, label_names=NAMES)
    assert log.attach_labels({rid: "neg"}, label_names=NAMES) == 1
    assert (tmp_path / "labels" / "srv.jsonl").is_file()
    assert log.read()["true_label"].tolist() == ["neg"]
