"""Ledger records of an S3 lake are read over the network once per host, then from local copies."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest

from pipelines.ingest.engine import Ingestor
from pipelines.lake.ledger import Ledger
from pipelines.platform.settings import Settings
from pipelines.platform.storage import Storage
from tests.registry_files import DIY_ROWS, registry_csv


def counting_reads(store: Storage, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    keys: list[str] = []
    read_bytes = store.read_bytes

    def counted(key: str) -> bytes:
        keys.append(key)
        return read_bytes(key)

    monkeypatch.setattr(store, "read_bytes", counted)
    return keys


@pytest.mark.s3
def test_each_record_is_fetched_once_then_read_from_its_copy(
    s3_settings: Settings, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    host_temp = tmp_path / "host-temp"  # a host of its own: no copies from other tests
    host_temp.mkdir()
    monkeypatch.setattr(tempfile, "gettempdir", lambda: str(host_temp))
    landing, lake = s3_settings.landing_store, s3_settings.lake_store
    fetched = counting_reads(lake, monkeypatch)
    landing.write_bytes("registry/diy.csv", registry_csv(DIY_ROWS))
    Ingestor(s3_settings).run()
    first = Ledger(lake).latest_records()
    landing.write_bytes("registry/diy-2.csv", registry_csv(DIY_ROWS[:-1]))
    Ingestor(s3_settings).run()

    latest = Ledger(lake).latest_records()  # a new Ledger, as the next task process makes

    assert {record.original_name for record in latest} == {"registry/diy.csv", "registry/diy-2.csv"}
    assert first[0] in latest
    records = [key for key in fetched if key.startswith("ledger/")]
    assert len(records) == 2 and len(set(records)) == 2  # each once, over both runs


def test_a_local_lake_keeps_no_copies(tmp_path: Path) -> None:
    assert Ledger(Settings(lake=str(tmp_path / "lake")).lake_store)._copies is None
