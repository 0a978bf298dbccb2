"""Rebuild and publish the marts whenever any feed's validated Parquet changes."""

from __future__ import annotations

from typing import Any

from airflow.sdk import dag, get_current_context, task
from sentra_common import MARTS, START_DATE, announce, any_validated, default_args, tags
from sentra_lineage import lineage_task


@dag(
    dag_id="sentra_marts",
    schedule=any_validated(),
    start_date=START_DATE,
    catchup=False,
    # Builds publish by atomic rename; one at a time keeps versions in order.
    max_active_runs=1,
    tags=tags("marts"),
    default_args=default_args(),
    doc_md="""
### Build and publish the marts

**Runs when** any `sentra.validated.<feed>` asset gets an event (a feed published clean Parquet).
Several events may arrive as one run: the log lists every triggering event and its sha256s.

**Does** build the DuckDB marts from every ingested file in the clean lake, check them and publish
`SENTRA_WAREHOUSE` by atomic rename. When inputs, SQL and settings are those of the last publish it
does nothing, so a duplicate event costs one fingerprint. `announce_marts` records a
`sentra.marts` event with the version and row counts, and is skipped when nothing was published.
`report` writes the version's HTML report beside the marts (its location is in the task's
summary and log; docs/report.md); it is written once per version, and a failed one is retried by
the next run.

**When it fails**: a failed publish check leaves the previous file serving (the alert says which
check). Other errors retry with backoff. Force a rebuild with `sentra_reprocess`
(`rebuild_marts` + `force_rebuild`).
""",
)
def sentra_marts() -> None:
    # Reports the clean datasets it read and the published marts to OpenLineage.
    @lineage_task()
    def build() -> dict[str, Any]:
        from sentra_tasks import build_marts

        return build_marts(get_current_context(), with_report=False)

    # Beside the announcement, not before it: at national scale the report (a page per sentra)
    # takes longer than the incremental build, and readers of the marts need not wait for it.
    # `result` is an XComArg when the DAG is built and the build's summary when it runs.
    @task
    def report(result: Any) -> dict[str, Any]:
        from sentra_tasks import write_report

        return write_report(result)

    built = build()
    announce(MARTS, "marts_extra", "announce_marts")(built)
    report(built)


sentra_marts()
