"""The ingestion ledger: one immutable JSON record per event, kept in the lake itself.

Each record is its own object (``ledger/<source>/<sha256>/<received_at>_<status>_<run_id>.json``),
written once and never rewritten, so concurrent writers on S3 never race on a shared object and the
status of every file can be read from a listing alone.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import secrets
import tempfile
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pipelines.platform.storage import StorageError

if TYPE_CHECKING:
    from pipelines.platform.storage import Storage

LedgerStatus = Literal["ingested", "quarantined", "failed", "parked"]
# A settled file is never ingested again unless replayed; a failed one (a crash, a storage error)
# is retried, until it has failed too often in a row and is parked.
SETTLED_STATUSES: frozenset[str] = frozenset({"ingested", "quarantined", "parked"})
LEDGER_PREFIX = "ledger"

log = logging.getLogger(__name__)


def new_run_id() -> str:
    """A sortable, unique id for one pipeline run when the caller (e.g. Airflow) gives none."""
    return f"run-{utc_now().strftime('%Y%m%dT%H%M%SZ')}-{secrets.token_hex(3)}"


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class LedgerRecord:
    """What happened to one received file in one run."""

    sha256: str
    source: str
    original_name: str
    size: int
    received_at: str
    landed_at: str
    status: LedgerStatus
    run_id: str
    rows_in: int = 0
    rows_valid: int = 0
    rows_rejected: int = 0
    error: str | None = None
    raw_key: str | None = None
    outputs: list[str] = field(default_factory=list)
    report_key: str | None = None
    warnings: list[str] = field(default_factory=list)
    metrics: dict[str, Any] = field(default_factory=dict)
    """Figures later checks compare against, e.g. ``rows_by_scope`` for volume checks."""
    data_docs: list[str] = field(default_factory=list)
    """Lake keys of the GX Data Docs pages of this run's validation of the file."""

    def to_json(self) -> bytes:
        return json.dumps(asdict(self), ensure_ascii=False, indent=1, sort_keys=True).encode()

    @classmethod
    def from_json(cls, data: bytes) -> LedgerRecord:
        document = json.loads(data)
        # Records written before a field existed simply lack it; the defaults apply.
        known = {name for name in cls.__dataclass_fields__}
        return cls(**{key: value for key, value in document.items() if key in known})


@dataclass(frozen=True)
class FilePosition:
    """One file's standing in the ledger, as every worker computes it alike."""

    settlements: int
    """How many times the file was settled (ingested, quarantined, parked); a replay adds one."""
    failures_in_a_row: int
    """Failed attempts since the last settlement."""
    latest: str | None
    """The status of its latest record, if any."""

    @property
    def settled(self) -> bool:
        return self.latest in SETTLED_STATUSES


@dataclass(frozen=True)
class LedgerEntry:
    """A record's identity as it can be read from its key, without fetching the object."""

    key: str
    source: str
    sha256: str
    received_at: str
    status: str


class Ledger:
    """Append-only ledger of received files, stored under ``ledger/`` in the lake."""

    def __init__(self, lake: Storage) -> None:
        self._lake = lake
        self._copies = None if lake.is_local else RecordCopies(lake)
        # Records read, by key: a record is written once and never rewritten (its key names
        # its run), so one read and parsed stays right for this ledger's life.
        self._records: dict[str, LedgerRecord] = {}
        # latest_metric's answers until this ledger appends a record (see there).
        self._metrics: dict[tuple[str, str], dict[str, Any]] = {}

    def append(self, record: LedgerRecord) -> str:
        self._metrics.clear()
        key = record_key(record)
        if not write_once(self._lake, key, record.to_json()):
            raise RuntimeError(f"ledger record {key} already exists; run ids must be unique")
        log.info(
            "ledger: %s %s (%s) -> %s",
            record.source,
            record.original_name,
            record.sha256[:12],
            record.status,
        )
        return key

    def entries(self, source: str | None = None) -> list[LedgerEntry]:
        prefix = f"{LEDGER_PREFIX}/{source}/" if source else f"{LEDGER_PREFIX}/"
        return [entry for obj in self._lake.list(prefix) if (entry := parse_record_key(obj.key))]

    def latest_entries(self, source: str | None = None) -> dict[str, LedgerEntry]:
        """The most recent entry per sha256 (ties broken by key, which embeds the run id)."""
        latest: dict[str, LedgerEntry] = {}
        for entry in sorted(self.entries(source), key=lambda e: (e.received_at, e.key)):
            latest[entry.sha256] = entry
        return latest

    def settled_sha256s(self, source: str | None = None) -> set[str]:
        return {
            sha
            for sha, entry in self.latest_entries(source).items()
            if entry.status in SETTLED_STATUSES
        }

    def file_entries(self, source: str, sha256: str) -> list[LedgerEntry]:
        """One file's records, oldest first (a listing of its own prefix: cheap)."""
        prefix = f"{LEDGER_PREFIX}/{source}/{sha256}/"
        entries = [e for obj in self._lake.list(prefix) if (e := parse_record_key(obj.key))]
        return sorted(entries, key=lambda e: (e.received_at, e.key))

    def position(self, source: str, sha256: str) -> FilePosition:
        """Where a file stands: times settled, failures in a row since, and its latest status."""
        entries = self.file_entries(source, sha256)
        failures = 0
        for entry in reversed(entries):
            if entry.status != "failed":
                break
            failures += 1
        settled = sum(entry.status in SETTLED_STATUSES for entry in entries)
        latest = entries[-1].status if entries else None
        return FilePosition(settled, failures, latest)

    def append_once(self, record: LedgerRecord) -> bool:
        """Append a record whose key several writers may compute alike; False if one did first."""
        self._metrics.clear()
        return self._lake.write_if_absent(record_key(record), record.to_json())

    def history(self, sha256_prefix: str) -> list[LedgerEntry]:
        """Every record of the file whose sha256 starts with the prefix, oldest first.

        Raises LookupError when no file, or more than one, matches.
        """
        entries = [e for e in self.entries() if e.sha256.startswith(sha256_prefix.lower())]
        files = {entry.sha256 for entry in entries}
        if len(files) != 1:
            found = "no received file" if not files else f"{len(files)} files"
            raise LookupError(f"{found} with sha256 starting {sha256_prefix!r} in the ledger")
        return sorted(entries, key=lambda entry: (entry.received_at, entry.key))

    def read(self, entry: LedgerEntry) -> LedgerRecord:
        return LedgerRecord.from_json(self._lake.read_bytes(entry.key))

    def latest_records(self, source: str | None = None) -> list[LedgerRecord]:
        keys = [entry.key for entry in self.latest_entries(source).values()]
        unread = [key for key in keys if key not in self._records]
        found = self._copies.read(unread) if self._copies else self._lake.read_many(unread)
        for key, data in zip(unread, found, strict=True):
            self._records[key] = LedgerRecord.from_json(data)
        return [self._records[key] for key in keys]

    def latest_metric(self, source: str, name: str) -> dict[str, Any]:
        """A per-scope metric (e.g. rows per province) as of the latest ingested file per scope.

        Remembered until this ledger appends a record: an ingest asks for every file it
        validates, and listing and reading the whole ledger each time cost ~30 s of a national
        run (~700 files, ~700 records). Records other writers append meanwhile are seen at the
        next question after this ledger's own next record (within a batch of files validated
        together, at most).
        """
        if (source, name) not in self._metrics:
            ingested = [
                record
                for record in self.latest_records(source)
                if record.status == "ingested" and name in record.metrics
            ]
            merged: dict[str, Any] = {}
            for record in sorted(ingested, key=lambda r: (r.landed_at, r.received_at)):
                merged.update(record.metrics[name])
            self._metrics[source, name] = merged
        return dict(self._metrics[source, name])


