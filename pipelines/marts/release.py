"""Published marts in an object store: immutable versions behind one small "current" pointer.

A build that publishes to ``SENTRA_WAREHOUSE=s3://bucket/prefix`` uploads the DuckDB file and its
Parquet exports under ``versions/<version>/`` first, and only then rewrites ``current.json``,
one small object that S3 replaces atomically. A reader that follows the pointer therefore finds
either the previous version or the new one, complete; a publish that dies half way leaves the
pointer where it was. The newest ``SENTRA_WAREHOUSE_VERSIONS_KEPT`` versions are kept (the
current one always), so a reader that followed an older pointer has time to finish.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pipelines.lake.publications import PublishRecord
    from pipelines.platform.storage import Storage

log = logging.getLogger(__name__)

CURRENT = "current.json"
VERSIONS = "versions"
DATABASE = "sentra.duckdb"
PARQUET = "parquet"
STATE = "marts-state.duckdb"  # what the next build carries forward (pipelines.marts.incremental)


@dataclass(frozen=True)
class CurrentVersion:
    """What ``current.json`` says: the version readers should open, and where its files are."""

    version: str
    published_at: str
    database: str
    parquet: list[str]

    def to_json(self) -> bytes:
        return json.dumps(self.__dict__, indent=1, sort_keys=True).encode()


def version_prefix(version: str) -> str:
    return f"{VERSIONS}/{version}"


def release(
    store: Storage,
    database: Path,
    parquet: Path,
    record: PublishRecord,
    keep: int,
) -> CurrentVersion:
    """Upload one built version, move the pointer to it, then drop versions beyond ``keep``."""
    prefix = version_prefix(record.version)
    exports = sorted(parquet.glob("*.parquet"))
    for path in exports:
        store.upload_file(path, f"{prefix}/{PARQUET}/{path.name}")
    # The database last among the version's files: its presence means the version is whole.
    store.upload_file(database, f"{prefix}/{DATABASE}")
    current = CurrentVersion(
        version=record.version,
        published_at=record.published_at,
        database=f"{prefix}/{DATABASE}",
        parquet=[f"{prefix}/{PARQUET}/{path.name}" for path in exports],
    )
    store.write_bytes(CURRENT, current.to_json())
    log.info("marts version %s is current at %s", record.version, store.uri_for(CURRENT))
    prune(store, keep, current.version)
    return current


def current_version(store: Storage) -> CurrentVersion | None:
    if not store.exists(CURRENT):
        return None
    return CurrentVersion(**json.loads(store.read_bytes(CURRENT)))


def published_versions(store: Storage) -> list[str]:
    """Every version with files under ``versions/``, oldest first (names sort by time)."""
    return sorted(
        {PurePosixPath(obj.key).parts[1] for obj in store.list(f"{VERSIONS}/")},
    )


def prune(store: Storage, keep: int, current: str) -> None:
    """Delete all but the newest ``keep`` whole versions; never the current one.

    A version without its database is a publish that died half way (or one still uploading):
    it does not count towards ``keep``, so it never pushes out a whole version a reader may be
    fetching, and it goes once it is older than every version kept.
    """
    files: dict[str, list[str]] = {}
    for obj in store.list(f"{VERSIONS}/"):
        files.setdefault(PurePosixPath(obj.key).parts[1], []).append(obj.key)
    whole = sorted(
        version
        for version, keys in files.items()
        if f"{version_prefix(version)}/{DATABASE}" in keys
    )
    kept = whole[-keep:]  # the current version is whole: it was uploaded before the pointer
    for version, keys in sorted(files.items()):
        if version == current or version in kept or version > kept[0]:
            continue
        for key in keys:
            store.delete(key)
        log.info("deleted marts version %s (keeping the newest %d)", version, keep)


def fetch_current(store: Storage, target: Path, with_parquet: bool = False) -> CurrentVersion:
    """Copy the current version's DuckDB file (and Parquet exports) to ``target``.

    The file is downloaded beside ``target`` and renamed over it, so a BI tool reading the
    previous copy keeps its snapshot and never sees a half-written file.
    """
    current = current_version(store)
    if current is None:
        raise LookupError(f"no marts published at {store.uri_for(CURRENT)} yet")
    target.parent.mkdir(parents=True, exist_ok=True)
    replace_with_download(store, current.database, target)
    if with_parquet:
        for key in current.parquet:
            replace_with_download(store, key, target.parent / PARQUET / PurePosixPath(key).name)
    return current


def release_state(store: Storage, version: str, state: Path) -> None:
    """Upload the state a published version's next build carries forward, so any worker can
    build incrementally on it. After the pointer, not before: its hundreds of MB at national
    scale are not on the path to readers; a worker that builds before it is there (or after a
    crash before it) finds none and makes a full build, and says so."""
    store.upload_file(state, f"{version_prefix(version)}/{STATE}")


def fetch_state(store: Storage, version: str, target: Path) -> bool:
    """Download the state released with ``version`` to ``target``; False when it has none."""
    key = f"{version_prefix(version)}/{STATE}"
    if not store.exists(key):
        return False
    replace_with_download(store, key, target)
    log.info("fetched the state of marts version %s from %s", version, store.uri_for(key))
    return True


def replace_with_download(store: Storage, key: str, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{target.name}.download")
    try:
        store.download_file(key, partial)
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)
