"""What readers of the lake see, and the lake's state modulo run ids and clocks."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

from pipelines.lake.ledger import Ledger
from pipelines.marts.publish import clean_inputs
from pipelines.platform.settings import Settings
from pipelines.platform.storage import Storage
from tests.clean_parquet import read_parquet
from tests.reliability.faults import generic, run_free
from tests.reliability.scenarios import CLOCK_COLUMNS, without_clocks


def assert_nothing_half_visible(settings: Settings) -> None:
    """Every object is whole, and what the ledger commits (and only that) is there in full."""
    lake = settings.lake_store
    for obj in lake.list():
        assert_whole(lake, obj.key)
    ledger = Ledger(lake)
    records = ledger.latest_records()
    for record in records:
        if record.status == "failed":
            continue  # retried by the next ingest: it promises nothing
        assert record.raw_key is not None and lake.exists(record.raw_key), record
        if record.status == "ingested" and len(record.outputs) == 1:
            [output] = record.outputs
            assert read_parquet(lake, [output]).num_rows == record.rows_valid, record
        if record.status == "quarantined":
            assert record.report_key is not None and lake.exists(record.report_key), record
    committed = {key for record in records if record.status == "ingested" for key in record.outputs}
    for keys in clean_inputs(settings)[0].values():
        assert set(keys) <= committed, "a clean file without its ingested record is read"


def assert_whole(lake: Storage, key: str) -> None:
    if key.endswith(".json"):
        json.loads(lake.read_bytes(key))
    elif key.endswith(".parquet"):
        read_parquet(lake, [key])


def lake_state(settings: Settings) -> dict[str, Any]:
    """The lake as the next steps read it: its listing, latest ledger records and clean rows.

    Failed ledger records and claims are the history of attempts, not state: a run that failed
    leaves them, as it should, and the file's latest record is what counts.
    """
    lake = settings.lake_store
    keys = {
        generic(obj.key)
        for obj in lake.list()
        if not obj.key.startswith("claims/") and "_failed_" not in obj.key
    }
    records = {
        generic(record.original_name): run_free(
            {
                name: value
                for name, value in dataclasses.asdict(record).items()
                if name not in ("run_id", *CLOCK_COLUMNS)
            }
        )
        for record in Ledger(lake).latest_records()
    }
    clean = {
        generic(key): without_clocks(read_parquet(lake, [key])).to_pylist()
        for keys in clean_inputs(settings)[0].values()
        for key in keys
    }
    raw = {obj.key: lake.read_bytes(obj.key) for obj in lake.list("raw/")}
    return {"keys": sorted(keys), "records": records, "clean": clean, "raw": raw}
