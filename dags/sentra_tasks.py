"""Task bodies of the Sentra DAGs: thin glue between Airflow's context and ``pipelines``.

Imported inside tasks only, never while the DAG processor parses a file, so it may import
whatever ``pipelines`` needs. Everything returned is plain JSON: it travels as XCom and as asset
event extras, which the Airflow UI shows without anyone opening a log. Listed in
``.airflowignore``: no DAG here.
"""

from __future__ import annotations

import importlib
import logging
import re
from collections import Counter
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from airflow.sdk.exceptions import AirflowFailException, AirflowSkipException
from sentra_common import run_link, send_alert, settings

if TYPE_CHECKING:
    from collections.abc import Callable

    from airflow.sdk import Context

    from pipelines.ingest import FileOutcome, Ingestor, IngestSummary
    from pipelines.settings import Settings

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
            from pipelines.watch import keys_from_s3_messages

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
    from pipelines.watch import LandingWatch

    triggering_events(context)
    config = settings()
    first_key: dict[str, str] = {}
    for item in LandingWatch(config.landing_store, config.lake_store, source).unsettled():
        first_key.setdefault(item.sha256, item.key)
    keys = list(first_key.values())
    log.info("%d unsettled %s file(s): %s", len(keys), source, keys)
    return keys


def ingest_key(source: str, key: str, context: Context) -> dict[str, Any]:
    """Ingest one landed file: one mapped task instance, so files run on several workers at once.

    ``Ingestor.run`` reads the ledger again first: content settled since the listing (by another
    run) is reported as skipped, not ingested twice.
    """
    return run_ingestor(source, context, lambda ingestor: ingestor.run([key]))


def merge_summaries(
    source: str, summaries: list[dict[str, Any]], context: Context
) -> dict[str, Any]:
    """The run's summary from its mapped ingests' (none when nothing was unsettled)."""
    files = [item for summary in summaries for item in summary["files"]]
    return files_summary(source, ledger_run_id(context), files)


def pull_bps(context: Context) -> dict[str, Any]:
    """Pull every configured BPS table; a release whose bytes are known is skipped."""
    bps = optional_module("bps", "the BPS pull")
    if not getattr(settings(), "bps_api_key", None):
        # A missing key is configuration, not an outage: retrying or alerting daily won't help.
        raise AirflowSkipException(
            "SENTRA_BPS_API_KEY is not set, so BPS is not polled; set it to pull releases "
            "(responses landed under bps/ are still ingested by sentra_ingest_bps)"
        )
    summary: dict[str, Any] = run_ingestor("bps", context, bps.pull)
    return summary


def run_ingestor(
    source: str, context: Context, work: Callable[[Ingestor], IngestSummary]
) -> dict[str, Any]:
    """One ledger run: do ``work``, send the data alerts, return the summary as plain JSON."""
    from pipelines.ingest import Ingestor

    config = settings()
    summary = work(Ingestor(config, ledger_run_id(context)))
    alert_data_problems(summary, config, context)
    return summary_dict(source, summary)


def replay_files(sha256s: list[str], keys: list[str], context: Context) -> dict[str, Any]:
    """Ingest received files again even though settled (after fixing a suite or reference).

    By sha256 (or a unique prefix) from the raw copy in the lake (``Ingestor.replay``), so the
    landed file may be long gone; by landing key from the landing store as it is now.
    """
    from pipelines.ingest import IngestSummary

    def replay(ingestor: Ingestor) -> IngestSummary:
        summary = IngestSummary(run_id=ingestor.run_id)
        try:
            summary.outcomes += [ingestor.replay(sha256) for sha256 in sha256s]
        except LookupError as error:
            raise AirflowFailException(f"{error}; `sentra status` lists the files") from None
        for obj in ingestor.landed_objects(keys) if keys else []:
            # An empty "settled" set is what makes this a replay rather than a no-op.
            summary.outcomes.append(ingestor.fetch_and_ingest(obj, settled=set()))
        return summary

    return run_ingestor("reprocess", context, replay)


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


def summary_dict(source: str, summary: IngestSummary) -> dict[str, Any]:
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
    bad = [item for item in summary["files"] if item["status"] in ("quarantined", "failed")]
    if bad:
        lines = [f"{item['status']}: {item['key']} - {item['message']}" for item in bad]
        raise AlertedFailure(
            f"{len(bad)} file(s) not published:\n"
            + "\n".join(lines)
            + "\nQuarantined: read the report, fix the file and land it again (or fix the suite "
            "and replay it with the sentra_reprocess DAG). Failed: retried on the next ingest."
        )


def alert_data_problems(summary: IngestSummary, config: Settings, context: Context) -> None:
    """Detailed alerts (checks, samples, what was not published) from ``pipelines.alerts``."""
    try:
        from pipelines.alerts import alerts_for_ingest, deliver
    except ImportError:
        for outcome in summary.outcomes:
            if outcome.status in ("quarantined", "failed"):
                log.warning("ALERT %s %s: %s", outcome.status, outcome.key, outcome.message)
        return
    link = run_link(context)
    alerts = [
        replace(alert, body=f"{alert.body}\n\nAirflow: {link}")
        for alert in alerts_for_ingest(summary, config)
    ]
    deliver(alerts, config.alert_urls)


# -- marts -------------------------------------------------------------------------------------


def build_marts(context: Context, force: bool = False) -> dict[str, Any]:
    """Build and publish the marts; a no-op when inputs, SQL and settings are unchanged."""
    from pipelines.marts import MartsCheckError, build_and_publish

    events = triggering_events(context)
    try:
        result = build_and_publish(settings(), ledger_run_id(context), force=force)
    except MartsCheckError as error:
        raise AirflowFailException(
            f"marts not published: {error}. The previous version keeps serving."
        ) from error
    log.info("%s", result.message)
    return {
        "published": result.published,
        "message": result.message,
        "version": result.record.version,
        "published_at": result.record.published_at,
        "input_files": len(result.record.input_sha256s),
        "row_counts": result.record.row_counts,
        "warehouse": str(result.warehouse),
        "triggered_by": events[:MAX_FILES_IN_EVENT],
    }


def marts_extra(result: dict[str, Any]) -> dict[str, Any]:
    if not result["published"]:
        raise AirflowSkipException(f"{result['message']}: no new marts version to announce")
    return {key: result[key] for key in ("version", "published_at", "input_files", "row_counts")}


# -- optional modules other feeds and checks provide ---------------------------------------------


def optional_module(name: str, purpose: str) -> Any:
    """``pipelines.<name>`` if it exists yet; otherwise skip the task saying what is missing."""
    try:
        return importlib.import_module(f"pipelines.{name}")
    except ModuleNotFoundError as error:
        if error.name != f"pipelines.{name}":
            raise  # the module exists but something it needs is missing: a real error
        raise AirflowSkipException(
            f"pipelines.{name} is not installed yet, so {purpose} cannot run; this DAG skips "
            "until it is (nothing is wrong with the other feeds)"
        ) from None


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
    freshness = optional_module("freshness", "the freshness watchdog")
    report = freshness.check_freshness(settings())
    counts = {source: {"fresh": f, "overdue": o} for source, (f, o) in report.summary().items()}
    log.info("freshness per source: %s", counts)
    alert = report.alert()
    if alert is not None:
        send_alert(alert.severity, alert.title, f"{alert.body}\n\nAirflow: {run_link(context)}")
        raise AlertedFailure(f"{alert.title}:\n{alert.body}")
    return counts
