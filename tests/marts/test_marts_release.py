"""Marts published to an S3 warehouse (moto server): versions behind one current pointer."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest

from pipelines.ingest.engine import Ingestor
from pipelines.marts.incremental import state_path
from pipelines.marts.publish import build_and_publish
from pipelines.marts.release import (
    CURRENT,
    DATABASE,
    STATE,
    current_version,
    published_versions,
    version_prefix,
)
from pipelines.platform.duckdb import connect
from pipelines.platform.settings import Settings
from pipelines.platform.storage import Storage
from tests.registry_files import DIY_ROWS, JATIM_MEMBERS, JATIM_SENTRA, registry_csv, registry_xlsx

pytestmark = pytest.mark.s3


@pytest.fixture
def s3_warehouse(s3_settings: Settings, s3_env: str) -> Settings:
    """Landing, lake and warehouse all on S3, keeping two published versions."""
    settings = s3_settings.model_copy(
        update={"warehouse": f"{s3_env}/warehouse", "warehouse_versions_kept": 2}
    )
    settings.landing_store.write_bytes("registry/diy.csv", registry_csv(DIY_ROWS))
    Ingestor(settings).run()
    return settings


def published_version(path: Path) -> str:
    """The version a DuckDB file holds, read the way a BI tool would (read-only)."""
    con = connect(path, read_only=True)
    try:
        row = con.execute(
            "select version from meta.publish_log order by published_at desc limit 1"
        ).fetchone()
        assert row is not None
        return str(row[0])
    finally:
        con.close()


def fetch(settings: Settings, destination: Path) -> subprocess.CompletedProcess[str]:
    """``sentra fetch-marts`` as a BI host runs it (AWS_* from the moto fixture)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SENTRA_")}
    env["SENTRA_WAREHOUSE"] = settings.warehouse
    return subprocess.run(
        [sys.executable, "-m", "pipelines.app.cli", "fetch-marts", str(destination)],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )


def test_each_publish_is_a_version_behind_the_pointer_and_old_ones_are_pruned(
    s3_warehouse: Settings, tmp_path: Path
) -> None:
    store = s3_warehouse.warehouse_store
    versions = [build_and_publish(s3_warehouse, f"run-{n}", force=True).record for n in range(3)]

    current = current_version(store)
    assert current is not None and current.version == versions[-1].version
    assert published_versions(store) == [record.version for record in versions[1:]]
    assert {key.rsplit("/", 1)[1] for key in current.parquet} == {
        f"{table}.parquet" for table in versions[-1].row_counts
    }

    fetched = fetch(s3_warehouse, tmp_path / "bi" / "sentra.duckdb")
    assert fetched.returncode == 0, fetched.stderr
    assert versions[-1].version in fetched.stdout
    assert published_version(tmp_path / "bi" / "sentra.duckdb") == versions[-1].version
    assert not build_and_publish(s3_warehouse, "run-again").published  # nothing changed


def test_a_publish_that_dies_half_way_leaves_readers_on_the_previous_version(
    s3_warehouse: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = build_and_publish(s3_warehouse, "run-1").record
    s3_warehouse.landing_store.write_bytes(
        "registry/jatim.xlsx", registry_xlsx(JATIM_SENTRA, JATIM_MEMBERS)
    )
    Ingestor(s3_warehouse).run()
    store = s3_warehouse.warehouse_store
    upload = type(store).upload_file

    def endpoint_gone_at_the_database(self: Storage, path: Path, key: str) -> None:
        if key.endswith(DATABASE):
            raise ConnectionError("S3 endpoint went away")
        upload(self, path, key)

    monkeypatch.setattr(type(store), "upload_file", endpoint_gone_at_the_database)
    with pytest.raises(ConnectionError):
        build_and_publish(s3_warehouse, "run-2")

    current = current_version(store)
    assert current is not None and current.version == first.version
    fetched = fetch(s3_warehouse, tmp_path / "bi.duckdb")
    assert fetched.returncode == 0, fetched.stderr
    assert published_version(tmp_path / "bi.duckdb") == first.version

    monkeypatch.setattr(type(store), "upload_file", upload)
    second = build_and_publish(s3_warehouse, "run-3")
    assert second.published and second.location == store.uri_for(CURRENT)
    assert current_version(store).version == second.record.version  # type: ignore[union-attr]


def test_another_worker_builds_incrementally_on_the_state_released_with_the_version(
    s3_warehouse: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="pipelines.marts")
    first = build_and_publish(s3_warehouse, "worker-1").record
    store = s3_warehouse.warehouse_store
    assert store.exists(f"{version_prefix(first.version)}/{STATE}")
    state_path(s3_warehouse.warehouse_path).unlink()  # a worker that did not build it
    s3_warehouse.landing_store.write_bytes(
        "registry/jatim.xlsx", registry_xlsx(JATIM_SENTRA, JATIM_MEMBERS)
    )
    Ingestor(s3_warehouse).run()
    caplog.clear()

    assert build_and_publish(s3_warehouse, "worker-2").published

    assert f"fetched the state of marts version {first.version}" in caplog.text
    assert "incremental build" in caplog.text and "full build" not in caplog.text


def test_fetching_before_anything_is_published_says_so(
    s3_settings: Settings, s3_env: str, tmp_path: Path
) -> None:
    settings = s3_settings.model_copy(update={"warehouse": f"{s3_env}/empty-warehouse"})

    fetched = fetch(settings, tmp_path / "bi.duckdb")

    assert fetched.returncode == 1
    assert "no marts published" in fetched.stderr and CURRENT in fetched.stderr
    assert not (tmp_path / "bi.duckdb").exists()
