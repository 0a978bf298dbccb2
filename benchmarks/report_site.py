"""Writing the report at national size: one page per sentra, some 7,500 of them.

    uv run python -m benchmarks.report_site [--sentra 7500]

Builds the demo marts once in a temporary folder, then writes their report with the demo's sentra
repeated under distinct ids up to ``--sentra`` (the pages' work grows with the sentra; the other
pages read the province, BPS and ledger figures, which do not grow with them), and prints one
Markdown row: the date, the machine, its load, the sentra, the seconds to write and install the
site, to replace it with the next version's written whole, and with the next version's carrying
the unchanged pages (one sentra's score changed, as after one event), and its size.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import platform
import tempfile
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from pipelines.app import usecases
from pipelines.ingest.engine import Ingestor
from pipelines.platform.settings import Settings
from pipelines.report.data import ReportData, Row, load_report_data
from pipelines.report.reuse import InstalledReport
from pipelines.report.site import REPORT, install_site, report_renderer, write_site
from pipelines.samples.landing import write_samples


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--sentra", type=int, default=7500, help="sentra pages to write")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench-report-") as folder:
        root = Path(folder)
        settings = Settings(
            landing=str(root / "landing"),
            lake=str(root / "lake"),
            warehouse=str(root / "warehouse" / "sentra.duckdb"),
        )
        write_samples(settings.landing_store, scale="demo")
        Ingestor(settings, "bench").run()
        built = usecases.build(settings, "bench")
        data = national_sized(load_report_data(settings, built.warehouse), args.sentra)
        installed = root / "installed"
        started = time.perf_counter()
        install_site(lambda site: write_site(site, data), installed, data.version)
        first = time.perf_counter()
        # The next version's report replaces this one: its install also removes the old folder.
        install_site(lambda site: write_site(site, data), installed, f"{data.version}-next")
        replaced = time.perf_counter()
        later = one_sentra_rescored(data)
        earlier = InstalledReport((installed / REPORT).resolve(), report_renderer())
        install_site(lambda site: write_site(site, later, earlier), installed, "after-an-event")
        carried = time.perf_counter()
        size = sum(path.stat().st_size for path in installed.rglob("*") if path.is_file())
    print(
        "| date (UTC) | machine | load (1 min) | sentra | written and installed "
        "| next version, written whole | next version, unchanged pages carried | size |"
    )
    print("|---|---|---|---|---|---|---|---|")
    print(
        f"| {datetime.now(UTC):%Y-%m-%d %H:%M} | {platform.machine()}, {os.cpu_count()} CPUs "
        f"| {os.getloadavg()[0]:.1f} | {len(data.sentra):,} | {first - started:.1f} s "
        f"| {replaced - first:.1f} s | {carried - replaced:.1f} s | {size / 2**20:.0f} MiB |"
    )
    return 0


def national_sized(data: ReportData, sentra: int) -> ReportData:
    """The report's data with its sentra repeated under distinct ids up to ``sentra`` rows."""
    rows: list[Row] = []
    copy = 0
    while len(rows) < sentra:
        rows += [
            {**row, "sentra_id": f"{row['sentra_id']}-{copy}"}
            for row in data.sentra[: sentra - len(rows)]
        ]
        copy += 1
    return dataclasses.replace(data, queries={**data.queries, "sentra": rows})


def one_sentra_rescored(data: ReportData) -> ReportData:
    """The next version's data after an event that changed the top sentra's score."""
    top = data.ranked[0]["sentra_id"]
    rows = [
        {**row, "score": row["score"] + 1} if row["sentra_id"] == top else row
        for row in data.sentra
    ]
    return dataclasses.replace(data, queries={**data.queries, "sentra": rows})


if __name__ == "__main__":
    raise SystemExit(main())
