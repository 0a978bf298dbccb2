"""The demo marts and their report, built once per test run (shared by the xdist workers)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from pipelines.app import usecases
from pipelines.ingest.engine import Ingestor
from pipelines.platform.duckdb import connect
from pipelines.platform.locks import host_lock
from pipelines.platform.settings import Settings
from pipelines.report.site import report_location
from pipelines.samples.landing import write_samples
from tests.conftest import local_settings

if TYPE_CHECKING:
    import duckdb


@dataclass(frozen=True)
class DemoMarts:
    settings: Settings
    version: str

    @property
    def report(self) -> Path:
        """The report's index.html."""
        return Path(report_location(self.settings, self.version))


@pytest.fixture(scope="session")
def demo_marts(tmp_path_factory: pytest.TempPathFactory) -> DemoMarts:
    """Sample feeds ingested and built with their report.

    Under xdist each worker has a session of its own: the first to take the lock builds into
    the run's shared temp folder, the others find the version it wrote.
    """
    base = tmp_path_factory.getbasetemp()
    shared = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base
    root = shared / "report-demo"
    settings = local_settings(root)
    built = root / "version.txt"
    # One build at a time into that folder, whichever worker runs it.
    with host_lock("report-demo", root):
        if not built.exists():
            write_samples(settings.landing_store, scale="demo")
            Ingestor(settings, "report-demo").run()
            result = usecases.build(settings, "report-demo")
            built.write_text(result.record.version)
    return DemoMarts(settings, built.read_text())


@pytest.fixture(scope="session")
def marts(demo_marts: DemoMarts) -> Iterator[duckdb.DuckDBPyConnection]:
    """The demo marts opened read-only, as a BI tool opens them."""
    con = connect(demo_marts.settings.warehouse_path, read_only=True)
    try:
        yield con
    finally:
        con.close()
