"""Start and stop real servers on 127.0.0.1 for the integration tests and the scale-out benchmark.

Every server runs in its own process group (``start_new_session``) and is stopped by
signalling the group: ``mlflow server`` and ``prefect server`` fork workers that would
otherwise outlive the test session.
"""

from __future__ import annotations

import glob
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

VENV_BIN = str(Path(sys.executable).parent)
SERVER_ENV = {
    "MLFLOW_DISABLE_TELEMETRY": "true",
    # without it the tracking server starts a job runner (~10 processes, 2.3 GB)
    "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false",
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "DO_NOT_TRACK": "1",
    "DVC_NO_ANALYTICS": "1",
}


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def server_env(**extra: str) -> dict[str, str]:
    """The current environment, telemetry off, the venv's ``bin`` first on PATH (so ``mlflow``,
    ``prefect`` and ``python`` in the shared command lists are this venv's)."""
    env = {**os.environ, **SERVER_ENV, **extra}
    env["PATH"] = f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}"
    return env


@dataclass
class ServerProcess:
    """A command running in its own process group, its output in ``log``."""

    argv: list[str]
    log: Path
    url: str
    process: subprocess.Popen[bytes] = field(repr=False)

    def log_tail(self, chars: int = 3000) -> str:
        return self.log.read_text(errors="replace")[-chars:] if self.log.exists() else ""

    def alive(self) -> bool:
        return self.process.poll() is None

    def stop(self, timeout: float = 20.0) -> None:
        """SIGTERM the whole group, SIGKILL it if it is still there after ``timeout`` s."""
        if self.process.poll() is not None and not _group_alive(self.process.pid):
            return
        for sig in (signal.SIGTERM, signal.SIGKILL):
            try:
                os.killpg(self.process.pid, sig)
            except ProcessLookupError:
                return
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                self.process.poll()
                if not _group_alive(self.process.pid):
                    return
                time.sleep(0.2)


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def start(argv: list[str], *, log: Path, url: str, cwd: Path | None = None, **env: str) -> ServerProcess:
    """Start ``argv`` in a new process group with :func:`server_env`, output to ``log``."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("ab") as out:
        process = subprocess.Popen(
            argv,
            cwd=cwd,
            env=server_env(**env),
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    return ServerProcess(argv=argv, log=log, url=url, process=process)


def wait_http(server: ServerProcess, path: str, *, timeout: float = 180.0) -> None:
    """Poll ``server.url + path`` until it answers 200; raise with the log tail if it never does."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not server.alive():
            raise RuntimeError(
                f"{server.argv[:3]} exited with {server.process.returncode}:\n{server.log_tail()}"
            )
        try:
            with urllib.request.urlopen(server.url + path, timeout=5) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.5)
    server.stop()
    raise TimeoutError(f"{server.url}{path} not healthy after {timeout:.0f} s:\n{server.log_tail()}")


def postgres_bin() -> Path:
    """The folder with ``initdb``/``pg_ctl``: Debian keeps them under /usr/lib/postgresql/<major>/bin."""
    found = shutil.which("pg_ctl")
    if found:
        return Path(found).parent
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
    if not candidates:
        raise FileNotFoundError("PostgreSQL server binaries not found: apt-get install -y postgresql")
    return Path(candidates[-1]).parent


@dataclass
class Postgres:
    """A throwaway PostgreSQL cluster on 127.0.0.1: user ``postgres``, password authentication.

    URIs carry no password: clients read it from ``PGPASSWORD`` (:meth:`env`), as the
    compose services do; libpq (psycopg) and asyncpg (Prefect) both honour it.
    """

    datadir: Path
    port: int
    password: str
    host: str = "127.0.0.1"

    def uri(self, database: str = "postgres", *, driver: str = "postgresql") -> str:
        return f"{driver}://postgres@{self.host}:{self.port}/{database}"

    def env(self) -> dict[str, str]:
        return {"PGPASSWORD": self.password}

    def create_database(self, name: str) -> str:
        """Create database ``name`` (no-op if it exists) and return its SQLAlchemy URI."""
        import psycopg  # SQLAlchemy 2.1's default PostgreSQL driver, so MLflow's too

        # autocommit: CREATE DATABASE cannot run in a transaction
        with psycopg.connect(self.uri(), password=self.password, autocommit=True) as conn:
            if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone() is None:
                conn.execute(f'CREATE DATABASE "{name}"')
        return self.uri(name)


def _as_postgres(argv: list[str]) -> list[str]:
    # the server binaries refuse to run as root
    return ["runuser", "-u", "postgres", "--", *argv] if os.geteuid() == 0 else argv


def start_postgres(*, port: int | None = None) -> Postgres:
    """initdb a fresh cluster (random password, scram-sha-256) in a new temporary folder and
    start it on 127.0.0.1."""
    bin_dir = postgres_bin()
    datadir = Path(tempfile.mkdtemp(prefix="alien-pg-"))
    pg = Postgres(datadir=datadir, port=port or free_port(), password=secrets.token_hex(16))
    pwfile = datadir / "pwfile"
    pwfile.write_text(pg.password + "\n")
    if os.geteuid() == 0:
        for path in (datadir, pwfile):
            shutil.chown(path, user="postgres", group="postgres")
    run = lambda argv: subprocess.run(_as_postgres(argv), check=True, capture_output=True)  # noqa: E731
    initdb = [str(bin_dir / "initdb"), "-D", str(datadir / "data"), "-U", "postgres"]
    run([*initdb, "-A", "scram-sha-256", f"--pwfile={pwfile}"])
    pwfile.unlink()
    options = f"-p {pg.port} -k {datadir} -h {pg.host}"
    pg_ctl = [str(bin_dir / "pg_ctl"), "-D", str(datadir / "data"), "-o", options]
    run([*pg_ctl, "-l", str(datadir / "log"), "-w", "start"])
    return pg


def stop_postgres(pg: Postgres) -> None:
    """Stop the cluster (fast shutdown) and delete its folder."""
    pg_ctl = str(postgres_bin() / "pg_ctl")
    subprocess.run(
        _as_postgres([pg_ctl, "-D", str(pg.datadir / "data"), "-m", "fast", "-w", "stop"]),
        check=False,
        capture_output=True,
    )
    shutil.rmtree(pg.datadir, ignore_errors=True)
