"""What the Airflow tests share: an expensive fixture run once per test run, even when
pytest-xdist spreads its tests over several workers (each would otherwise build its own copy of a
module-scoped fixture), and the end-to-end tests' measurements."""

from __future__ import annotations

import fcntl
import json
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from docker.cluster import wait_for
from tests.conftest import TEST_AS_OF

if TYPE_CHECKING:
    from pipelines.platform.storage import Storage


def once_per_run(
    tmp_path_factory: pytest.TempPathFactory, name: str, produce: Callable[[Path], dict[str, Any]]
) -> dict[str, Any]:
    """``produce(folder)`` in the first worker that asks; the others wait and read its result."""
    base = tmp_path_factory.getbasetemp()
    # Under xdist each worker's base is a sub-folder of this run's; alone, the base is the run's.
    shared = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base
    folder = shared / name
    folder.mkdir(exist_ok=True)
    with (folder / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        done = folder / "result.json"
        if not done.exists():
            done.write_text(json.dumps(produce(folder), default=str))
        result: dict[str, Any] = json.loads(done.read_text())
        return result


# -- end to end: what the Airflow deployments' tests measure -------------------------------------


def publish_records(lake: Storage) -> list[dict[str, Any]]:
    """Every published marts version's record (``publishes/<version>.json``), oldest first."""
    return [
        json.loads(lake.read_bytes(obj.key))
        for obj in sorted(lake.list("publishes/"), key=lambda o: o.key)
    ]


def measure_put_to_publish(
    lake: Storage,
    put: Callable[[], None],
    published: Callable[[list[dict[str, Any]]], bool],
    timeout: float,
    context: Callable[[], str],
) -> float:
    """Seconds from ``put()`` until a publish record satisfies ``published``."""
    started = time.monotonic()
    put()
    wait_for(
        "the marts to be published",
        lambda: published(publish_records(lake)),
        timeout,
        context,
    )
    return time.monotonic() - started


def report_latency(
    tmp_path: Path, name: str, seconds: float, timings: list[tuple[Any, ...]]
) -> None:
    """Print the figure and where the time went; ``<tmp>/latency.json`` keeps the figure."""
    print(f"\n{name}: put -> publish {seconds:.1f} s; task instances:")
    print("   (dag, task, map index, queued, start, end, hostname)")
    for row in timings:
        print("  ", *row)
    (tmp_path / "latency.json").write_text(json.dumps({name: seconds}))


def sentra_env(landing: str, lake: str, tmp_path: Path, **extra: str) -> dict[str, str]:
    return {
        "SENTRA_LANDING": landing,
        "SENTRA_LAKE": lake,
        "SENTRA_WAREHOUSE": str(tmp_path / "warehouse" / "sentra.duckdb"),
        "SENTRA_AS_OF": TEST_AS_OF.isoformat(),
        # As in production: a secret salt, not the public demo one (which ingest refuses).
        "SENTRA_PII_SALT": "airflow-tests-secret-salt-0123456789abcdef",
        **extra,
    }
