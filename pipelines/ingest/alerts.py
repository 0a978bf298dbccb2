"""Alerts in our own words, delivered to whatever channels the team configured.

An alert says which source and file (name and sha256), which checks failed with counts and sample
values, the severity, what was quarantined, what was *not* published (the marts keep serving the
previous version, with its date) and how to replay. ``SENTRA_ALERT_URLS`` holds Apprise URLs
(``mailto://``, ``json://``, ``slack://``, ``tgram://``, ``msteams://``, ...); empty means the
console only. Delivery failures are logged and retried and never change the run's own result.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from pipelines.ingest.engine import FileOutcome, IngestSummary
    from pipelines.marts.build import PublishRecord
    from pipelines.platform.settings import Settings
    from pipelines.quality.quarantine import QuarantineReport

log = logging.getLogger(__name__)

Severity = Literal["critical", "warning"]
SAMPLES_PER_CHECK = 3
DELIVERY_ATTEMPTS = 3


@dataclass(frozen=True)
class Alert:
    severity: Severity
    title: str
    body: str

    def text(self) -> str:
        return f"[{self.severity.upper()}] {self.title}\n\n{self.body}"


@dataclass(frozen=True)
class Delivery:
    """The outcome of delivering one alert to one configured channel."""

    channel: str
    delivered: bool
    attempts: int


def alerts_for_ingest(summary: IngestSummary, settings: Settings) -> list[Alert]:
    """One alert per file that was quarantined, failed, lost rows or published with warnings."""
    serving = latest_publish(settings)
    alerts = [alert_for_outcome(outcome, serving) for outcome in summary.outcomes]
    return [alert for alert in alerts if alert is not None]


def latest_publish(settings: Settings) -> PublishRecord | None:
    from pipelines.marts.build import published_records

    records = published_records(settings)
    return records[-1] if records else None


def alert_for_outcome(outcome: FileOutcome, serving: PublishRecord | None) -> Alert | None:
    if outcome.status == "failed":
        return Alert(
            "critical",
            f"{outcome.source or 'feed'} file failed: {outcome.key}",
            "\n".join([*identity(outcome), "", outcome.message, "", serving_line(serving)]),
        )
    if outcome.status == "quarantined" and outcome.report is not None:
        return Alert(
            "critical",
            f"{outcome.source} file quarantined: {outcome.key}",
            report_body(outcome, outcome.report, serving),
        )
    if outcome.status == "ingested" and outcome.report is not None:
        return Alert(
            "warning",
            f"{outcome.source} rows quarantined: {outcome.key}",
            report_body(outcome, outcome.report, serving),
        )
    if outcome.status == "ingested" and outcome.warnings:
        lines = [*identity(outcome), "", "Published, with warnings:"]
        lines += [f"  - {warning}" for warning in outcome.warnings]
        return Alert(
            "warning",
            f"{outcome.source} file published with warnings: {outcome.key}",
            "\n".join(lines),
        )
    return None


def identity(outcome: FileOutcome) -> list[str]:
    return [f"Source: {outcome.source}", f"File: {outcome.key}", f"sha256: {outcome.sha256}"]


def report_body(
    outcome: FileOutcome, report: QuarantineReport, serving: PublishRecord | None
) -> str:
    lines = [*identity(outcome), f"Run: {report.run_id}", ""]
    if report.file_error:
        lines += ["The file could not be read:", f"  {report.file_error}", ""]
    lines.append(f"Rows read: {report.rows_in}; rows rejected: {report.rows_rejected}.")
    lines.append(report.consequence())
    if report.failed_checks:
        lines += ["", "Failed checks:"]
        lines += [check_line(check) for check in report.failed_checks]
    if report.cell_problems:
        lines += ["", f"Unreadable cells: {len(report.cell_problems)}, e.g."]
        lines += [
            f"  - {problem.describe()}" for problem in report.cell_problems[:SAMPLES_PER_CHECK]
        ]
    lines += [
        "",
        serving_line(serving),
        "",
        f"Report: {outcome.report_key}",
        *(f"Data Docs: {page}" for page in outcome.data_docs),
        f"Replay after fixing the suite or reference data: sentra replay {outcome.sha256}",
        "Or fix the file and land it again: a corrected file is a new version.",
    ]
    return "\n".join(lines)


def check_line(check: object) -> str:
    from pipelines.quality.validation import CheckResult

    assert isinstance(check, CheckResult)
    rows = "row" if check.unexpected_count == 1 else "rows"
    samples = "; ".join(
        ", ".join(f"{key}={value}" for key, value in row.items() if value is not None)
        for row in check.sample_rows[:SAMPLES_PER_CHECK]
    )
    example = f" (e.g. {samples})" if samples else ""
    return (
        f"  - {check.check} [{check.severity}]: {check.unexpected_count} {rows}"
        f" - {check.description}{example}"
    )


def serving_line(serving: PublishRecord | None) -> str:
    if serving is None:
        return "Marts: nothing has been published yet."
    return (
        f"Marts: still serving version {serving.version}, published {serving.published_at}; "
        "it does not include what was rejected here."
    )


def deliver(
    alerts: list[Alert], urls: str, attempts: int = DELIVERY_ATTEMPTS, backoff_seconds: float = 1.0
) -> list[Delivery]:
    """Send every alert to every configured channel; log (never raise) what could not be sent.

    Each channel is tried on its own, so a broken one neither blocks nor duplicates the others.
    """
    for alert in alerts:
        log.info("alert: %s", alert.text())
    channels = split_urls(urls)
    return [
        send(alert, channel, attempts, backoff_seconds) for alert in alerts for channel in channels
    ]


def split_urls(urls: str) -> list[str]:
    from apprise.utils.parse import parse_urls

    # Apprise's own parser: URLs separated by spaces or commas, commas inside a URL's query kept.
    return [str(url) for url in parse_urls(urls)] if urls.strip() else []  # type: ignore[no-untyped-call]


def send(alert: Alert, channel: str, attempts: int, backoff_seconds: float) -> Delivery:
    import apprise

    notifier = apprise.Apprise()
    if not notifier.add(channel):
        log.error(
            "alert channel %s is not a valid Apprise URL; alert not delivered", redact(channel)
        )
        return Delivery(redact(channel), False, 0)
    notify_type = (
        apprise.NotifyType.FAILURE if alert.severity == "critical" else apprise.NotifyType.WARNING
    )
    for attempt in range(1, attempts + 1):
        try:
            if notifier.notify(title=alert.title, body=alert.body, notify_type=notify_type):
                return Delivery(redact(channel), True, attempt)
        except Exception:  # a broken channel must never break the run
            log.exception("alert delivery to %s raised", redact(channel))
        if attempt < attempts:
            time.sleep(backoff_seconds * 2 ** (attempt - 1))
    log.error(
        "alert %r not delivered to %s after %d attempts", alert.title, redact(channel), attempts
    )
    return Delivery(redact(channel), False, attempts)


def redact(channel: str) -> str:
    """A channel URL without credentials, for logs."""
    from urllib.parse import urlsplit

    parts = urlsplit(channel)
    host = parts.hostname or ""
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}{parts.path}"
