"""Start ``airflow standalone`` (SQLite, LocalExecutor) on a free port for end-to-end tests.

It runs in its own process group (``start_new_session``) so the whole tree - API server,
scheduler, DAG processor, triggerer and the task processes - is stopped together.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

PROJECT = Path(__file__).resolve().parents[2]
DAGS = PROJECT / "dags"
T = TypeVar("T")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def airflow_env(home: Path, port: int, extra: dict[str, str]) -> dict[str, str]:
    """The environment ``make airflow`` sets, pointed at a temporary home and port."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "SENTRA_"))}
    env.update(
        {
            "AIRFLOW_HOME": str(home),
            "AIRFLOW__CORE__DAGS_FOLDER": str(DAGS),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": "admin:admin",
            "AIRFLOW__API__PORT": str(port),
            "AIRFLOW__API__HOST": "127.0.0.1",
            "AIRFLOW__API__BASE_URL": f"http://127.0.0.1:{port}",
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{port}/execution/",
            "PYTHONPATH": os.pathsep.join([str(DAGS), str(PROJECT)]),
            # standalone starts its components as `airflow ...`: the venv's must come first.
            "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ["PATH"]]),
            **extra,
        }
    )
    return env


@dataclass
class Standalone:
    home: Path
    url: str
    log: Path

    def db(self) -> sqlite3.Connection:
        return sqlite3.connect(f"file:{self.home / 'airflow.db'}?mode=ro", uri=True, timeout=30)

    def query(self, sql: str, *args: Any) -> list[tuple[Any, ...]]:
        try:
            with closing(self.db()) as con:
                return con.execute(sql, args).fetchall()
        except sqlite3.OperationalError:  # not migrated yet, or locked for a moment
            return []

    def password(self) -> str:
        generated = self.home / "simple_auth_manager_passwords.json.generated"
        passwords: dict[str, str] = json.loads(generated.read_text())
        return passwords["admin"]

    def token(self) -> str:
        """The Airflow 3 token flow: POST /auth/token with the user's name and password."""
        body = json.dumps({"username": "admin", "password": self.password()}).encode()
        request = urllib.request.Request(
            f"{self.url}/auth/token",
            data=body,
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            token: str = json.load(response)["access_token"]
            return token

    def api(self, method: str, path: str, payload: dict[str, Any] | None = None) -> Any:
        request = urllib.request.Request(
            f"{self.url}/api/v2/{path}",
            data=json.dumps(payload).encode() if payload is not None else None,
            headers={"Authorization": f"Bearer {self.token()}", "Content-Type": "application/json"},
            method=method,
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.load(response)

    def tail(self, lines: int = 80) -> str:
        text = self.log.read_text(errors="replace").splitlines()
        return "\n".join(text[-lines:])

    def task_timings(self) -> list[tuple[Any, ...]]:
        """(dag, task, queued, start, end) of every task instance: where the time went."""
        return self.query(
            "select dag_id, task_id, queued_dttm, start_date, end_date from task_instance "
            "order by start_date"
        )

    def watchers_running(self, classpath: str) -> bool:
        """A trigger of this class exists and a triggerer has taken it."""
        rows = self.query(
            "select count(*) from trigger where classpath = ? and triggerer_id is not null",
            classpath,
        )
        return bool(rows and rows[0][0])


def wait_for(what: str, check: Callable[[], T], timeout: float, standalone: Standalone) -> T:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        time.sleep(0.25)
    raise AssertionError(
        f"timed out after {timeout:.0f} s waiting for {what}:\n{standalone.tail()}"
    )


def healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/api/v2/monitor/health", timeout=2) as response:
            status = json.load(response)
    except (urllib.error.URLError, ConnectionError, TimeoutError, ValueError):
        return False
    return all(
        (status.get(part) or {}).get("status") == "healthy"
        for part in ("metadatabase", "scheduler", "triggerer", "dag_processor")
    )


@contextmanager
def airflow_standalone(home: Path, extra_env: dict[str, str]) -> Iterator[Standalone]:
    port = free_port()
    home.mkdir(parents=True, exist_ok=True)
    log = home / "standalone.log"
    env = airflow_env(home, port, extra_env)
    with log.open("wb") as sink:
        process = subprocess.Popen(
            [str(Path(sys.executable).with_name("airflow")), "standalone"],
            env=env,
            cwd=home,
            stdout=sink,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    standalone = Standalone(home, f"http://127.0.0.1:{port}", log)
    try:
        wait_for(
            "airflow standalone to be healthy", lambda: healthy(standalone.url), 300, standalone
        )
        yield standalone
    finally:
        stop(process)


def stop(process: subprocess.Popen[bytes]) -> None:
    """Stop the whole process group: standalone's children outlive a signal to it alone."""
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    except ProcessLookupError:
        pass
