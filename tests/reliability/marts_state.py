"""What a BI reader of the published marts sees: a whole version, and the marts it holds."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

from pipelines.marts.publish import parquet_dir
from pipelines.marts.release import CURRENT, current_version, fetch_current
from pipelines.platform.settings import Settings
from tests.marts.test_marts_release import published_version as database_version
from tests.marts_tables import marts_contents
from tests.reliability.faults import generic


def export_version(path: Path) -> str:
    import pyarrow.parquet as pq

    metadata = pq.read_metadata(path).metadata or {}
    return metadata[b"publish_version"].decode()


def readers_copy(settings: Settings, folder: Path) -> Path:
    """The DuckDB file a reader opens now (local), or fetches with its exports (S3)."""
    if not settings.warehouse_on_s3:
        return settings.warehouse_path
    target = folder / "sentra.duckdb"
    fetch_current(settings.warehouse_store, target, with_parquet=True)
    return target


def assert_readers_see_a_whole_version(settings: Settings, previous: str) -> str:
    """The version readers find is whole: the file opens, and every export is whole and of it.

    Returns that version. A local warehouse swaps the file, then each export, under one lock:
    a build dying between those renames leaves exports of the previous version beside the new
    file (each whole, each tagged), which the next build replaces.
    """
    with tempfile.TemporaryDirectory(prefix="sentra-reader-") as folder:
        database = readers_copy(settings, Path(folder))
        version = database_version(database)
        tables = marts_contents(database)
        exports = database.parent / "parquet"
        for table in tables:
            tagged = export_version(exports / f"{table}.parquet")
            if settings.warehouse_on_s3:
                assert tagged == version, table
            else:
                assert tagged in (version, previous), table
        if settings.warehouse_on_s3:
            current = current_version(settings.warehouse_store)
            assert current is not None and current.version == version
        return version


def published_state(settings: Settings) -> dict[str, Any]:
    """The marts readers get, the exports beside them, the publish log and the S3 listing."""
    with tempfile.TemporaryDirectory(prefix="sentra-reader-") as folder:
        database = readers_copy(settings, Path(folder))
        version = database_version(database)
        exports = sorted(database.parent.joinpath("parquet").glob("*.parquet"))
        state: dict[str, Any] = {
            "marts": marts_contents(database),
            "exports": [path.name for path in exports],
            "exports of the version": {export_version(path) == version for path in exports},
            "publish log": sorted(
                generic(obj.key) for obj in settings.lake_store.list("publishes/")
            ),
        }
    if settings.warehouse_on_s3:
        store = settings.warehouse_store
        state["objects"] = sorted(generic(obj.key) for obj in store.list())
        state["current"] = generic(
            json.dumps(json.loads(store.read_bytes(CURRENT)), sort_keys=True)
        )
    else:
        state["objects"] = sorted(path.name for path in parquet_dir(settings).iterdir())
    return state
