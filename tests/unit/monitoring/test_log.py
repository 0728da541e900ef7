"""The local prediction log: round trip, partitions, concurrency, and crashes mid-append."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pandas as pd
import pytest

from alien.monitoring.log import PredictionLog, read_log, rows_from_frame
from alien.monitoring.schema import LOG_COLUMNS, LogStore, text_sha256


def _row(i: int, **extra: object) -> dict[str, object]:
    return {
        "model_name": "clf",
        "model_version": "7",
        "label": "pos" if i % 2 else "neg",
        "u": (i % 100) / 100,
        "raw_uncertainty": ((i * 7) % 100) / 100,
        "abstain": i % 3 == 0,
        "text": f"text number {i}",
        **extra,
    }


def test_rows_read_back_equal_what_was_appended(tmp_path: Path) -> None:
    log = PredictionLog(tmp_path)
    rows = [_row(i) for i in range(5)]
    ids = log.append(rows)
    frame = read_log(tmp_path)
    assert list(frame.columns) == [*LOG_COLUMNS, "true_label"]
    assert frame["request_id"].tolist() == ids
    assert len(set(ids)) == 5 and all(len(i) == 32 and int(i, 16) >= 0 for i in ids)
    for key in ("model_name", "model_version", "label", "u", "raw_uncertainty", "abstain"):
        assert frame[key].tolist() == [r[key] for r in rows], key
    assert frame["text_sha256"].tolist() == [text_sha256(str(r["text"])) for r in rows]
    assert frame["text"].isna().all() and frame["true_label"].isna().all()
    assert str(frame["time"].dt.tz) == "UTC"
    assert frame.attrs["skipped_lines"] == 0


def test_text_is_kept_only_when_asked(tmp_path: Path) -> None:
    PredictionLog(tmp_path, log_text=True).append([_row(1)])
    assert read_log(tmp_path)["text"].tolist() == ["text number 1"]


def test_rows_go_to_the_folder_of_their_utc_day_and_filters_apply(tmp_path: Path) -> None:
    log = PredictionLog(tmp_path, writer="w1")
    log.append([_row(1, time="2024-05-01T23:59:00+00:00"), _row(2, time="2024-05-02T00:30:00+02:00")])
    log.append([_row(3, time="2024-05-02T10:00:00+00:00", model_version="8")])
    assert sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*.jsonl")) == [
        "date=2024-05-01/w1.jsonl",  # 00:30+02:00 is 22:30 UTC the day before
        "date=2024-05-02/w1.jsonl",
    ]
    assert len(read_log(tmp_path)) == 3
    assert read_log(tmp_path, model_version="8")["model_version"].tolist() == ["8"]
    since = read_log(tmp_path, since="2024-05-02T00:00:00+00:00")
    assert since["label"].tolist() == ["pos"] and len(since) == 1
    until = read_log(tmp_path, until="2024-05-01T23:59:00+00:00")
    assert until["time"].dt.hour.tolist() == [22]


def test_a_bad_row_writes_nothing(tmp_path: Path) -> None:
    log = PredictionLog(tmp_path)
    with pytest.raises(ValueError, match="u must be a number"):
        log.append([_row(1), _row(2, u=2.0)])
    assert read_log(tmp_path).empty


def test_a_missing_folder_reads_as_an_empty_log(tmp_path: Path) -> None:
    frame = read_log(tmp_path / "nothing")
    assert frame.empty and list(frame.columns) == [*LOG_COLUMNS, "true_label"]


def test_sixteen_threads_lose_nothing(tmp_path: Path) -> None:
    log = PredictionLog(tmp_path)
    per_thread, returned = 150, []
    barrier = threading.Barrier(16)

    def client(k: int) -> None:
        barrier.wait()
        for i in range(per_thread):
            returned.extend(log.append([_row(k * per_thread + i)]))

    threads = [threading.Thread(target=client, args=(k,)) for k in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    frame = read_log(tmp_path)
    assert len(frame) == 16 * per_thread and frame["request_id"].is_unique
    assert set(frame["request_id"]) == set(returned)
    assert sorted(frame["u"].round(2)) == sorted(_row(i)["u"] for i in range(16 * per_thread))
    assert frame.attrs["skipped_lines"] == 0


_WRITER = """
import sys
from alien.monitoring.log import PredictionLog
log = PredictionLog(sys.argv[1], log_text=True, writer=sys.argv[2])
rows = [{{"model_name": "m", "model_version": "1", "label": "a", "u": 0.5, "raw_uncertainty": 0.5,
          "abstain": False, "text": str(i) * {text_len}}} for i in range({batch})]
print("ready", flush=True)
for _ in range({loops}):
    log.append(rows)
