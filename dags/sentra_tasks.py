"""Task bodies of the Sentra DAGs: thin glue between Airflow's context and ``pipelines``.

Imported inside tasks only, never while the DAG processor parses a file, so it may import
whatever ``pipelines`` needs. Everything returned is plain JSON: it travels as XCom and as asset
event extras, which the Airflow UI shows without anyone opening a log. Listed in
``.airflowignore``: no DAG here.
"""

from __future__ import annotations

import logging
import re
from collections import Counter
from typing import TYPE_CHECKING, Any

from airflow.sdk.exceptions import AirflowFailException, AirflowSkipException

from pipelines.platform.settings import Settings

if TYPE_CHECKING:
    from airflow.sdk import Context

    from pipelines.app.usecases import DataFlow, IngestRun
    from pipelines.ingest.engine import FileOutcome, IngestSummary
    from pipelines.platform.notify import Severity

log = logging.getLogger(__name__)


class AlertedFailure(AirflowFailException):
    """A failure whose detailed alert was already sent; the generic notifier stays quiet."""

    already_alerted = True


# Asset event extras live in the metadata database: list at most this many files per event.
MAX_FILES_IN_EVENT = 50


def ledger_run_id(context: Context) -> str:
    """The run id the ledger records: the DAG and Airflow run, with only key-safe characters."""
    raw = f"{context['dag'].dag_id}__{context['run_id']}"
    return re.sub(r"[^A-Za-z0-9.-]+", "-", raw).strip("-")


def triggering_events(context: Context) -> list[dict[str, Any]]:
    """Every asset event behind this run (several can collapse into one run), logged one by one."""
    events: list[dict[str, Any]] = []
    accessor = context.get("triggering_asset_events") or {}
    for asset in accessor:
        for event in accessor[asset]:
            described = {
                "asset": asset.name,
                "timestamp": event.timestamp.isoformat(),
                "source_dag_id": event.source_dag_id,
                "source_run_id": event.source_run_id,
                **describe_extra(event.extra or {}),
            }
            log.info("triggered by %s", described)
            events.append(described)
    if not events:
        log.info("no triggering asset events: a manual or scheduled run")
    return events


def describe_extra(extra: dict[str, Any]) -> dict[str, Any]:
    """The part of an event's extra worth keeping: what files it is about."""
    if extra.get("from_trigger"):
        payload = extra.get("payload") or {}
        if "message_batch" in payload:
            from pipelines.ingest.watch import keys_from_s3_messages

            notes = keys_from_s3_messages(payload["message_batch"])
            return {
                "via": "sqs",
                "keys": notes.keys,
                "test_events": notes.test_events,
                "unreadable": notes.unreadable,
            }
        files = payload.get("files") or []
        return {"via": "poll", "keys": [f.get("key") for f in files]}
    # From a DAG or the REST API: all of it but the per-file list, which the sha256s summarise.
    return {key: value for key, value in extra.items() if key != "files"}


# -- ingest ------------------------------------------------------------------------------------


def unsettled_keys(source: str, context: Context) -> list[str]:
    """The landed keys of one feed whose content the ledger has not settled, one key per content.

    Whatever the events said, everything unsettled is listed: events can be lost, duplicated,
    merged or be S3 test messages, and identity is the content's hash, not the message. One key
    per sha256, so two mapped tasks never ingest the same bytes at once.
    """
    from pipelines.ingest.watch import LandingWatch

    triggering_events(context)
    config = Settings()
    first_key: dict[str, str] = {}
    for item in LandingWatch(config.landing_store, config.lake_store, source).unsettled():
        first_key.setdefault(item.sha256, item.key)
    keys = list(first_key.values())
    log.info("%d unsettled %s file(s): %s", len(keys), source, keys)
    return keys


def ingest_key(source: str, key: str, context: Context) -> dict[str, Any]:
    """Ingest one landed file: one mapped task instance, so files run on several workers at once.

    The ingest reads the ledger again first: content settled since the listing (by another run)
    is reported as skipped, not ingested twice.
    """
    from pipelines.app import usecases

    config = Settings()
    run = usecases.ingest(config, ledger_run_id(context), [key], alert_footer=footer(context))
    return {
        **summary_dict(source, run),
        "lineage": flow_dict(usecases.ingest_flow(config, run.summary)),
    }


def merge_summaries(
    source: str, summaries: list[dict[str, Any]], context: Context
) -> dict[str, Any]:
    """The run's summary from its mapped ingests' (none when nothing was unsettled)."""
    files = [item for summary in summaries for item in summary["files"]]
    return files_summary(source, ledger_run_id(context), files)


