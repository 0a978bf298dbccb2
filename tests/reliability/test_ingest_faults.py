"""An ingest that dies, or whose store fails, at any of its writes converges on a rerun.

The write points come from recorded uninterrupted ingests of one file each way an ingest ends
(ingested; published without a bad row; quarantined whole), and of two exports validated in one
batch: claim, raw copy, Data Docs page,
clean Parquet, rejected rows, quarantine report, ledger record, Data Docs index. At each one the
run crashes (Airflow then retries the same run) or the store refuses the write (the next ingest,
a new run, tries again); at conditional writes (claims, ledger records) also the write lands but
its reply is lost.
"""

from __future__ import annotations

import functools
import tempfile
from pathlib import Path
from typing import Any

import pytest

from pipelines.ingest.engine import IngestSummary
from pipelines.platform.settings import Settings
from tests.reliability.faults import Crash, Faults, Mode, WritePoint, faulty_stores
from tests.reliability.lake_state import assert_nothing_half_visible, lake_state
from tests.reliability.scenarios import SCENARIOS, fresh_lake, ingest


def ingest_with(faults: Faults, settings: Settings, run_id: str) -> IngestSummary:
    with pytest.MonkeyPatch.context() as monkeypatch, faulty_stores(monkeypatch, faults):
        return ingest(settings, run_id)


@functools.cache
def recorded(scenario: str) -> tuple[list[WritePoint], dict[str, Any]]:
    """The write points and the final state of an uninterrupted ingest."""
    with tempfile.TemporaryDirectory(prefix="sentra-recorded-") as folder:
        settings = fresh_lake(Path(folder), scenario)
        faults = Faults()
        ingest_with(faults, settings, "run-1")
        return faults.seen, lake_state(settings)


def modes_at(point: WritePoint) -> list[Mode]:
    # A lost reply only matters where the write is conditional: elsewhere it is the crash at
    # the next write point, which is tried anyway.
    return (
        ["crash", "error", "lost-reply"]
        if point.operation == "write_if_absent"
        else ["crash", "error"]
    )


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "point" in metafunc.fixturenames:
        # By identity, not number: the recorded order of the conversion worker's raw copies
        # and the main thread's writes varies, and every test process must list the same cases.
        cases = [
            pytest.param(scenario, point, mode, id=f"{scenario}-{point.identity}-{mode}")
            for scenario in SCENARIOS
            for point in sorted(recorded(scenario)[0], key=lambda point: point.identity)
            for mode in modes_at(point)
        ]
        metafunc.parametrize(("scenario", "point", "mode"), cases)


def test_the_recorded_ingests_write_every_kind_of_object() -> None:
    points = [point for scenario in SCENARIOS for point in recorded(scenario)[0]]

    kinds = {point.key.split("/")[0] for point in points}
    assert kinds == {"claims", "raw", "docs", "clean", "quarantine", "ledger"}
    assert any(point.key.endswith("rejected_marketplace_orders.parquet") for point in points)
    statuses = {
        record["status"]
        for scenario in SCENARIOS
        for record in recorded(scenario)[1]["records"].values()
    }
    assert statuses == {"ingested", "quarantined"}


def test_an_ingest_failing_at_any_write_converges_on_the_next_run(
    scenario: str, point: WritePoint, mode: Mode, tmp_path: Path
) -> None:
    settings = fresh_lake(tmp_path, scenario)
    faults = Faults(at_write=point.identity, mode=mode)

    if mode == "crash":
        with pytest.raises(Crash):
            ingest_with(faults, settings, "run-1")
    else:
        outcomes = ingest_with(faults, settings, "run-1").outcomes
        assert {o.status for o in outcomes} <= {"ingested", "quarantined", "failed"}
    assert point.identity in {seen.identity for seen in faults.seen}  # the recorded write
    assert_nothing_half_visible(settings)

    # A crash is retried by Airflow as the same run; a failure by the next ingest, a new run.
    reruns = ingest(settings, "run-1" if mode == "crash" else "run-2").outcomes

    assert {rerun.status for rerun in reruns} <= {"ingested", "quarantined", "skipped"}
    assert_nothing_half_visible(settings)
    assert lake_state(settings) == recorded(scenario)[1]
