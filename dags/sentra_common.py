"""What the Sentra DAG files share at parse time: assets, default arguments, watchers, alerts.

Every DAG file imports this module while the DAG processor parses it, so it imports only
``airflow.sdk`` and the cheap parts of ``pipelines`` (settings, the feed list). Task bodies live in
``sentra_tasks`` and are imported when a task runs. Listed in ``.airflowignore``: no DAG here.

Assets model the data, one chain per feed:
``sentra.landed.<feed>`` (files in the landing store) -> ``sentra.validated.<feed>`` (clean
Parquet) -> ``sentra.marts`` (the published DuckDB file).
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from functools import reduce
from operator import or_
from typing import TYPE_CHECKING, Any, Literal

from airflow.sdk import Asset, AssetWatcher, BaseNotifier, get_current_context, task

from pipelines.feeds.catalog import FEEDS
from pipelines.platform.settings import Settings

if TYPE_CHECKING:
    from airflow.sdk import Context
    from airflow.sdk.definitions.asset import BaseAsset

log = logging.getLogger(__name__)

OWNER = "sentra-data-engineering"
# Runs are created by events; a start date in the past only marks when the DAGs became valid.
START_DATE = datetime(2026, 1, 1)
ASSET_GROUP = "sentra"

MARTS = Asset(name="sentra.marts", uri="x-sentra://marts/published", group=ASSET_GROUP)


def settings() -> Settings:
    """The one settings object, read from ``SENTRA_*`` (a bad value is a DAG import error)."""
    return Settings()


def landed_asset(source: str) -> Asset:
    """Files landed for one feed, with the watchers the settings choose (identical everywhere)."""
    return Asset(
        name=f"sentra.landed.{source}",
        uri=f"x-sentra://landed/{source}",
        group=ASSET_GROUP,
        watchers=watchers(source, settings()),
    )


def validated_asset(source: str) -> Asset:
    return Asset(
        name=f"sentra.validated.{source}", uri=f"x-sentra://validated/{source}", group=ASSET_GROUP
    )


def any_validated() -> BaseAsset:
    """Any feed's validated Parquet changed: what the marts are rebuilt on."""
    return reduce(or_, (validated_asset(source) for source in FEEDS))


def watchers(source: str, config: Settings) -> list[AssetWatcher]:
    """How Airflow hears about landed files, chosen by ``SENTRA_EVENT_SOURCE``.

    ``sqs``: S3 event notifications through one SQS queue for the whole landing bucket. The same
    trigger (same arguments) serves every feed's asset, so Airflow runs it once and each message
    wakes every feed's ingest, which finds its own new files or nothing.
    ``poll``: our ``LandingStoreTrigger`` lists ``<source>/`` and fires for unsettled content.
    """
    if config.event_source == "sqs":
        from airflow.providers.common.messaging.triggers.msg_queue import MessageQueueTrigger

        trigger: Any = MessageQueueTrigger(
            scheme="sqs",
            sqs_queue=config.sqs_queue_url,
            # Endpoint and credentials from the standard AWS_* variables, like the lake's.
            aws_conn_id=None,
            max_messages=10,
            # Long polling returns as soon as a message arrives; 20 s is SQS's maximum.
            wait_time_seconds=20,
            waiter_delay=1,
        )
        return [AssetWatcher(name="sentra_landing_sqs", trigger=trigger)]
    from sentra_triggers import LandingStoreTrigger

    return [
        AssetWatcher(
            name=f"sentra_landing_poll_{source}",
            trigger=LandingStoreTrigger(
                source=source,
                landing=config.landing_store.uri,
                lake=config.lake_store.uri,
                poll_interval=config.watch_interval_seconds,
            ),
        )
    ]


def default_args(**overrides: Any) -> dict[str, Any]:
    """Owner, retries with exponential backoff, and an alert when a task finally fails."""
    return {
        "owner": OWNER,
        "retries": 3,
        "retry_delay": timedelta(seconds=20),
        "retry_exponential_backoff": 2.0,
        "max_retry_delay": timedelta(minutes=10),
        "on_failure_callback": [SentraAlertNotifier()],
        **overrides,
    }


def tags(*extra: str) -> list[str]:
    return ["sentra", *extra]


def announce(asset: Asset, describe: str, task_id: str) -> Any:
    """A task that records an event on ``asset`` with ``sentra_tasks.<describe>(result)`` as extra.

    ``describe`` raises ``AirflowSkipException`` when nothing changed: a skipped task emits no
    event, so consumers run only for real changes (Airflow has no other way to hold one back).
    """

    @task(task_id=task_id, outlets=[asset], retries=0)
    def announce_asset(result: dict[str, Any]) -> None:
        import sentra_tasks

        extra = getattr(sentra_tasks, describe)(result)
        get_current_context()["outlet_events"][asset].extra = extra

    return announce_asset


class SentraAlertNotifier(BaseNotifier):
    """Sends a failed task to the team's alert channels with a link to its log.

    Data problems (a quarantined file) are alerted in detail by the ingest task itself; this
    covers everything else: errors, retries exhausted, a stale feed, a marts check that failed.
    """

    def __init__(self, severity: Literal["critical", "warning"] = "critical") -> None:
        super().__init__()
        self.severity = severity

    def notify(self, context: Context) -> None:
        from sentra_tasks import alert_task_failure

        alert_task_failure(self.severity, context)


def publish_outcomes(source: str, summary: Any) -> None:
    """After an ingest-like task: announce what was validated, then fail on what was not."""
    announce(validated_asset(source), "validated_extra", "announce_validated")(summary)

    @task(retries=0)
    def check_outcomes(result: dict[str, Any]) -> None:
        from sentra_tasks import raise_on_problems

        raise_on_problems(result)

    check_outcomes(summary)
