"""Freshness contracts: which sources, provinces and shops have gone quiet for too long.

Each source's contract (``freshness_days`` in ``pipelines/config/quality.yaml``) applies per scope:
a registry per province (every Kemendagri province is expected, so one that never sent a registry
is overdue too), a marketplace export per shop (``marketplace/<marketplace>/<seller>/``), and any
other source as a whole. Only files that were ingested count: a quarantined file is not fresh data.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from pipelines.feeds.catalog import FEEDS
from pipelines.lake.ledger import Ledger, LedgerRecord
from pipelines.platform.notify import Alert
from pipelines.quality.policy import load_policy
from pipelines.reference.regions import load_regions

if TYPE_CHECKING:
    from pipelines.feeds.contract import Feed
    from pipelines.platform.settings import Settings

LISTED_PER_SOURCE = 12


@dataclass(frozen=True)
class ScopeFreshness:
    source: str
    scope: str
    last_landed_at: datetime | None
    limit_days: int
    now: datetime
    label: str = ""

    @property
    def age_days(self) -> float | None:
        if self.last_landed_at is None:
            return None
        return (self.now - self.last_landed_at).total_seconds() / 86400

    @property
    def overdue(self) -> bool:
        age = self.age_days
        return age is None or age > self.limit_days

    def describe(self) -> str:
        if self.last_landed_at is None:
            return (
                f"{self.source} {self.label}: never received "
                f"(expected every {self.limit_days} days)"
            )
        return (
            f"{self.source} {self.label}: last file {self.age_days:.0f} days ago "
            f"({self.last_landed_at:%Y-%m-%d}), limit {self.limit_days} days"
        )


@dataclass
class FreshnessReport:
    checked_at: datetime
    scopes: list[ScopeFreshness] = field(default_factory=list)

    @property
    def overdue(self) -> list[ScopeFreshness]:
        return [scope for scope in self.scopes if scope.overdue]

    def summary(self) -> dict[str, tuple[int, int]]:
        """(fresh, overdue) scope counts per source."""
        counts: dict[str, tuple[int, int]] = {}
        for scope in self.scopes:
            fresh, overdue = counts.get(scope.source, (0, 0))
            counts[scope.source] = (fresh + (not scope.overdue), overdue + scope.overdue)
        return counts

    def alert(self) -> Alert | None:
        overdue = self.overdue
        if not overdue:
            return None
        lines = [f"Checked {self.checked_at:%Y-%m-%d %H:%M} UTC. Overdue feeds:"]
        for source in sorted({scope.source for scope in overdue}):
            # Feeds that went quiet matter more than ones never set up; list them first.
            late = sorted(
                (scope for scope in overdue if scope.source == source),
                key=lambda scope: (scope.last_landed_at is None, scope.scope),
            )
            lines += [f"  - {scope.describe()}" for scope in late[:LISTED_PER_SOURCE]]
            if len(late) > LISTED_PER_SOURCE:
                lines.append(f"  - ... and {len(late) - LISTED_PER_SOURCE} more {source} scopes")
        lines += [
            "",
            "The marts keep serving the latest data received; rankings that depend on "
            "an overdue feed may be out of date. `sentra status` shows the full list.",
        ]
        return Alert("warning", f"{len(overdue)} feed scopes overdue", "\n".join(lines))


def check_freshness(settings: Settings, now: datetime | None = None) -> FreshnessReport:
    now = now or datetime.now(UTC)
    policy = load_policy(settings.quality_policy)
    records = [r for r in Ledger(settings.lake_store).latest_records() if r.status == "ingested"]
    provinces = load_regions().provinces
    report = FreshnessReport(checked_at=now)
    for source, feed in FEEDS.items():
        limit = policy.for_source(source).freshness_days
        latest = latest_per_scope(feed, [r for r in records if r.source == source])
        for scope in sorted(set(feed.expected_scopes()) | set(latest)):
            label = f"{scope} ({provinces[scope].name})" if scope in provinces else scope
            report.scopes.append(
                ScopeFreshness(source, scope, latest.get(scope), limit, now, label)
            )
    return report


def latest_per_scope(feed: Feed, records: list[LedgerRecord]) -> dict[str, datetime]:
    latest: dict[str, datetime] = {}
    for record in records:
        landed = datetime.fromisoformat(record.landed_at)
        for scope in feed.freshness_scopes(record):
            if scope not in latest or landed > latest[scope]:
                latest[scope] = landed
    return latest
