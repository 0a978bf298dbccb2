"""A ledger answers the rows-per-scope baseline from records it read once, and answers again
after each record it appends (an ingest asks for every file it validates)."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipelines.feeds.contract import ROWS_BY_SCOPE
from pipelines.lake.ledger import Ledger, LedgerRecord
from pipelines.platform.storage import LocalStorage


def ingested(sha256: str, landed_at: str, rows_by_scope: dict[str, int]) -> LedgerRecord:
    return LedgerRecord(
        sha256=sha256,
        source="registry",
        original_name=f"registry/{sha256[:4]}.csv",
        size=1,
        received_at=landed_at,
        landed_at=landed_at,
        status="ingested",
        run_id=f"run-{sha256[:4]}",
        metrics={ROWS_BY_SCOPE: rows_by_scope},
    )


def test_the_baseline_follows_the_ledgers_own_records_and_reads_each_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    lake = LocalStorage(tmp_path / "lake")
    read: list[str] = []
    read_many = lake.read_many
    monkeypatch.setattr(lake, "read_many", lambda keys: read.extend(keys) or read_many(keys))
    ledger = Ledger(lake)
    ledger.append(ingested("a" * 64, "2026-06-01T00:00:00+00:00", {"35": 10, "34": 3}))

    assert ledger.latest_metric("registry", ROWS_BY_SCOPE) == {"35": 10, "34": 3}
    assert ledger.latest_metric("registry", ROWS_BY_SCOPE) == {"35": 10, "34": 3}
    ledger.append(ingested("b" * 64, "2026-07-01T00:00:00+00:00", {"35": 4}))
    assert ledger.latest_metric("registry", ROWS_BY_SCOPE) == {"35": 4, "34": 3}

    assert sorted(read) == sorted(set(read)) and len(read) == 2  # each record read once
