"""What the data alerts of an ingest say, in our own words.

An alert says which source and file (name and sha256), which checks failed with counts and sample
values, the severity, what was quarantined, what was *not* published (the marts keep serving the
previous version, with its date) and how to replay. Delivery is ``pipelines.platform.notify``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pipelines.lake.publications import latest_publish
from pipelines.platform.notify import Alert
from pipelines.platform.storage import StorageError

if TYPE_CHECKING:
    from pipelines.ingest.engine import FileOutcome, IngestSummary
    from pipelines.lake.publications import PublishRecord
    from pipelines.platform.settings import Settings
    from pipelines.quality.quarantine import QuarantineReport
    from pipelines.quality.validation import CheckResult

SAMPLES_PER_CHECK = 3


def alerts_for_ingest(summary: IngestSummary, settings: Settings) -> list[Alert]:
    """One alert per file that was quarantined, failed, lost rows or published with warnings."""
    try:
        serving = latest_publish(settings.lake_store)
    except StorageError:  # the lake being down may be what the alerts are about
        serving = None
    alerts = [alert_for_outcome(outcome, serving) for outcome in summary.outcomes]
    return [alert for alert in alerts if alert is not None]


def alert_for_outcome(outcome: FileOutcome, serving: PublishRecord | None) -> Alert | None:
    if outcome.status == "parked":
        return Alert(
            "critical",
            f"{outcome.source or 'feed'} file parked, {outcome.attempt} failures: {outcome.key}",
            "\n".join([*identity(outcome), "", outcome.message, "", serving_line(serving)]),
        )
    if outcome.status == "failed" and outcome.attempt <= 1:
        # Retried by the next ingest; said once, and again only if it ends up parked.
        return Alert(
            "warning",
            f"{outcome.source or 'feed'} file failed, will be retried: {outcome.key}",
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


def check_line(check: CheckResult) -> str:
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
        return "Marts: no published version found (none yet, or the lake could not be read)."
    return (
        f"Marts: still serving version {serving.version}, published {serving.published_at}; "
        "it does not include what was rejected here."
    )
