"""The prediction log on a real PostgreSQL server: round trip, concurrency, crashes, feedback, monitor.

Each test has a database of its own on the session's cluster (``postgres`` fixture:
password authentication, the password in ``PGPASSWORD``, never in a URL).
"""

from __future__ import annotations

import dataclasses
import multiprocessing
import re
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import psycopg
import pytest

from alien.monitoring.log import PredictionLog, read_log
from alien.monitoring.postgres import PostgresLog
from alien.monitoring.schema import LOG_COLUMNS, POSTGRES_DDL, text_sha256
from alien.monitoring.session import (
    FIRED_FILE,
    URL_STATE_DIR,
    Reference,
    fired_dir,
    record_fired,
    run_monitor,
)
from alien.monitoring.stores import open_log
from alien.monitoring.triggers import RetrainPolicy
from alien.monitoring.windows import monitor_windows
from tests.integration.servers import Postgres

ROOT = Path(__file__).resolve().parents[2]
T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
APP = "alien-prediction-log"


def _row(i: int, **extra: Any) -> dict[str, Any]:
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


@pytest.fixture
def url(postgres: Postgres, request: pytest.FixtureRequest) -> str:
    """A fresh database for this test; its URL carries no password."""
    name = re.sub(r"[^a-z0-9]+", "_", request.node.name.lower())[:50]
    return postgres.create_database(f"log_{name}")


@pytest.fixture
def admin(url: str, postgres: Postgres) -> Iterator[psycopg.Connection[Any]]:
    """A plain connection to the test's database, to look at the tables behind the store's back."""
    with psycopg.connect(url, password=postgres.password, autocommit=True) as conn:
        yield conn


def _count(conn: psycopg.Connection[Any], sql: str) -> int:
    row = conn.execute(sql).fetchone()
    assert row is not None
    return int(row[0])


def _busy_writers(conn: psycopg.Connection[Any]) -> int:
    """The store's sessions on this database that are inside a statement or a transaction."""
    return _count(
        conn,
        f"SELECT count(*) FROM pg_stat_activity WHERE application_name = '{APP}' "
        "AND datname = current_database() AND state <> 'idle'",
    )


@pytest.mark.parametrize("log_text", [False, True])
def test_rows_read_back_equal_what_was_appended(url: str, tmp_path: Path, log_text: bool) -> None:
    rows = [_row(1, time="2024-05-01T21:00:00+00:00"), _row(2, time="2024-05-02T00:30:00+02:00")]
    # one append of rows that share a time (as served rows do): they keep the order they were given in
    rows += [_row(i, model_version="8", time="2024-05-02T08:00:00+00:00") for i in range(3, 8)]
    with open_log(url, log_text=log_text) as log:
        assert isinstance(log, PostgresLog)
        ids = log.append(rows[:2]) + log.append(rows[2:])
        frame = log.read()
    assert frame["request_id"].tolist() == ids and len(set(ids)) == 7
    for key in ("model_name", "model_version", "label", "u", "raw_uncertainty", "abstain"):
        assert frame[key].tolist() == [r[key] for r in rows], key
    assert frame["text_sha256"].tolist() == [text_sha256(r["text"]) for r in rows]
    assert frame["text"].tolist() == ([r["text"] for r in rows] if log_text else [None] * 7)
    assert frame["time"].iloc[1] == pd.Timestamp("2024-05-01T22:30:00+00:00")
    assert frame.attrs["skipped_lines"] == 0

    # the same frame, column for column and dtype for dtype, as the JSONL log's, filters included
    local = PredictionLog(tmp_path, log_text=log_text)
    local.append(rows[:2])
    local.append(rows[2:])
    for filters in ({}, {"model_version": "8"}, {"since": "2024-05-02T00:00:00+00:00"}, {"until": T0}):
        with open_log(url, log_text=log_text) as log:
            theirs = log.read(**filters).drop(columns="request_id")
        ours = read_log(tmp_path, **filters).drop(columns="request_id")
        assert len(ours) > 0 or filters == {"until": T0}
        pd.testing.assert_frame_equal(theirs, ours)


