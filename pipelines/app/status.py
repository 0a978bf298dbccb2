"""What the pipeline knows right now: the ledger by source, quarantine, and the published marts."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from pipelines.lake.ledger import Ledger, LedgerRecord
from pipelines.marts.publish import readers_location

if TYPE_CHECKING:
    from pipelines.ingest.freshness import FreshnessReport
    from pipelines.lake.publications import PublishRecord
    from pipelines.platform.settings import Settings


@dataclass
class StatusReport:
    location: str
    """Where readers find the published marts (a local file, or an S3 warehouse's pointer)."""
    by_source: dict[str, Counter[str]] = field(default_factory=dict)
    quarantined: list[LedgerRecord] = field(default_factory=list)
    failed: list[LedgerRecord] = field(default_factory=list)
    parked: list[LedgerRecord] = field(default_factory=list)
    rows_quarantined: list[LedgerRecord] = field(default_factory=list)
    latest_publish: PublishRecord | None = None
    freshness: FreshnessReport | None = None


def collect_status(settings: Settings) -> StatusReport:
    from pipelines.ingest.freshness import check_freshness
    from pipelines.lake.publications import published_records

    ledger = Ledger(settings.lake_store)
    report = StatusReport(location=readers_location(settings))
    counts: dict[str, Counter[str]] = defaultdict(Counter)
    for entry in ledger.latest_entries().values():
        counts[entry.source][entry.status] += 1
        if entry.status in ("quarantined", "failed", "parked"):
            getattr(report, entry.status).append(ledger.read(entry))
        elif (record := ledger.read(entry)).rows_rejected:
            report.rows_quarantined.append(record)
    report.by_source = dict(counts)
    publishes = published_records(settings.lake_store)
    report.latest_publish = publishes[-1] if publishes else None
    report.freshness = check_freshness(settings)
    return report