"""


def _writer(directory: Path, writer: str, *, text_len: int, batch: int, loops: int) -> subprocess.Popen[str]:
    code = textwrap.dedent(_WRITER.format(text_len=text_len, batch=batch, loops=loops))
    return subprocess.Popen(
        [sys.executable, "-c", code, str(directory), writer], stdout=subprocess.PIPE, text=True
    )


def test_processes_sharing_one_file_lose_nothing(tmp_path: Path) -> None:
    procs = [_writer(tmp_path, "shared", text_len=50, batch=20, loops=50) for _ in range(2)]
    for p in procs:
        assert p.wait(timeout=120) == 0
    frame = read_log(tmp_path)
    assert len(frame) == 2 * 20 * 50 and frame["request_id"].is_unique
    assert frame.attrs["skipped_lines"] == 0
    assert len(list(tmp_path.rglob("*.jsonl"))) == 1


def _size(directory: Path) -> int:
    return sum(p.stat().st_size for p in directory.rglob("*.jsonl"))


def test_sigkill_during_appends_leaves_a_readable_log(tmp_path: Path) -> None:
    """Three writers on one file, each SIGKILLed mid-stream; each restart ends a torn line first.

    Batches of ~2.5 MB, and a kill as soon as the file has grown, make a kill inside a write() likely;
    the torn-line path itself is pinned down deterministically by the next test.
    """
    for _ in range(3):
        proc = _writer(tmp_path, "victim", text_len=5_000, batch=200, loops=10_000)
        assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
        target, deadline = _size(tmp_path) + 3_000_000, time.monotonic() + 60
        while _size(tmp_path) < target:
            assert time.monotonic() < deadline, "the writer wrote nothing"
            time.sleep(0.005)
        os.kill(proc.pid, signal.SIGKILL)
        assert proc.wait(timeout=30) == -signal.SIGKILL
    before = read_log(tmp_path)
    assert len(before) >= 3 * 100 and before.attrs["skipped_lines"] <= 3  # >= 3 MB of ~5-15 kB rows per round
    assert (before["text"].map(text_sha256) == before["text_sha256"]).all()
    [rid] = PredictionLog(tmp_path, writer="victim").append(
        [_row(1, time=before["time"].iloc[-1].isoformat())]
    )
    after = read_log(tmp_path)
    assert len(after) == len(before) + 1 and rid in set(after["request_id"])
    assert after.attrs["skipped_lines"] == before.attrs["skipped_lines"]


def test_a_torn_last_line_is_skipped_and_counted(tmp_path: Path) -> None:
    log = PredictionLog(tmp_path, writer="w")
    ids = log.append([_row(1), _row(2)])
    [path] = tmp_path.rglob("w.jsonl")
    with path.open("ab") as handle:
        handle.write(b'{"request_id": "abc", "time": "2024-')
    frame = read_log(tmp_path)
    assert frame["request_id"].tolist() == ids and frame.attrs["skipped_lines"] == 1
    log.close()
    more = PredictionLog(tmp_path, writer="w").append([_row(3)])
    frame = read_log(tmp_path)
    assert frame["request_id"].tolist() == ids + more and frame.attrs["skipped_lines"] == 1


def test_the_local_log_is_a_log_store(tmp_path: Path) -> None:
    log = PredictionLog(tmp_path)
    assert isinstance(log, LogStore)
    ids = log.append([_row(1)])
    assert log.read(model_version="7")["request_id"].tolist() == ids


def test_writer_names_must_be_plain_file_names(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="writer"):
        PredictionLog(tmp_path, writer="../escape")


def test_rows_from_the_served_frame(tmp_path: Path) -> None:
    served = pd.DataFrame(
        {
            "label": ["a", "b"],
            "label_id": [0, 1],
            "probabilities": [[0.9, 0.1], [0.2, 0.8]],
            "uncertainty": [0.1, 0.3],
            "raw_uncertainty": [0.2, 0.4],
            "abstain": [False, True],
        }
    )
    rows = rows_from_frame(served, ["x", "y"], model_name="m", model_version="2")
    ids = PredictionLog(tmp_path).append(rows)
    frame = read_log(tmp_path)
    assert frame["request_id"].tolist() == ids
    assert frame[["label", "u", "raw_uncertainty", "abstain"]].values.tolist() == [
        ["a", 0.1, 0.2, False],
        ["b", 0.3, 0.4, True],
    ]
    with pytest.raises(ValueError, match="3 texts"):
        rows_from_frame(served, ["x", "y", "z"], model_name="m", model_version="2")


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs POSIX fork")
def test_a_forked_worker_writes_its_own_file(tmp_path: Path) -> None:
    log = PredictionLog(tmp_path)
    first = log.append([_row(1)])
    pid = os.fork()
    if pid == 0:  # the child: a pre-forked serving worker that inherited the log
        try:
            (tmp_path / "child_id").write_text(log.append([_row(2)])[0])
        finally:
            os._exit(0)
    assert os.waitpid(pid, 0)[1] == 0
    last = log.append([_row(3)])
    assert len(list(tmp_path.rglob("*.jsonl"))) == 2
    child = (tmp_path / "child_id").read_text()
    assert set(read_log(tmp_path)["request_id"]) == {*first, child, *last}
