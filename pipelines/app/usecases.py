"""What the pipeline does, once: the use cases the ``sentra`` CLI and the Airflow tasks both run.

Each use case takes the settings and a run id, does the work, writes its alerts in our own words,
delivers them to the configured channels and returns what happened. The caller only decides how
to show it (a terminal table, an XCom) and may add a line to every alert (e.g. a link to the
Airflow log).
"""

from __future__ import annotations

import dataclasses
import logging
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

from pipelines.feeds.bps.pull import pulled_releases
from pipelines.ingest.alerts import alerts_for_ingest
from pipelines.ingest.engine import Ingestor, IngestSummary
from pipelines.ingest.freshness import FreshnessReport, check_freshness
from pipelines.lake import layout
from pipelines.lake.ledger import Ledger
from pipelines.marts.publish import BuildResult, build_and_publish, clean_inputs, parquet_dir
from pipelines.marts.release import DATABASE, PARQUET, version_prefix
from pipelines.platform.notify import Alert, Delivery, deliver
from pipelines.report.site import publish_report, report_location, report_published

if TYPE_CHECKING:
    from pipelines.feeds.contract import ProgressCallback
    from pipelines.platform.settings import Settings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Alerted:
    """Alerts raised by a use case and what became of each delivery."""

    alerts: list[Alert] = field(default_factory=list)
    deliveries: list[Delivery] = field(default_factory=list)

    @property
    def undelivered(self) -> list[Delivery]:
        return [delivery for delivery in self.deliveries if not delivery.delivered]


@dataclass(frozen=True)
class IngestRun:
    summary: IngestSummary
    alerted: Alerted


@dataclass(frozen=True)
class DataFlow:
    """What a run read and wrote, as URIs (absolute paths or ``s3://``): its data lineage."""

    inputs: list[str] = field(default_factory=list)
    outputs: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class FreshnessRun:
    report: FreshnessReport
    alerted: Alerted


def ingest(
    settings: Settings,
    run_id: str | None,
    keys: Sequence[str] | None = None,
    *,
    progress: ProgressCallback | None = None,
    alert_footer: str = "",
) -> IngestRun:
    """Ingest every landed file the ledger has not settled (or the landing keys given)."""
    settings.refuse_demo_salt()
    ingestor = Ingestor(settings, run_id)
    return alert_ingest(settings, ingestor.run(keys, progress), alert_footer)


def pull_bps(
    settings: Settings,
    run_id: str | None,
    *,
    progress: ProgressCallback | None = None,
    alert_footer: str = "",
) -> IngestRun:
    """Pull every configured BPS table from the Web API and ingest each answer."""
    settings.refuse_demo_salt()
    ingestor = Ingestor(settings, run_id)
    summary = ingestor.ingest_pulled(pulled_releases(settings, progress))
    return alert_ingest(settings, summary, alert_footer)


def replay(
    settings: Settings,
    run_id: str | None,
    sha256s: Sequence[str] = (),
    keys: Sequence[str] = (),
    *,
    alert_footer: str = "",
) -> IngestRun:
    """Ingest received files again though settled (after fixing a suite or reference data).

    By sha256 (or a unique prefix) from the raw copy in the lake, so the landed file may be long
    gone; by landing key from the landing store as it is now. The ledger keeps both outcomes.
    """
    settings.refuse_demo_salt()
    ingestor = Ingestor(settings, run_id)
    summary = IngestSummary(run_id=ingestor.run_id)
    summary.outcomes += [ingestor.replay(sha256) for sha256 in sha256s]
    for obj in ingestor.landed_objects(keys) if keys else []:
        summary.outcomes.append(ingestor.fetch_and_ingest(obj, settled=set(), replay=True))
    return alert_ingest(settings, summary, alert_footer)


@dataclass(frozen=True)
class MartsBuild(BuildResult):
    report: str | None = None
    """Where the report of the published version opens (docs/report.md); None without one."""


def build(
    settings: Settings, run_id: str, force: bool = False, with_report: bool = True
) -> MartsBuild:
    """Build the marts and publish them with their report; a no-op when inputs, SQL and settings
    are unchanged (the report is then written only if that version lacks one).

    ``with_report=False`` leaves the report to ``write_report`` in a step of its own (the
    Airflow marts DAG, so the marts are announced without waiting for it)."""
    result = build_and_publish(settings, run_id, force=force)
    report = write_report(settings, result.record.version) if with_report else None
    return MartsBuild(**vars(result), report=report)


