"""The freshness watchdog: a feed that never arrives sends no event, so a clock has to look."""

from __future__ import annotations

from typing import Any

from airflow.sdk import dag, get_current_context, task
from sentra_common import START_DATE, default_args, tags


@dag(
    dag_id="sentra_freshness",
    # 01:00 UTC is 08:00 in Jakarta: one reminder a day when staff start, not one an hour.
    schedule="0 1 * * *",
    start_date=START_DATE,
    catchup=False,
    max_active_runs=1,
    tags=tags("watchdog", "freshness"),
    default_args=default_args(),
    doc_md="""
### Freshness watchdog

**Runs** daily at 01:00 UTC (08:00 WIB). Airflow 3 has no SLAs, and deadline alerts only see runs
that exist; a province that stops sending its registry creates no run at all.

**Does** compare, per feed and scope (a province's registry, a marketplace shop), when the last
file was *ingested* with the contract in `pipelines/config/quality.yaml` (`freshness_days`).
Overdue scopes are sent as one alert and the run fails so it shows red; up-to-date feeds leave
it green.

**When it fails**: ask the offices or sellers named in the alert for their files; nothing in the
pipeline needs fixing. An error in the check itself retries and then alerts.
""",
)
def sentra_freshness() -> None:
    @task
    def check() -> dict[str, Any]:
        from sentra_tasks import check_freshness

        return check_freshness(get_current_context())

    check()


sentra_freshness()
