"""Marts build benchmark: the plain one-query mart step, our full build and an incremental one.

Measured in one run, each path a whole process under ``/usr/bin/time -v`` (wall time and peak
RSS), on a lake that is already ingested (e.g. the national sample):

1. ``plain``: the heaviest mart step as the one DuckDB query a data engineer would write on the
   clean Parquet -- every order line once in its latest export (a window over all lines), then
   orders, lines, units, net rupiah and buyers per seller and month -- with DuckDB's defaults.
   The yardstick of issue 11's targets.
2. ``full``: ``sentra build --force --no-report``: every model of ``sql/``, the data tests, the
   Parquet exports and the publish, under the configured memory limit -- what the Airflow build
   task runs before the marts are announced. Then ``sentra build`` writes that version's HTML
   report (the Airflow report task), timed apart.
3. ``incremental``: one new export lands (a shop's export again, with one line's status
   corrected), ``sentra ingest`` takes it in (not timed), then ``sentra build --no-report`` and
   the report, each timed.

The lake is linked, not copied, into ``--work`` (clean Parquet is immutable), so the source lake
never changes::

    uv run python -m benchmarks.marts_build --lake /work/national/lake \\
        --export /work/national/landing/marketplace/shopee/<shop>/<export>.csv \\
        --work /tmp/marts-bench --output docs/benchmarks.md

The results replace the ``marts-build`` section of ``--output``.
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import shlex
import shutil
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from benchmarks.run import Run, local_env, python, sentra, timed

FULL_RATIO_TARGET = 2.5  # the full build against the plain step
MEMORY_TARGET_MIB = 2 * 1024
INCREMENTAL_TARGET_SECONDS = 3.0
SECTION = "marts-build"
LINKED = ("clean", "ledger")  # what a build reads from the lake
NEW_EXPORT_FOLDER = "marketplace/shopee/bench_reexport"

# The yardstick, one statement: kept beside the benchmark, not in sql/, as it is no model.
PLAIN_STEP = """
copy (
    with latest as (
        select *
        from read_parquet({files}, union_by_name = true)
        qualify row_number() over (
            partition by order_line_id
            order by landed_at desc, received_at desc, source_sha256 desc, source_row
        ) = 1
    )
    select
        marketplace,
        seller_account,
        date_trunc('month', order_date) as order_month,
        count(distinct order_id) as orders,
        count(*) as order_lines,
        coalesce(sum(quantity) filter (where status = 'completed'), 0) as units,
        coalesce(sum(net_idr) filter (where status = 'completed'), 0) as net_idr,
        count(distinct buyer_hash) filter (where status = 'completed') as buyers
    from latest
    group by all
) to {target} (format parquet)
"""


@dataclass(frozen=True)
class Results:
    plain: Run
    full: Run
    full_report: Run
    incremental: Run
    incremental_report: Run
    order_lines: int
    exports: int


def plain_step(lake: Path, target: Path) -> None:
    """The plain mart step on ``lake``'s clean order lines (run in its own process)."""
    import duckdb

    from pipelines.platform.duckdb import sql_string

    files = sorted(str(path) for path in (lake / "clean" / "marketplace_orders").glob("*.parquet"))
    listed = "[" + ", ".join(sql_string(name) for name in files) + "]"
    duckdb.connect().execute(PLAIN_STEP.format(files=listed, target=sql_string(target)))


def link_lake(source: Path, lake: Path) -> None:
    """A lake that shares ``source``'s clean files and ledger (hard links) and nothing else."""
    shutil.rmtree(lake, ignore_errors=True)
    for folder in LINKED:
        shutil.copytree(source / folder, lake / folder, copy_function=os.link)


def corrected(export: bytes, lines: int = 1) -> bytes:
    """The export again, with its first ``lines`` completed Shopee lines cancelled: a new file
    whose lines supersede those of the original."""
    if export.count(b",Selesai,") < lines:
        raise ValueError(f"the export has fewer than {lines} completed Shopee lines (',Selesai,')")
    return export.replace(b",Selesai,", b",Batal,", lines)


def measure(source_lake: Path, export: Path, work: Path) -> Results:
    lake, landing = work / "lake", work / "landing"
    link_lake(source_lake, lake)
    order_lines, exports = lake_size(lake)
    shutil.rmtree(landing, ignore_errors=True)
    env = local_env(landing, lake, work / "warehouse")
    plain = timed(python("benchmarks.marts_build", "plain", str(lake), str(work / "plain.parquet")))
    full = timed(sentra("build", "--force", "--no-report"), env)
    full_report = timed(sentra("build"), env)
    new_export = landing / NEW_EXPORT_FOLDER / export.name
    new_export.parent.mkdir(parents=True)
    new_export.write_bytes(corrected(export.read_bytes()))
    timed(sentra("ingest"), env)
    incremental = timed(sentra("build", "--no-report"), env)
    incremental_report = timed(sentra("build"), env)
    return Results(plain, full, full_report, incremental, incremental_report, order_lines, exports)