class RecordCopies:
    """This host's copies of the ledger records of an object-store lake.

    A record is written once and never rewritten (its key names its run), so a copy read once
    stays right for ever. Without them every ingest (the rows-per-scope baseline, the Data Docs
    index) and every build (freshness) read the whole ledger over the network again: ~700
    records at national scale, seconds per task.
    """

    def __init__(self, lake: Storage) -> None:
        self._lake = lake
        digest = hashlib.sha256(lake.uri.encode()).hexdigest()[:16]
        self.folder = Path(tempfile.gettempdir()) / "sentra-ledger-copies" / digest

    def read(self, keys: Sequence[str]) -> list[bytes]:
        found: dict[str, bytes] = {}
        for key in keys:
            with contextlib.suppress(OSError):  # not copied yet
                found[key] = (self.folder / key).read_bytes()
        missing = [key for key in keys if key not in found]
        for key, data in zip(missing, self._lake.read_many(missing), strict=True):
            self.keep(key, data)
            found[key] = data
        return [found[key] for key in keys]

    def keep(self, key: str, data: bytes) -> None:
        path = self.folder / key
        temporary = path.with_name(f".{path.name}.{secrets.token_hex(4)}")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            temporary.write_bytes(data)
            os.replace(temporary, path)  # whole or absent, for a reader in another process
        except OSError as error:  # only a copy: the lake still has the record
            log.warning("could not keep a copy of ledger record %s: %s", key, error)
            temporary.unlink(missing_ok=True)


def write_once(lake: Storage, key: str, data: bytes) -> bool:
    """Write ``data`` at ``key`` unless the key exists; True when ``data`` is now there.

    A write can reach the store and still fail for the writer (the reply is lost, or S3's retry
    of a PUT that had landed meets its own object). The object then holds exactly these bytes,
    so it is this writer's: reading it back tells the lost reply from a real failure or a rival.
    """
    try:
        if lake.write_if_absent(key, data):
            return True
    except StorageError:
        if not holds(lake, key, data):
            raise
        return True
    return holds(lake, key, data)


def holds(lake: Storage, key: str, data: bytes) -> bool:
    try:
        return lake.read_bytes(key) == data
    except FileNotFoundError:
        return False


def record_key(record: LedgerRecord) -> str:
    stamp = compact_timestamp(record.received_at)
    return (
        f"{LEDGER_PREFIX}/{record.source}/{record.sha256}/"
        f"{stamp}_{record.status}_{record.run_id}.json"
    )


def parse_record_key(key: str) -> LedgerEntry | None:
    parts = key.split("/")
    if len(parts) != 4 or parts[0] != LEDGER_PREFIX or not parts[3].endswith(".json"):
        return None
    stamp, status, _run_id = parts[3].removesuffix(".json").split("_", 2)
    return LedgerEntry(key=key, source=parts[1], sha256=parts[2], received_at=stamp, status=status)


def compact_timestamp(iso_timestamp: str) -> str:
    """``2026-11-28T07:29:35.123456+00:00`` -> ``20261128T072935.123456Z`` (sorts as time does)."""
    moment = datetime.fromisoformat(iso_timestamp).astimezone(UTC)
    return moment.strftime("%Y%m%dT%H%M%S.%fZ")
