"""Start ``airflow standalone`` (SQLite, LocalExecutor) on a free port for end-to-end tests.

It runs in its own process group (``start_new_session``) so the whole tree - API server,
scheduler, DAG processor, triggerer and the task processes - is stopped together.
"""

from __future__ import annotations

import json
import sqlite3
import sys
import urllib.request
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from docker.cluster import (
    MetadataQueries,
    admin_password,
    airflow_env,
    free_port,
    healthy,
    start,
    stop,
    wait_for,
)


@dataclass
class Standalone(MetadataQueries):
    home: Path
    url: str
    log: Path

    def db(self) -> sqlite3.Connection:
        return sqlite3.connect(f"file:{self.home / 'airflow.db'}?mode=ro", uri=True, timeout=30)

    def query(self, sql: str, *args: Any) -> list[tuple[Any, ...]]:
        sql = sql.replace("%s", "?")  # the queries are written for PostgreSQL's driver
        try:
            with closing(self.db()) as con:
                return con.execute(sql, args).fetchall()
        except sqlite3.OperationalError:  # not migrated yet, or locked for a moment
            return []

    def password(self) -> str:
        return admin_password(self.home)

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


@contextmanager
def airflow_standalone(home: Path, extra_env: dict[str, str]) -> Iterator[Standalone]:
    port = free_port()
    home.mkdir(parents=True, exist_ok=True)
    log = home / "standalone.log"
    env = airflow_env(home, port, extra_env)
    process = start(
        [str(Path(sys.executable).with_name("airflow")), "standalone"], log, env, cwd=home
    )
    standalone = Standalone(home, f"http://127.0.0.1:{port}", log)
    try:
        wait_for(
            "airflow standalone to be healthy",
            lambda: healthy(standalone.url),
            300,
            standalone.tail,
        )
        yield standalone
    finally:
        stop(process)