def lake_size(lake: Path) -> tuple[int, int]:
    """Order lines and exports in the lake's clean marketplace Parquet."""
    import duckdb

    files = list((lake / "clean" / "marketplace_orders").glob("*.parquet"))
    row = duckdb.sql(
        "select count(*) from read_parquet($files)", params={"files": [str(f) for f in files]}
    ).fetchone()
    return (int(row[0]) if row else 0), len(files)


def verdict(measured: float, target: float, unit: str) -> str:
    if measured <= target:
        return f"met ({measured:.2f}{unit} ≤ {target:g}{unit})"
    return f"**missed** ({measured:.2f}{unit} > {target:g}{unit}, by {measured / target:.2f}x)"


def report(results: Results, command: str) -> str:
    ratio = results.full.seconds / results.plain.seconds
    report_step = "then `sentra build`: writes that version's report (the report task)"
    rows = [
        ("plain one-query mart step (DuckDB defaults)", results.plain),
        ("`sentra build --force --no-report` (full)", results.full),
        (report_step, results.full_report),
        ("`sentra build --no-report` after one new export (incremental)", results.incremental),
        (report_step, results.incremental_report),
    ]
    memory = verdict(results.full.peak_rss_mib, MEMORY_TARGET_MIB, " MiB")
    incremental = verdict(results.incremental.seconds, INCREMENTAL_TARGET_SECONDS, " s")
    table = "\n".join(
        f"| {label} | {run.seconds:.2f} | {run.peak_rss_mib:,.0f} | {run.load:.2f} |"
        for label, run in rows
    )
    return f"""## Marts build: plain step, full and incremental ({datetime.now(UTC):%Y-%m-%d})

`{command}`

Machine: {platform.platform()}, {os.cpu_count()} CPUs (`nproc`), shared with other sessions;
load average (1 min) at the start of each path in the table. Lake: {results.exports:,} clean
marketplace exports, {results.order_lines:,} order lines. Each path is one whole process under
`/usr/bin/time -v`; the build runs with the default `SENTRA_DUCKDB_MEMORY_LIMIT`. The targets
are judged on the marts build and publish, as the Airflow build task runs it; the report is a
task of its own after the marts are announced. A whole `sentra build` does both: full
{results.full.seconds + results.full_report.seconds:.2f} s, incremental
{results.incremental.seconds + results.incremental_report.seconds:.2f} s (two processes' sums).

| path | wall s | peak RSS MiB | load (1 min) |
|---|---|---|---|
{table}

| target | verdict |
|---|---|
| full build ≤ {FULL_RATIO_TARGET:g}x the plain step | {verdict(ratio, FULL_RATIO_TARGET, "x")} |
| full build ≤ 2 GiB peak RSS | {memory} |
| incremental build after one new export ≤ 3 s | {incremental} |
"""


def write_section(doc: Path, text: str, section: str = SECTION) -> None:
    """Replace ``section`` of ``doc`` (between its markers), or append it."""
    block = f"<!-- {section} -->\n{text}<!-- /{section} -->\n"
    previous = re.compile(f"<!-- {section} -->.*?<!-- /{section} -->\n", re.S)
    current = doc.read_text(encoding="utf-8") if doc.exists() else "# Benchmarks\n"
    replaced, found = previous.subn(lambda _: block, current, count=1)
    doc.write_text(replaced if found else f"{current.rstrip()}\n\n{block}", encoding="utf-8")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    commands = parser.add_subparsers(dest="command")
    step = commands.add_parser("plain", help="run the plain mart step alone (what is timed)")
    step.add_argument("lake", type=Path)
    step.add_argument("target", type=Path)
    parser.add_argument("--lake", type=Path, help="an ingested lake (read only)")
    parser.add_argument("--export", type=Path, help="a landed Shopee export to correct")
    parser.add_argument("--work", type=Path, help="a scratch folder (emptied)")
    parser.add_argument("--output", type=Path, default=Path("docs/benchmarks.md"))
    args = parser.parse_args(argv)
    if args.command == "plain":
        plain_step(args.lake, args.target)
        return 0
    if not (args.lake and args.export and args.work):
        parser.error("--lake, --export and --work are required")
    results = measure(args.lake, args.export, args.work)
    command = "uv run python -m benchmarks.marts_build " + shlex.join(argv or sys.argv[1:])
    text = report(results, command)
    write_section(args.output, text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
