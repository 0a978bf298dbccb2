"""Poll the BPS Web API on a clock (BPS publishes on a calendar, it sends no events)."""

from __future__ import annotations

from typing import Any

from airflow.sdk import dag, get_current_context, task
from sentra_common import START_DATE, default_args, publish_outcomes, tags


@dag(
    dag_id="sentra_bps_pull",
    # 02:00 UTC is 09:00 in Jakarta, after BPS's morning releases; a release waits at most a day.
    schedule="0 2 * * *",
    start_date=START_DATE,
    catchup=False,
    max_active_runs=1,
    tags=tags("ingest", "bps", "poll"),
    default_args=default_args(),
    doc_md="""
### Pull BPS releases

**Runs** daily at 02:00 UTC (09:00 WIB); trigger it by hand after BPS announces a release.

**Does** fetch every table and domain listed in `pipelines/config/bps_tables.yaml` from the BPS
Web API (`SENTRA_BPS_API_URL`, `SENTRA_BPS_API_KEY`) and ingest each answer like a landed file
(`pipelines.feeds.bps.feed.pulled_releases`, ingested by `Ingestor.ingest_pulled`). An answer
whose bytes the ledger already holds is skipped, so `announce_validated` records a
`sentra.validated.bps` event - and the marts are rebuilt - only when a release actually changed.
Without `SENTRA_BPS_API_KEY` the pull skips, saying so: that is configuration, not an outage.

**When it fails**: HTTP errors and error answers are `failed` outcomes retried by the next pull;
check the API key and the BPS service status. A quarantined release needs the table config or
the suite fixed, then `sentra_reprocess`.
""",
)
def sentra_bps_pull() -> None:
    @task
    def pull() -> dict[str, Any]:
        from sentra_tasks import pull_bps

        return pull_bps(get_current_context())

    publish_outcomes("bps", pull())


sentra_bps_pull()
