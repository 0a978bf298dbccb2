"""A real ``kill -9`` of a worker process at a few writes: nothing half-visible, and the rerun
converges on the state of an uninterrupted run (the fault tests beside this one cover every
write with an in-process crash; these show a killed process behaves the same)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from pipelines.marts.publish import build_and_publish
from pipelines.platform.settings import PROJECT_ROOT
from tests.conftest import local_settings
from tests.reliability.faults import WritePoint, wait_for
from tests.reliability.lake_state import assert_nothing_half_visible, lake_state
from tests.reliability.marts_state import assert_readers_see_a_whole_version, published_state
from tests.reliability.scenarios import fresh_lake, ingest
from tests.reliability.test_ingest_faults import recorded as recorded_ingest
from tests.reliability.test_publish_faults import from_template
from tests.reliability.test_publish_faults import recorded as recorded_publish


def kill_at(kind: str, root: Path, point: WritePoint) -> None:
    """Run the worker, wait until it reaches ``point``, and ``kill -9`` it there."""
    marker = root / "paused-at"
    worker = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.reliability.killed_worker",
            kind,
            str(root),
            str(point.number),
            str(marker),
        ],
        env={**os.environ, "PYTHONPATH": str(PROJECT_ROOT)},
        cwd=PROJECT_ROOT,
    )
    try:
        wait_for(marker, seconds=120)
    finally:
        worker.send_signal(signal.SIGKILL)
        assert worker.wait(30) == -signal.SIGKILL


def first(points: list[WritePoint], prefix: str) -> WritePoint:
    return next(point for point in points if point.key.startswith(prefix))


def test_a_worker_killed_at_the_ledger_record_is_retried_to_the_same_state(tmp_path: Path) -> None:
    points, uninterrupted = recorded_ingest("rows-quarantined")
    settings = fresh_lake(tmp_path, "rows-quarantined")

    # Its outputs are all written, the commit point is not: the worst place to die.
    kill_at("ingest", tmp_path, first(points, "ledger/"))

    assert_nothing_half_visible(settings)
    [retry] = ingest(settings, "run-1").outcomes  # Airflow retries the same run
    assert retry.status == "ingested"
    assert lake_state(settings) == uninterrupted


def test_a_build_killed_between_the_database_and_its_exports_is_rebuilt_whole(
    tmp_path: Path,
) -> None:
    points, uninterrupted, previous = recorded_publish("local")
    settings = from_template("local", tmp_path)

    kill_at("publish", tmp_path, first(points, "parquet/"))

    assert_readers_see_a_whole_version(settings, previous)
    rerun = build_and_publish(local_settings(tmp_path), "run-p3")
    assert rerun.published
    assert published_state(settings) == uninterrupted