def pull_bps(context: Context) -> dict[str, Any]:
    """Pull every configured BPS table; a release whose bytes are known is skipped."""
    from pipelines.app import usecases

    config = Settings()
    # compose passes an unset key as an empty string: the same as no key.
    if config.bps_api_key is None or not config.bps_api_key.get_secret_value():
        # A missing key is configuration, not an outage: retrying or alerting daily won't help.
        raise AirflowSkipException(
            "SENTRA_BPS_API_KEY is not set, so BPS is not polled; set it to pull releases "
            "(responses landed under bps/ are still ingested by sentra_ingest_bps)"
        )
    run = usecases.pull_bps(config, ledger_run_id(context), alert_footer=footer(context))
    return summary_dict("bps", run)


def replay_files(sha256s: list[str], keys: list[str], context: Context) -> dict[str, Any]:
    """Ingest received files again even though settled (after fixing a suite or reference)."""
    from pipelines.app import usecases

    try:
        run = usecases.replay(
            Settings(), ledger_run_id(context), sha256s, keys, alert_footer=footer(context)
        )
    except LookupError as error:
        raise AirflowFailException(f"{error}; `sentra status` lists the files") from None
    return summary_dict("reprocess", run)


def flow_dict(flow: DataFlow) -> dict[str, list[str]]:
    """What a task read and wrote, as its result's ``lineage`` entry (see ``sentra_lineage``)."""
    return {"inputs": flow.inputs, "outputs": flow.outputs}


def footer(context: Context) -> str:
    """The line every alert of a task ends with: where its log is."""
    return f"Airflow: {run_link(context)}"


def run_link(context: Context) -> str:
    ti = context.get("ti")
    try:
        return str(ti.log_url) if ti else "(no task instance)"
    except Exception:  # a link is a convenience; never fail an alert over it
        return "(see the Airflow UI)"


def outcome_dict(outcome: FileOutcome) -> dict[str, Any]:
    return {
        "key": outcome.key,
        "sha256": outcome.sha256,
        "status": str(outcome.status),
        "rows_in": outcome.rows_in,
        "rows_valid": outcome.rows_valid,
        "rows_rejected": outcome.rows_rejected,
        "message": outcome.message,
        "report": outcome.report_key,
    }


def summary_dict(source: str, run: IngestRun) -> dict[str, Any]:
    summary: IngestSummary = run.summary
    files = [outcome_dict(outcome) for outcome in summary.outcomes]
    for item in files:
        log.info("%(status)s %(key)s (%(sha256).12s): %(message)s", item)
    return files_summary(source, summary.run_id, files)


def files_summary(source: str, run_id: str, files: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "source": source,
        "run_id": run_id,
        "files": files,
        "statuses": dict(Counter(item["status"] for item in files)),
    }


def validated_extra(summary: dict[str, Any]) -> dict[str, Any]:
    """What the validated-feed event says: which contents were published, with row counts."""
    ingested = [item for item in summary["files"] if item["status"] == "ingested"]
    if not ingested:
        raise AirflowSkipException(
            "no file was ingested in this run (nothing new, or everything was quarantined): "
            "the clean lake did not change, so the marts are not rebuilt"
        )
    return {
        "source": summary["source"],
        "run_id": summary["run_id"],
        "sha256s": [item["sha256"] for item in ingested],
        "rows_in": sum(item["rows_in"] for item in ingested),
        "rows_valid": sum(item["rows_valid"] for item in ingested),
        "rows_rejected": sum(item["rows_rejected"] for item in ingested),
        "statuses": summary["statuses"],
        "files": [
            {k: item[k] for k in ("key", "sha256", "rows_in", "rows_valid", "rows_rejected")}
            for item in ingested[:MAX_FILES_IN_EVENT]
        ],
    }


def raise_on_problems(summary: dict[str, Any]) -> None:
    """Fail the run (red in the UI) when a file was quarantined or failed; alerts went already."""
    problems = ("quarantined", "failed", "parked")
    bad = [item for item in summary["files"] if item["status"] in problems]
    if bad:
        lines = [f"{item['status']}: {item['key']} - {item['message']}" for item in bad]
        raise AlertedFailure(
            f"{len(bad)} file(s) not published:\n"
            + "\n".join(lines)
            + "\nQuarantined: read the report, fix the file and land it again (or fix the suite "
            "and replay it with the sentra_reprocess DAG). Failed: retried on the next ingest. "
            "Parked (failed too often in a row): fix the cause, then replay it."
        )


# -- marts -------------------------------------------------------------------------------------


