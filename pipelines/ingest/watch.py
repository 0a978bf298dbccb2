"""What an event watcher announces: landed content the ledger has not settled yet.

A landing store without a change feed (a folder, or MinIO/S3 without a queue) can only be listed.
Identity is content, so "new" means a sha256 the ledger has not settled, whatever the file is
called. Hashes are cached by (key, size, modified time): a listing repeated every few seconds
reads only what changed. Nothing here imports Airflow; ``dags/sentra_triggers.py`` wraps it.

The S3 half (event notifications through SQS) needs no listing; :func:`keys_from_s3_messages`
only makes those messages readable in the logs. Ingest never depends on message contents: it
ingests every unsettled landed file, so a lost, duplicated or test message changes nothing.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote_plus

from pipelines.feeds.catalog import FEEDS
from pipelines.lake.ledger import Ledger

if TYPE_CHECKING:
    from pipelines.platform.storage import Storage, StoredObject

log = logging.getLogger(__name__)

# A file announced once and still unsettled this much later (its ingest failed, or the run
# that should have taken it was lost) is announced again, so nothing waits for a new file.
REANNOUNCE_AFTER_SECONDS = 900.0


@dataclass(frozen=True)
class UnsettledFile:
    key: str
    sha256: str
    size: int


@dataclass
class LandingWatch:
    """Lists ``<source>/`` in the landing store and reports content the ledger has not settled."""

    landing: Storage
    lake: Storage
    source: str
    reannounce_after: float = REANNOUNCE_AFTER_SECONDS
    _hashes: dict[tuple[str, int, float], str] = field(default_factory=dict)
    _announced: dict[str, float] = field(default_factory=dict)

    def unsettled(self) -> list[UnsettledFile]:
        """Every landed file of this feed whose content is not settled, oldest first."""
        objects = self.landing.list(f"{self.source}/")
        settled = Ledger(self.lake).settled_sha256s(self.source)
        listed = {self._identity(obj) for obj in objects}
        # Forget files that were removed or replaced, so the cache cannot grow without bound.
        for identity in set(self._hashes) - listed:
            del self._hashes[identity]
        found: list[UnsettledFile] = []
        for obj in sorted(objects, key=lambda o: (o.modified, o.key)):
            sha256 = self._sha256(obj)
            if sha256 is not None and sha256 not in settled:
                found.append(UnsettledFile(obj.key, sha256, obj.size))
        return found

    def due(self, now: float | None = None) -> list[UnsettledFile]:
        """Unsettled files not announced yet, or announced so long ago they deserve another go."""
        moment = time.monotonic() if now is None else now
        unsettled = self.unsettled()
        still_open = {item.sha256 for item in unsettled}
        for sha256 in set(self._announced) - still_open:
            del self._announced[sha256]
        due = [
            item
            for item in unsettled
            if moment - self._announced.get(item.sha256, -self.reannounce_after)
            >= self.reannounce_after
        ]
        for item in due:
            self._announced[item.sha256] = moment
        return due

    @staticmethod
    def _identity(obj: StoredObject) -> tuple[str, int, float]:
        return (obj.key, obj.size, obj.modified.timestamp())

    def _sha256(self, obj: StoredObject) -> str | None:
        identity = self._identity(obj)
        if identity not in self._hashes:
            try:
                with self.landing.local_copy(obj.key) as path:
                    self._hashes[identity] = FEEDS[self.source].identity(obj.key, path)
            except FileNotFoundError:  # removed between the listing and the read
                return None
        return self._hashes[identity]


@dataclass(frozen=True)
class S3Notifications:
    """What a batch of SQS messages from S3 event notifications says, for the logs."""

    keys: list[str]
    test_events: int
    unreadable: int


def keys_from_s3_messages(messages: list[dict[str, Any]]) -> S3Notifications:
    """Object keys named by S3 notification messages (URL-decoded, as S3 encodes them).

    S3 sends one ``s3:TestEvent`` when a notification configuration is saved; it names no object.
    """
    keys: list[str] = []
    test_events = unreadable = 0
    for message in messages:
        try:
            body = json.loads(message.get("Body") or "{}")
        except (TypeError, ValueError):
            unreadable += 1
            continue
        if not isinstance(body, dict):
            unreadable += 1
        elif body.get("Event") == "s3:TestEvent":
            test_events += 1
        else:
            for record in body.get("Records") or []:
                key = record.get("s3", {}).get("object", {}).get("key")
                if key:
                    # Object keys arrive form-encoded: "a b+c.csv" is sent as "a+b%2Bc.csv".
                    keys.append(unquote_plus(key))
    return S3Notifications(keys, test_events, unreadable)