def write_report(settings: Settings, version: str) -> str | None:
    """Write the report of published marts ``version`` unless it has one; where it opens.

    A report that fails is logged, never raised: the marts are published already, and the next
    build (or this step again) writes the missing report. None when there is none.
    """
    if not report_published(settings, version):
        try:
            with published_marts(settings, version) as database:
                publish_report(settings, database)
        except Exception:
            log.exception("report of marts version %s not written", version)
    return report_location(settings, version) if report_published(settings, version) else None


@contextmanager
def published_marts(settings: Settings, version: str) -> Iterator[Path]:
    """The DuckDB file of published marts ``version`` on this machine.

    Local warehouse: the published file. S3: that version's file, downloaded, as this step may
    run on another worker than the build that published it.
    """
    if not settings.warehouse_on_s3:
        yield settings.warehouse_path
        return
    with tempfile.TemporaryDirectory(prefix="sentra-report-marts-") as folder:
        database = Path(folder) / DATABASE
        settings.warehouse_store.download_file(f"{version_prefix(version)}/{DATABASE}", database)
        yield database


def ingest_flow(settings: Settings, summary: IngestSummary) -> DataFlow:
    """The landed files an ingest read and the clean datasets (``clean/<dataset>``) it wrote.

    A file counts as read when this run settled it (ingested or quarantined); what it wrote is
    what the ledger recorded for it in this run.
    """
    ledger = Ledger(settings.lake_store)
    inputs: list[str] = []
    datasets: list[str] = []
    for outcome in summary.outcomes:
        if outcome.status not in ("ingested", "quarantined"):
            continue
        inputs.append(settings.landing_store.uri_for(outcome.key))
        for entry in ledger.file_entries(outcome.source, outcome.sha256):
            if entry.key.endswith(f"_{summary.run_id}.json") and entry.status == "ingested":
                # Outputs are clean/<dataset>/<sha256>.parquet: the file's part of its dataset.
                datasets += [PurePosixPath(key).parent.name for key in ledger.read(entry).outputs]
    return DataFlow(inputs, [clean_dataset_uri(settings, name) for name in dict.fromkeys(datasets)])


def build_flow(settings: Settings, result: BuildResult) -> DataFlow:
    """The clean datasets a published marts version was built from, and what it published.

    Published: the DuckDB file and each mart's Parquet export (for an S3 warehouse, the
    version's copies). A build that published nothing moved no data.
    """
    if not result.published:
        return DataFlow()
    inputs = [
        clean_dataset_uri(settings, dataset)
        for dataset, keys in clean_inputs(settings)[0].items()
        if keys
    ]
    tables = sorted(result.record.row_counts)
    if settings.warehouse_on_s3:
        store, prefix = settings.warehouse_store, version_prefix(result.record.version)
        database = store.uri_for(f"{prefix}/{DATABASE}")
        exports = [store.uri_for(f"{prefix}/{PARQUET}/{table}.parquet") for table in tables]
    else:
        database = str(settings.warehouse_path.resolve())
        folder = parquet_dir(settings).resolve()
        exports = [str(folder / f"{table}.parquet") for table in tables]
    return DataFlow(inputs, [database, *exports])


def clean_dataset_uri(settings: Settings, dataset: str) -> str:
    """One clean dataset as a whole: the folder holding a Parquet file per received file."""
    return settings.lake_store.uri_for(layout.clean_prefix(dataset).rstrip("/"))


def watch_freshness(settings: Settings, *, alert_footer: str = "") -> FreshnessRun:
    """Check every feed's freshness contract; one alert lists what is overdue."""
    report = check_freshness(settings)
    alert = report.alert()
    alerts = [alert] if alert is not None else []
    return FreshnessRun(report, send(settings, alerts, alert_footer))


def alert_ingest(settings: Settings, summary: IngestSummary, alert_footer: str) -> IngestRun:
    return IngestRun(summary, send(settings, alerts_for_ingest(summary, settings), alert_footer))


def send(settings: Settings, alerts: list[Alert], footer: str = "") -> Alerted:
    """Deliver alerts to the channels in ``SENTRA_ALERT_URLS`` (and the log), with the footer."""
    if footer:
        alerts = [dataclasses.replace(alert, body=f"{alert.body}\n\n{footer}") for alert in alerts]
    return Alerted(alerts, deliver(alerts, settings.alert_urls))
