"""An event trigger for landing stores that cannot send events: local folders and MinIO.

Airflow's own file triggers delete what they find, and S3-compatible stores on premises often have
no queue to notify. ``LandingStoreTrigger`` lists ``<source>/`` in the landing store every few
seconds and fires an asset event for content the ledger has not settled (see
``pipelines.ingest.watch``). It never writes to, moves or deletes anything in the landing store.

The triggerer imports this module by its class path (``sentra_triggers.LandingStoreTrigger``), so
the dags folder must be on its ``PYTHONPATH`` (``make airflow`` and the compose file set it).
It is listed in ``.airflowignore``: it holds no DAG.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

from airflow.triggers.base import BaseEventTrigger, TriggerEvent


class LandingStoreTrigger(BaseEventTrigger):
    """Fires when ``<landing>/<source>/`` holds content the ledger in ``<lake>`` has not settled.

    The stores are given as URIs (a folder or ``s3://bucket/prefix``) rather than read from the
    triggerer's environment, so the watcher looks exactly where the DAG that declared it was told
    to look. S3 credentials and endpoint still come from the standard ``AWS_*`` variables.
    """

    def __init__(
        self,
        *,
        source: str,
        landing: str,
        lake: str,
        poll_interval: float = 5.0,
        reannounce_after: float = 900.0,
    ) -> None:
        super().__init__()
        self.source = source
        self.landing = landing
        self.lake = lake
        self.poll_interval = poll_interval
        self.reannounce_after = reannounce_after

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (
            f"{type(self).__module__}.{type(self).__qualname__}",
            {
                "source": self.source,
                "landing": self.landing,
                "lake": self.lake,
                "poll_interval": self.poll_interval,
                "reannounce_after": self.reannounce_after,
            },
        )

    def open_watch(self) -> Any:
        from pipelines.ingest.watch import LandingWatch
        from pipelines.platform.storage import open_storage

        return LandingWatch(
            open_storage(self.landing),
            open_storage(self.lake),
            self.source,
            reannounce_after=self.reannounce_after,
        )

    async def run(self) -> AsyncIterator[TriggerEvent]:
        # Importing pipelines takes a moment; off the event loop, which other triggers share.
        watch = await asyncio.to_thread(self.open_watch)
        while True:
            try:
                # Listing and hashing block; the triggerer's event loop serves other triggers.
                due = await asyncio.to_thread(watch.due)
            except Exception:
                # A store that is briefly unreachable must not end the watcher for good.
                self.log.exception("listing %s/%s/ failed; retrying", self.landing, self.source)
                due = []
            if due:
                self.log.info("%d unsettled file(s) in %s/%s/", len(due), self.landing, self.source)
                yield TriggerEvent(
                    {
                        "source": self.source,
                        "landing": self.landing,
                        "files": [{"key": f.key, "sha256": f.sha256, "size": f.size} for f in due],
                    }
                )
            await asyncio.sleep(self.poll_interval)
