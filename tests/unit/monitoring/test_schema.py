"""The log schema: validation of appended rows, times, and the PostgreSQL DDL's columns."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest

from alien.monitoring.schema import (
    INPUT_KEYS,
    LABEL_COLUMNS,
    LOG_COLUMNS,
    POSTGRES_DDL,
    as_utc,
    text_sha256,
    to_record,
)

NOW = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
ROW = {
    "model_name": "m",
    "model_version": "3",
    "label": "pos",
    "u": 0.25,
    "raw_uncertainty": 0.4,
    "abstain": False,
    "text": "great film",
}


def _table_columns(name: str) -> list[str]:
    body = re.search(rf"CREATE TABLE IF NOT EXISTS {name} \((.*?)\n\);", POSTGRES_DDL, re.S)
    assert body is not None
    return [line.split()[0] for line in body.group(1).strip().splitlines()]


def test_postgres_ddl_has_the_same_columns_in_the_same_order() -> None:
    assert _table_columns("alien_predictions") == list(LOG_COLUMNS)
    assert _table_columns("alien_labels") == list(LABEL_COLUMNS)


def test_record_holds_the_row_the_hash_and_no_text_by_default() -> None:
    record = to_record(ROW, request_id="ab" * 16, now=NOW, log_text=False)
    assert list(record) == list(LOG_COLUMNS)
    assert record["text"] is None
    assert record["text_sha256"] == text_sha256("great film")
    assert record["time"] == "2024-05-01T12:00:00.000000+00:00"
    assert (record["u"], record["label"], record["abstain"]) == (0.25, "pos", False)
    assert to_record(ROW, request_id="x", now=NOW, log_text=True)["text"] == "great film"


def test_a_row_may_carry_its_own_aware_time() -> None:
    row = {**ROW, "time": "2024-04-30T23:30:00-02:00"}
    assert to_record(row, request_id="x", now=NOW, log_text=False)["time"].startswith("2024-05-01T01:30:00")


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"u": 1.5}, "u"),
        ({"u": float("nan")}, "u"),
        ({"raw_uncertainty": "high"}, "raw_uncertainty"),
        ({"abstain": "no"}, "abstain"),
        ({"label": None}, "label"),
        ({"uncertainty": 0.1}, "uncertainty"),
    ],
)
def test_bad_rows_are_refused_naming_the_key(change: dict[str, object], named: str) -> None:
    with pytest.raises(ValueError, match=named):
        to_record({**ROW, **change}, request_id="x", now=NOW, log_text=False)


def test_missing_keys_are_named() -> None:
    row = {k: v for k, v in ROW.items() if k != "text"}
    with pytest.raises(ValueError, match=r"missing keys \['text'\]"):
        to_record(row, request_id="x", now=NOW, log_text=False)
    assert "text" in INPUT_KEYS


def test_naive_and_unparseable_times_are_refused() -> None:
    with pytest.raises(ValueError, match="timezone"):
        as_utc(datetime(2024, 5, 1), "since")
    with pytest.raises(ValueError, match="ISO-8601"):
        as_utc("yesterday", "until")
