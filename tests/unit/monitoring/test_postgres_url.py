"""Choosing the prediction log's store from ``monitor.log``, and never showing its password.

No server here: the store connects on first use, so choice, validation and the
redacted messages are checked without one (tests/integration/test_postgres_log.py
runs the store against a real PostgreSQL).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from alien.config.base import ConfigError, section_from_mapping
from alien.config.monitor import MonitorConfig
from alien.monitoring.location import is_postgres_url, mask_password, redact_url
from alien.monitoring.log import PredictionLog
from alien.monitoring.postgres import PostgresLog
from alien.monitoring.schema import LogStore
from alien.monitoring.stores import open_log
from tests.integration.servers import free_port

ROOT = Path(__file__).resolve().parents[3]
ROW = {
    "model_name": "m",
    "model_version": "1",
    "label": "pos",
    "u": 0.2,
    "raw_uncertainty": 0.3,
    "abstain": False,
    "text": "t",
}


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("postgresql://alien:s3cret@db:5432/mon", "postgresql://alien:***@db:5432/mon"),
        ("postgres://alien:p%40ss%3Aw@db/mon", "postgres://alien:***@db/mon"),  # encoded @ and :
        ("postgresql://alien:a@b@db/mon", "postgresql://alien:***@db/mon"),  # a raw @ in the password
        ("postgresql://a@db/mon?sslmode=require&Password=x&x=1", "postgresql://a@db/mon?sslmode=require&Password=***&x=1"),
        ("postgresql://a:x@h1:5432,h2:5433/mon?password=y", "postgresql://a:***@h1:5432,h2:5433/mon?password=***"),
        ("postgresql://alien@db:5432/mon?sslmode=require", "postgresql://alien@db:5432/mon?sslmode=require"),
        ("postgresql:///mon", "postgresql:///mon"),
        ("monitoring/log", "monitoring/log"),
    ],
)  # fmt: skip
def test_redact_url_masks_the_password_and_keeps_everything_else(url: str, shown: str) -> None:
    assert redact_url(url) == shown


def test_a_driver_message_quoting_the_url_gets_its_password_masked() -> None:
    url = "postgresql://alien:p%40ss@db/mon?password=other"
    message = 'bad "p%40ss" and "p@ss" and "other" near "alien"'
    assert mask_password(message, url) == 'bad "***" and "***" and "***" near "alien"'
    assert mask_password("no secret here", "postgresql://alien@db/mon") == "no secret here"


def test_a_url_selects_postgres_and_anything_else_is_a_folder() -> None:
    assert is_postgres_url("postgresql://a@db/m") and is_postgres_url("POSTGRES://a@db/m")
    assert not is_postgres_url("monitoring/log") and not is_postgres_url("postgresql:/a")
    assert not is_postgres_url(Path("postgresql://a@db/m"))  # a Path has lost its "//" already


def test_open_log_picks_the_store_from_the_location(tmp_path: Path) -> None:
    local = open_log(tmp_path / "log", log_text=True)
    assert type(local) is PredictionLog and local.log_text and local.directory == tmp_path / "log"
    assert isinstance(local, LogStore) and not (tmp_path / "log").exists()  # nothing made yet
    remote = open_log("postgresql://alien:s3cret@db.invalid:5432/mon", log_text=True)
    assert type(remote) is PostgresLog and remote.log_text and isinstance(remote, LogStore)
    assert "s3cret" not in repr(remote) and remote.location == "postgresql://alien:***@db.invalid:5432/mon"


def test_open_log_refuses_another_scheme_without_showing_its_password() -> None:
    with pytest.raises(ValueError, match=r"s3://key:\*\*\*@bucket/log is neither a folder") as err:
        open_log("s3://key:topsecret@bucket/log")
    assert "topsecret" not in str(err.value)
    with pytest.raises(ValueError, match="postgresql:// or postgres:// URL"):
        PostgresLog("mysql://a@db/m")


@pytest.mark.parametrize(("key", "value"), [("max_idle", -1), ("max_idle", True), ("connect_timeout", 0)])
def test_postgres_log_refuses_bad_options(key: str, value: Any) -> None:
    with pytest.raises(ValueError, match=key):
        PostgresLog("postgresql://a@db/m", **{key: value})


def test_a_local_log_never_loads_the_database_driver(tmp_path: Path) -> None:
    code = (
        "import sys; from alien.monitoring.stores import open_log; "
        f"open_log({str(tmp_path)!r}).append([{ROW!r}]); print('psycopg' in sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "False"


def test_nothing_is_sent_for_an_empty_or_malformed_batch() -> None:
    # a port nothing listens on: any attempt to connect would raise ConnectionError
    log = PostgresLog(f"postgresql://a@127.0.0.1:{free_port()}/m")
    assert log.append([]) == [] and log.attach_labels({}, label_names=["pos"]) == 0
    with pytest.raises(ValueError, match="u must be a number in"):
        log.append([{**ROW, "u": 1.5}])


def test_connection_errors_name_the_url_without_its_password() -> None:
    port = free_port()
    log = PostgresLog(f"postgresql://alien:hunter2@127.0.0.1:{port}/mon", connect_timeout=2)
    with pytest.raises(ConnectionError, match=rf"postgresql://alien:\*\*\*@127.0.0.1:{port}/mon") as err:
        log.read()
    assert "hunter2" not in str(err.value) and err.value.__cause__ is None
    # libpq quotes a malformed URL back: the password in it is masked too, raw and decoded
    bad = PostgresLog(f"postgresql://alien:hun%41ter%zz@127.0.0.1:{port}/mon")
    with pytest.raises(ConnectionError, match="percent") as err:
        bad.append([ROW])
    assert "hun" not in str(err.value), str(err.value)


def _monitor_section(log: str) -> dict[str, Any]:
    section = yaml.safe_load((ROOT / "params.yaml").read_text())["monitor"]
    return {**section, "log": log}


@pytest.mark.parametrize("log", ["monitoring/log", "postgresql://alien@db:5432/mon?sslmode=require"])
def test_monitor_log_accepts_a_folder_or_a_postgres_url(log: str) -> None:
    assert section_from_mapping(MonitorConfig, _monitor_section(log), section="monitor").log == log


@pytest.mark.parametrize(
    ("log", "message"),
    [
        ("postgresql://alien:hunter2@db/mon", "must not carry its password"),
        ("postgresql://alien@db/mon?password=hunter2", "must not carry its password"),
        ("s3://key:hunter2@bucket/log", "must be a folder or a postgresql:// or postgres:// URL, got a 's3' URL"),
    ],
)  # fmt: skip
def test_monitor_log_refuses_a_password_or_another_scheme_without_echoing_it(log: str, message: str) -> None:
    with pytest.raises(ConfigError, match=r"^monitor\.log: ") as err:
        section_from_mapping(MonitorConfig, _monitor_section(log), section="monitor")
    assert message in str(err.value) and "hunter2" not in str(err.value)
    with pytest.raises(ValueError) as raw:  # built in code: pydantic's own message hides the input too
        MonitorConfig(log=log)
    assert "hunter2" not in str(raw.value)