def build_marts(context: Context, force: bool = False, with_report: bool = True) -> dict[str, Any]:
    """Build and publish the marts; a no-op when inputs, SQL and settings are unchanged.

    ``with_report=False``: the report is left to a task of its own (``write_report``)."""
    from pipelines.app import usecases
    from pipelines.marts.schema import MartsCheckError

    events = triggering_events(context)
    config = Settings()
    try:
        result = usecases.build(
            config, ledger_run_id(context), force=force, with_report=with_report
        )
    except MartsCheckError as error:
        raise AirflowFailException(
            f"marts not published: {error}. The previous version keeps serving."
        ) from error
    log.info("%s%s", result.message, f"; report: {result.report}" if with_report else "")
    return {
        "published": result.published,
        "message": result.message,
        "version": result.record.version,
        "published_at": result.record.published_at,
        "input_files": len(result.record.input_sha256s),
        "row_counts": result.record.row_counts,
        "warehouse": str(result.warehouse),
        "report": result.report,
        "triggered_by": events[:MAX_FILES_IN_EVENT],
        "lineage": flow_dict(usecases.build_flow(config, result)),
    }


def marts_extra(result: dict[str, Any]) -> dict[str, Any]:
    if not result["published"]:
        raise AirflowSkipException(f"{result['message']}: no new marts version to announce")
    return {key: result[key] for key in ("version", "published_at", "input_files", "row_counts")}


def write_report(result: dict[str, Any]) -> dict[str, Any]:
    """Write the report of the marts version a build published (or found current)."""
    from pipelines.app import usecases

    location = usecases.write_report(Settings(), result["version"])
    log.info("report of marts version %s: %s", result["version"], location or "not written")
    return {"version": result["version"], "report": location}


def reprocess(params: dict[str, Any], context: Context) -> dict[str, Any]:
    """Replay files (by sha256 or landing key) and/or rebuild the marts, as one run."""
    sha256s = [sha.strip() for sha in params.get("sha256s") or [] if sha.strip()]
    keys = sorted(set(params.get("landing_keys") or []))
    ingest = replay_files(sha256s, keys, context) if sha256s or keys else None
    changed = bool(ingest and any(f["status"] == "ingested" for f in ingest["files"]))
    marts = None
    if changed or params.get("rebuild_marts"):
        # Built here rather than announced as a validated-feed event, so the marts DAG does not
        # run as well: one replay, one build, one marts event.
        marts = build_marts(context, force=bool(params.get("force_rebuild")))
    return {
        "ingest": ingest,
        "marts": marts or {"published": False, "message": "marts not rebuilt"},
    }


def check_freshness(context: Context) -> dict[str, Any]:
    """Alert (and fail the run) when a feed, province or shop has gone quiet for too long."""
    from pipelines.app import usecases

    run = usecases.watch_freshness(Settings(), alert_footer=footer(context))
    summary = run.report.summary()
    counts = {source: {"fresh": f, "overdue": o} for source, (f, o) in summary.items()}
    log.info("freshness per source: %s", counts)
    if run.alerted.alerts:
        [alert] = run.alerted.alerts
        raise AlertedFailure(f"{alert.title}:\n{alert.body}")
    return counts


def send_alert(severity: Severity, title: str, body: str) -> None:
    """Deliver one alert to the channels in ``SENTRA_ALERT_URLS`` (and the task log)."""
    from pipelines.app import usecases
    from pipelines.platform.notify import Alert

    usecases.send(Settings(), [Alert(severity, title, body)])


def alert_task_failure(severity: Severity, context: Context) -> None:
    """A failed task, to the team's channels with a link to its log (unless alerted already)."""
    if getattr(context.get("exception"), "already_alerted", False):
        log.info("failure already alerted in detail by the task; no generic alert")
        return
    title, body = failure_text(context)
    send_alert(severity, title, body)


def failure_text(context: Context) -> tuple[str, str]:
    ti = context.get("ti")
    dag_run = context.get("dag_run")
    where = f"{ti.dag_id}.{ti.task_id}" if ti else getattr(dag_run, "dag_id", "a Sentra DAG")
    error = context.get("exception")
    lines = [
        f"Run: {getattr(dag_run, 'run_id', '?')}",
        f"Error: {type(error).__name__}: {error}" if error else "Error: see the task log",
        f"Log: {run_link(context)}",
        "",
        "What to do: read the log; fix the cause; clear the task to rerun it. Files are never "
        "lost: the ledger retries failed files on the next ingest, and the marts keep serving "
        "the last good version.",
    ]
    return f"Sentra: {where} failed", "\n".join(lines)