def test_16_threads_appending_at_once_lose_nothing(url: str) -> None:
    threads, appends, batch = 16, 25, 4
    log = PostgresLog(url)
    start = threading.Barrier(threads)
    returned: list[list[str]] = [[] for _ in range(threads)]
    errors: list[BaseException] = []

    def serve(k: int) -> None:
        try:
            start.wait()
            for j in range(appends):
                returned[k] += log.append([_row(k * 1000 + j * 10 + b) for b in range(batch)])
        except BaseException as err:  # reported by the test thread below
            errors.append(err)

    workers = [threading.Thread(target=serve, args=(k,)) for k in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(timeout=300)
    assert not errors, errors[:3]
    frame = log.read()
    assert len(frame) == threads * appends * batch and frame["request_id"].is_unique
    assert set(frame["request_id"]) == {i for ids in returned for i in ids}
    assert len(log._idle) <= threads  # one connection per concurrent thread, reused
    log.close()


_WRITER = """
import sys, threading
from alien.monitoring.stores import open_log
log = open_log(sys.argv[1])
printing = threading.Lock()
def serve(k):
    for j in range({appends}):
        ids = log.append([{{"model_name": "m", "model_version": "1", "label": "a", "u": 0.5,
                           "raw_uncertainty": 0.5, "abstain": False, "text": f"{{k}}-{{j}}-{{b}}"}}
                          for b in range({batch})])
        with printing:
            print(*ids, flush=True)
threads = [threading.Thread(target=serve, args=(k,)) for k in range({threads})]
for t in threads: t.start()
for t in threads: t.join()
"""


def test_several_processes_with_threads_lose_nothing_and_create_the_tables_once(url: str) -> None:
    # a fresh database: the processes race to create the tables on their first append
    code = textwrap.dedent(_WRITER.format(appends=15, batch=5, threads=4))
    procs = [
        subprocess.Popen([sys.executable, "-c", code, url], cwd=ROOT, stdout=subprocess.PIPE, text=True)
        for _ in range(3)
    ]
    printed = set()
    for p in procs:
        out, _ = p.communicate(timeout=300)
        assert p.returncode == 0
        printed |= set(out.split())
    frame = PostgresLog(url).read()
    assert len(frame) == 3 * 4 * 15 * 5 == len(printed) and set(frame["request_id"]) == printed


def _append_in_child(log: PostgresLog, report: Connection) -> None:
    log.append([_row(1, text="from the child")])
    report.send([conn.info.backend_pid for conn in log._idle])


def test_a_forked_worker_opens_its_own_connection_and_leaves_the_parents(url: str) -> None:
    log = PostgresLog(url)
    log.append([_row(0)])
    [parents] = log._idle
    context = multiprocessing.get_context("fork")
    receive, send = context.Pipe(duplex=False)
    child = context.Process(target=_append_in_child, args=(log, send))
    child.start()
    childs = receive.recv()
    child.join(timeout=120)
    assert child.exitcode == 0
    assert len(childs) == 1 and childs[0] != parents.info.backend_pid  # a session of its own
    log.append([_row(2)])  # on the parent's connection, which the child neither used nor closed
    assert log._idle == [parents] and not parents.closed
    texts = ("text number 0", "from the child", "text number 2")
    assert sorted(log.read()["text_sha256"]) == sorted(text_sha256(t) for t in texts)


_KILLED = """
import sys
from alien.monitoring.stores import open_log
log = open_log(sys.argv[1])
row = {"model_name": "m", "model_version": "1", "label": "a", "u": 0.5, "raw_uncertainty": 0.5,
       "abstain": False, "text": "x" * 1000}
for _ in range(3):
    print(*log.append([row] * 50), flush=True)
print("slow", flush=True)
log.append([{**row, "model_version": "slow"}] * 500)
print("finished", flush=True)
"""

_SLOW_ROWS = """
CREATE SEQUENCE slow_rows;
CREATE FUNCTION slow_row() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.model_version = 'slow' THEN
        PERFORM nextval('slow_rows');  -- not transactional: the test sees the progress
        PERFORM pg_sleep(0.02);
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER slow_row BEFORE INSERT ON alien_predictions FOR EACH ROW EXECUTE FUNCTION slow_row();
"""


def test_a_writer_sigkilled_mid_append_leaves_a_readable_table_without_its_batch(
    url: str, admin: psycopg.Connection[Any]
) -> None:
    """Deterministic: the killed batch has inserted rows (a sequence counts them) when SIGKILL comes."""
    PostgresLog(url).append([])  # nothing: no connection, so no tables yet
    with PostgresLog(url) as log:
        [first] = log.append([_row(0)])  # creates the tables
    admin.execute(_SLOW_ROWS)
    proc = subprocess.Popen([sys.executable, "-c", _KILLED, url], cwd=ROOT, stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    committed = {first}
    for line in proc.stdout:
        if line.strip() == "slow":
            break
        committed |= set(line.split())
    deadline = time.monotonic() + 60
    inserted = "SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM slow_rows"
    while _count(admin, inserted) < 20:  # rows of the batch are in, uncommitted
        assert time.monotonic() < deadline and proc.poll() is None, "the slow batch never started"
        time.sleep(0.05)
    proc.kill()
    assert proc.wait(timeout=30) == -9
    assert _count(admin, inserted) < 500  # killed mid-append, not after it
    # the server rolls the open transaction back once it sees the client gone
    while _busy_writers(admin):
        assert time.monotonic() < deadline + 60, "the killed writer's transaction is still open"
        time.sleep(0.1)
    frame = PostgresLog(url).read()
    assert set(frame["request_id"]) == committed and len(frame) == 1 + 3 * 50
    assert "slow" not in set(frame["model_version"])
    [more] = PostgresLog(url).append([_row(1)])
    after = PostgresLog(url).read()
    assert len(after) == len(frame) + 1 and after["request_id"].iloc[-1] == more


def test_feedback_refusals_write_nothing_and_the_latest_label_wins(
    url: str, admin: psycopg.Connection[Any]
) -> None:
    log = PostgresLog(url)
    ids = log.append([_row(i) for i in range(3)])
    with pytest.raises(ValueError, match=r"1 unknown request id\(s\): \['no-such-id'\]"):
        log.attach_labels({ids[0]: "pos", "no-such-id": "neg"}, label_names=["neg", "pos"])
    with pytest.raises(ValueError, match=rf"1 label\(s\) outside \['neg', 'pos'\]: {{'{ids[1]}': 'maybe'}}"):
        log.attach_labels({ids[0]: "pos", ids[1]: "maybe"}, label_names=["neg", "pos"])
    assert _count(admin, "SELECT count(*) FROM alien_labels") == 0
    assert log.read()["true_label"].isna().all()
    assert log.attach_labels({ids[0]: "pos", ids[2]: "neg"}, label_names=["neg", "pos"]) == 2
    assert log.attach_labels({ids[0]: "neg"}, label_names=["neg", "pos"]) == 1
    assert log.read()["true_label"].tolist() == ["neg", None, "neg"]
    assert _count(admin, "SELECT count(*) FROM alien_labels") == 3  # appended, never rewritten


def test_a_connection_the_server_dropped_is_replaced_and_nothing_is_doubled(
    url: str, admin: psycopg.Connection[Any]
) -> None:
    log = PostgresLog(url)
    log.append([_row(0)])
    terminated = admin.execute(
        "SELECT count(*) FROM (SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
        "WHERE application_name = %s AND datname = current_database()) AS t",
        (APP,),
    ).fetchone()
    assert terminated == (1,)
    ids = log.append([_row(1), _row(2)])
    assert (
        log.read()["request_id"].tolist()[1:] == ids
        and _count(admin, "SELECT count(*) FROM alien_predictions") == 3
    )


def test_the_monitor_reads_the_same_windows_from_postgres_as_from_jsonl(
    url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    rng = np.random.default_rng(0)
    u = rng.beta(2, 8, size=450)
    rows = [
        {**_row(i, u=float(u[i]), abstain=bool(u[i] > 0.4)), "time": T0 + timedelta(minutes=i)}
        for i in range(450)
    ]
    rows[300:] = [{**r, "model_version": "8"} for r in rows[300:]]
    local, remote = PredictionLog(tmp_path), PostgresLog(url)
    pairs = []
    for start in range(0, 450, 64):  # served in batches, as the pyfunc logs them
        pairs += zip(
            local.append(rows[start : start + 64]), remote.append(rows[start : start + 64]), strict=True
        )
    truth = {k: ("pos" if rng.random() < 0.7 else "neg") for k in range(0, 450, 3)}
    local.attach_labels({pairs[k][0]: v for k, v in truth.items()}, label_names=["neg", "pos"])
    remote.attach_labels({pairs[k][1]: v for k, v in truth.items()}, label_names=["neg", "pos"])

    ours, theirs = read_log(tmp_path, model_version="7"), remote.read(model_version="7")
    assert len(ours) == 300 and theirs["request_id"].tolist() == [pairs[k][1] for k in range(300)]
    pd.testing.assert_frame_equal(theirs.drop(columns="request_id"), ours.drop(columns="request_id"))
    settings = {"target_risk": 0.2, "size": 100, "reference_u": rng.beta(2, 8, size=500)}
    a = [dataclasses.asdict(r) for r in monitor_windows(ours, **settings)]
    b = [dataclasses.asdict(r) for r in monitor_windows(theirs, **settings)]
    assert a == b and [r["n_labelled"] for r in a] == [34, 33, 33]
    by_time = {"by": "time", "every": "1h", "size": None, "target_risk": 0.2}
    assert [dataclasses.asdict(r) for r in monitor_windows(remote.read(), **by_time)] == [
        dataclasses.asdict(r) for r in monitor_windows(read_log(tmp_path), **by_time)
    ]
    assert list(theirs.columns) == [*LOG_COLUMNS, "true_label"]

    # the whole monitor on each store: same windows and triggers; a fired window is remembered
    # in the log's folder, or in .alien-monitor/ of the project for the PostgreSQL table
    project = tmp_path / "project"
    project.mkdir()
    monkeypatch.chdir(project)
    reference = Reference(u=rng.beta(8, 2, size=500), test_error=0.01)
    kw = {"target_risk": 0.2, "policy": RetrainPolicy(), "reference": reference, "size": 100, "version": "7"}
    on_jsonl, on_postgres = run_monitor(tmp_path, **kw), run_monitor(url, **kw)
    assert [t.to_dict() for t in on_postgres.triggers] == [t.to_dict() for t in on_jsonl.triggers] != []
    assert on_postgres.table == on_jsonl.table
    record_fired(fired_dir(url), on_postgres.triggers)
    assert (project / URL_STATE_DIR / FIRED_FILE).is_file()
    assert run_monitor(url, **kw).triggers == []


def test_a_role_that_may_only_read_and_insert_uses_tables_a_dba_made(
    url: str, admin: psycopg.Connection[Any], postgres: Postgres
) -> None:
    """Production: the DBA runs the DDL; the serving role has SELECT and INSERT, no CREATE (PostgreSQL
    15 grants no CREATE on ``public`` to other roles). Its password is in the URL here, never shown."""
    admin.execute(POSTGRES_DDL)
    admin.execute("DROP ROLE IF EXISTS serving")
    admin.execute("CREATE ROLE serving LOGIN PASSWORD 'only-in-the-url'")
    admin.execute("GRANT SELECT, INSERT ON alien_predictions, alien_labels TO serving")
    database = url.rsplit("/", 1)[1]
    log = open_log(f"postgresql://serving:only-in-the-url@127.0.0.1:{postgres.port}/{database}")
    ids = log.append([_row(0), _row(1)])
    assert log.attach_labels({ids[1]: "pos"}, label_names=["neg", "pos"]) == 1
    assert log.read()["true_label"].tolist() == [None, "pos"]
    assert "only-in-the-url" not in repr(log)
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        admin.execute("SET ROLE serving; CREATE TABLE nope (x int)")
