"""One ingest DAG per feed in ``pipelines.feeds.catalog.FEEDS``: a new feed needs no edit here."""

from __future__ import annotations

from typing import Any

# Unused here on purpose: the DAG processor pre-imports a file's top-level ``airflow.*`` imports
# once in its parent (parsing_pre_import_modules), so the SQS watcher's ~1 s of boto imports is
# not paid again at every parse when SENTRA_EVENT_SOURCE=sqs.
import airflow.providers.common.messaging.triggers.msg_queue  # noqa: F401
from airflow.sdk import DAG, dag, get_current_context, task
from sentra_common import (
    START_DATE,
    default_args,
    landed_asset,
    publish_outcomes,
    settings,
    tags,
)
from sentra_lineage import lineage_task

from pipelines.feeds.catalog import FEEDS

DOC = """
### Ingest the `{source}` feed

**Runs when** files land under `{source}/` in the landing store (asset `sentra.landed.{source}`,
fed by the watcher `SENTRA_EVENT_SOURCE` chooses: S3 notifications through SQS, or a listing of
the landing store), or when a producer posts an event for that asset.

**Does** list every landed `{source}` file whose sha256 the ledger has not settled
(`unsettled`), then ingests each in its own mapped `ingest` task instance - on whichever worker
is free, several at once: raw copy, parse, validate, clean Parquet or quarantine, one ledger
record per file. `summarise` gathers their outcomes. Then:

* `announce_validated` records a `sentra.validated.{source}` event (sha256s, rows in / valid /
  rejected, statuses) when something was published; it is *skipped* when nothing was, so the
  marts are not rebuilt for nothing.
* `check_outcomes` fails the run when a file was quarantined or failed. The detailed alert
  (failed checks, sample rows, report path) has already been sent by `ingest`.

**When it fails**: each `ingest` instance retries with backoff (storage hiccups). A *quarantined*
file needs a person: read the report named in the log, fix the file and land it again, or fix the
suite and replay it with `sentra_reprocess`. A *failed* file is retried by the next ingest.
"""


def landed_file(key: str) -> list[str]:
    """What an ingest of ``key`` reads: the file in the landing store (its lineage input)."""
    return [settings().landing_store.uri_for(key)]


def ingest_dag(source: str) -> DAG:
    @dag(
        dag_id=f"sentra_ingest_{source}",
        schedule=[landed_asset(source)],
        start_date=START_DATE,
        catchup=False,
        # One ingest per feed at a time; events arriving meanwhile queue one more run.
        max_active_runs=1,
        tags=tags("ingest", source),
        default_args=default_args(),
        doc_md=DOC.format(source=source),
    )
    def ingest_feed_dag() -> None:
        @task
        def unsettled() -> list[str]:
            from sentra_tasks import unsettled_keys

            return unsettled_keys(source, get_current_context())

        # One mapped task instance per file, so a batch of files is spread over the workers; each
        # reports the landed file it read and the clean datasets it wrote to OpenLineage.
        @lineage_task(map_index_template="{{ landing_key }}", reads=landed_file)
        def ingest(key: str) -> dict[str, Any]:
            from sentra_tasks import ingest_key

            context = get_current_context()
            # Names the instance in the UI: Airflow renders map_index_template with the context,
            # and adding a key to it is its documented way for TaskFlow tasks.
            context["landing_key"] = key  # type: ignore[typeddict-unknown-key]
            return ingest_key(source, key, context)

        # With nothing unsettled `ingest` expands to no instance and is skipped; the summary still
        # runs (empty), so the run ends green and announces nothing.
        # `summaries` is an XComArg when the DAG is built and the instances' results when it runs.
        @task(trigger_rule="none_failed")
        def summarise(summaries: Any) -> dict[str, Any]:
            from sentra_tasks import merge_summaries

            return merge_summaries(source, list(summaries), get_current_context())

        publish_outcomes(source, summarise(ingest.expand(key=unsettled())))

    return ingest_feed_dag()


for _source in FEEDS:
    globals()[f"sentra_ingest_{_source}"] = ingest_dag(_source)
