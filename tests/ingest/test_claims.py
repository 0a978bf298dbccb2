"""Workers racing on one file: one claim wins, the others leave it; a killed worker loses none."""

from __future__ import annotations

import dataclasses
import hashlib
import os
import signal
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import TYPE_CHECKING

import pytest

from pipelines.feeds.catalog import FEEDS
from pipelines.ingest.engine import Ingestor
from pipelines.lake.claims import Claims, Taken
from pipelines.lake.ledger import Ledger
from pipelines.platform.settings import PROJECT_ROOT, Settings
from tests.registry_files import DIY_ROWS, registry_csv

if TYPE_CHECKING:
    from pipelines.feeds.contract import FeedContext, FeedResult, LandedFile

KEY = "registry/diy.csv"


def land(settings: Settings) -> str:
    """Land one registry file; its sha256."""
    data = registry_csv(DIY_ROWS)
    settings.landing_store.write_bytes(KEY, data)
    return hashlib.sha256(data).hexdigest()


def statuses(settings: Settings, sha256: str) -> list[str]:
    return [entry.status for entry in Ledger(settings.lake_store).history(sha256)]


def test_of_many_takers_computing_the_same_attempt_exactly_one_wins(settings: Settings) -> None:
    sha256 = land(settings)
    ledger = Ledger(settings.lake_store)
    claims = Claims(settings.lake_store, ledger, lease=timedelta(hours=1))
    position = ledger.position("registry", sha256)

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(
            pool.map(lambda n: claims.take("registry", sha256, f"run-{n}", position), range(8))
        )

    assert sum(isinstance(result, Taken) for result in results) == 1


def test_a_second_worker_leaves_a_file_another_is_ingesting_and_nothing_is_written_twice(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    sha256 = land(settings)
    registry = FEEDS["registry"]
    first_is_processing, second_is_done = threading.Event(), threading.Event()

    def slow(context: FeedContext, landed: LandedFile) -> FeedResult:
        first_is_processing.set()
        assert second_is_done.wait(60)
        return registry.process(context, landed)

    monkeypatch.setitem(
        FEEDS, "registry", dataclasses.replace(registry, process=slow, prepare=None)
    )
    with ThreadPoolExecutor(max_workers=1) as pool:
        first = pool.submit(Ingestor(settings, "run-first").run)
        assert first_is_processing.wait(60)
        [second] = Ingestor(settings, "run-second").run().outcomes
        second_is_done.set()
        [winner] = first.result().outcomes

    assert winner.status == "ingested"
    assert second.status == "skipped" and "being ingested by run run-first" in second.message
    [after] = Ingestor(settings, "run-third").run().outcomes
    assert after.status == "skipped"
    assert statuses(settings, sha256) == ["ingested"]
    assert len(settings.lake_store.list("clean/registry_sentra/")) == 1


KILLED_WORKER = """
import dataclasses, sys, time
from pipelines.feeds.catalog import FEEDS
from pipelines.ingest.engine import Ingestor
from pipelines.platform.settings import Settings

registry = FEEDS["registry"]

def hang(context, landed):
    print("processing", flush=True)
    time.sleep(600)

FEEDS["registry"] = dataclasses.replace(registry, process=hang, prepare=None)
Ingestor(Settings(), sys.argv[1]).run()
"""


def kill_mid_ingest(settings: Settings, run_id: str) -> None:
    """Run an ingest in a worker process and ``kill -9`` it while it processes the file."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SENTRA_")}
    env |= {
        "SENTRA_LANDING": settings.landing,
        "SENTRA_LAKE": settings.lake,
        "SENTRA_ALLOW_DEMO_SALT": "true",
        "PYTHONPATH": str(PROJECT_ROOT),
    }
    worker = subprocess.Popen(
        [sys.executable, "-c", KILLED_WORKER, run_id],
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert worker.stdout is not None
    assert worker.stdout.readline().strip() == "processing"
    worker.send_signal(signal.SIGKILL)
    worker.wait(30)


def test_a_worker_killed_mid_ingest_loses_nothing_its_retry_takes_over(settings: Settings) -> None:
    sha256 = land(settings)
    kill_mid_ingest(settings, "run-killed")

    [other] = Ingestor(settings, "run-other").run().outcomes
    assert other.status == "skipped" and "run-killed" in other.message  # within the lease
    [retry] = Ingestor(settings, "run-killed").run().outcomes  # Airflow retries the same run

    assert retry.status == "ingested"
    assert statuses(settings, sha256) == ["ingested"]
    assert settings.lake_store.exists(f"clean/registry_sentra/{sha256}.parquet")


def test_after_the_lease_another_run_records_the_lost_attempt_and_ingests(
    settings: Settings,
) -> None:
    sha256 = land(settings)
    kill_mid_ingest(settings, "run-killed")
    short_lease = settings.model_copy(update={"claim_lease_seconds": 0.01})

    [outcome] = Ingestor(short_lease, "run-next").run().outcomes

    assert outcome.status == "ingested"
    history = Ledger(settings.lake_store).history(sha256)
    assert [entry.status for entry in history] == ["failed", "ingested"]
    abandoned = Ledger(settings.lake_store).read(history[0])
    assert abandoned.run_id == "run-killed" and (abandoned.error or "").startswith("abandoned")
