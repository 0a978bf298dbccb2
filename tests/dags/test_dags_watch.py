"""The landing-store watcher: what it announces, what it never touches, and S3 messages."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from pipelines.ingest.watch import LandingWatch, keys_from_s3_messages
from pipelines.lake.ledger import Ledger, LedgerRecord
from pipelines.platform.settings import PROJECT_ROOT
from tests.registry_files import JATIM_MEMBERS, JATIM_SENTRA, registry_xlsx

if TYPE_CHECKING:
    from pipelines.platform.settings import Settings

DAGS = PROJECT_ROOT / "dags"


def watch(settings: Settings, reannounce_after: float = 900) -> LandingWatch:
    return LandingWatch(
        settings.landing_store, settings.lake_store, "registry", reannounce_after=reannounce_after
    )


def settle(settings: Settings, sha256: str) -> None:
    """What a finished ingest leaves behind, without paying for a real one."""
    Ledger(settings.lake_store).append(
        LedgerRecord(
            sha256=sha256,
            source="registry",
            original_name="registry/jatim.xlsx",
            size=1,
            received_at="2026-06-30T00:00:00+00:00",
            landed_at="2026-06-30T00:00:00+00:00",
            status="ingested",
            run_id="test",
        )
    )


def test_new_content_is_announced_once_and_settled_content_never(settings: Settings) -> None:
    landing = settings.landing_store
    # One workbook's bytes: a workbook records when it was written, to the second.
    workbook = registry_xlsx(JATIM_SENTRA, JATIM_MEMBERS)
    landing.write_bytes("registry/jatim.xlsx", workbook)
    watcher = watch(settings)

    (first,) = watcher.due(now=0)
    assert first.key == "registry/jatim.xlsx" and len(first.sha256) == 64
    assert watcher.due(now=1) == []  # announced; its ingest is on the way
    # The same bytes under another name are the same content: nothing new to announce.
    landing.write_bytes("registry/copy.xlsx", workbook)
    assert {f.key for f in watcher.unsettled()} == {"registry/jatim.xlsx", "registry/copy.xlsx"}
    assert watcher.due(now=2) == []

    settle(settings, first.sha256)
    assert watcher.unsettled() == [] and watcher.due(now=3) == []
    assert landing.exists("registry/jatim.xlsx"), "the watcher never deletes landed files"


def test_unsettled_content_is_announced_again_after_a_while(settings: Settings) -> None:
    settings.landing_store.write_bytes("registry/a.xlsx", registry_xlsx(JATIM_SENTRA))
    watcher = watch(settings, reannounce_after=60)
    assert len(watcher.due(now=0)) == 1
    assert watcher.due(now=59) == []
    assert len(watcher.due(now=60)) == 1  # its ingest failed or was lost: try again


def test_other_feeds_and_staging_files_are_not_this_watchers_business(settings: Settings) -> None:
    landing = settings.landing_store
    landing.write_bytes("marketplace/shopee/toko/orders.csv", b"a,b\n1,2\n")
    (Path(landing.uri) / "registry").mkdir(parents=True)
    (Path(landing.uri) / "registry" / ".upload.xlsx.part").write_bytes(b"half a file")
    assert watch(settings).unsettled() == []


def s3_message(body: Any) -> dict[str, Any]:
    return {"MessageId": "m", "ReceiptHandle": "r", "Body": json.dumps(body)}


def test_s3_notifications_name_their_keys_url_decoded_and_test_events_are_counted() -> None:
    record = {
        "eventName": "ObjectCreated:Put",
        "s3": {"object": {"key": "landing/registry/Jawa+Timur+2025%2Brevisi.xlsx"}},
    }
    notes = keys_from_s3_messages(
        [
            s3_message({"Service": "Amazon S3", "Event": "s3:TestEvent", "Bucket": "b"}),
            s3_message({"Records": [record]}),
            {"MessageId": "x", "ReceiptHandle": "y", "Body": "not json"},
        ]
    )
    assert notes.keys == ["landing/registry/Jawa Timur 2025+revisi.xlsx"]
    assert (notes.test_events, notes.unreadable) == (1, 1)


@pytest.fixture
def trigger_module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """``sentra_triggers`` imported with Airflow's home in a temporary folder."""
    monkeypatch.setenv("AIRFLOW_HOME", str(tmp_path / "airflow"))
    monkeypatch.syspath_prepend(str(DAGS))
    import sentra_triggers

    yield sentra_triggers


def test_the_trigger_fires_for_new_content_and_keeps_watching(
    settings: Settings, trigger_module: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    trigger = trigger_module.LandingStoreTrigger(
        source="registry",
        landing=settings.landing_store.uri,
        lake=settings.lake_store.uri,
        poll_interval=0,
    )
    # What the triggerer stores is what it rebuilds the trigger from.
    classpath, kwargs = trigger.serialize()
    assert classpath == "sentra_triggers.LandingStoreTrigger"
    assert trigger_module.LandingStoreTrigger(**kwargs).serialize() == (classpath, kwargs)

    landing = settings.landing_store
    landing.write_bytes("registry/jatim.xlsx", registry_xlsx(JATIM_SENTRA))
    # Every poll the trigger makes, on a clock that stands still (nothing is re-announced);
    # a second file lands after three polls that found nothing new.
    polls: list[list[str]] = []
    listing = LandingWatch.due

    def counted_poll(watch: LandingWatch, now: float | None = None) -> list[Any]:
        if len(polls) == 4:
            landing.write_bytes("registry/jatim-2.xlsx", registry_xlsx(JATIM_SENTRA, JATIM_MEMBERS))
        found = listing(watch, now=0.0)
        polls.append([item.key for item in found])
        return found

    monkeypatch.setattr(LandingWatch, "due", counted_poll)

    async def two_events() -> list[Any]:
        events = trigger.run()
        try:
            return [await asyncio.wait_for(anext(events), timeout=30) for _ in range(2)]
        finally:
            await events.aclose()

    first, second = asyncio.run(two_events())
    assert polls == [["registry/jatim.xlsx"], [], [], [], ["registry/jatim-2.xlsx"]]
    assert first.payload["source"] == second.payload["source"] == "registry"
    assert [f["key"] for f in first.payload["files"]] == ["registry/jatim.xlsx"]
    assert [f["key"] for f in second.payload["files"]] == ["registry/jatim-2.xlsx"]
    assert landing.exists("registry/jatim.xlsx")
