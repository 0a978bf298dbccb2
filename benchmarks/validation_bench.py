"""Validation benchmark: GX on DuckDB against the plain-SQL limit and GX on a pandas batch.

One seeded order-lines Parquet file, ten checks, three ways of running them, each in its own
process (so peak RSS is that path's alone), several repetitions interleaved:

1. the ten checks as one plain DuckDB SQL query -- the limit;
2. ``Validator.validate_parquet`` -- GX's SQL execution engine over a DuckDB view;
3. ``Validator.validate`` on the whole file read into pandas -- GX's pandas engine.

"checks" is the time of the checking call itself, after the process imported what it needs
(``import great_expectations`` is a one-off per worker process, reported in docs/benchmarks.md
on its own); it includes GX building its context on first use. "process" is the whole worker
process, imports included. The ratio (2)/(1) is taken per repetition, so machine noise cancels.

    uv run python -m benchmarks.validation_bench --rows 5000000 --repeats 5
    uv run python -m benchmarks.validation_bench --rows 20000 --repeats 1 --in-process \\
        --output /tmp/smoke.md     # smoke mode: seconds, used by tests/quality/test_validation.py

Results are written into ``docs/validation-performance.md`` (one section per row count,
replaced on the next run with the same row count). ``--profile-to FILE`` also writes a
pyinstrument profile of path (2).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import re
import resource
import shlex
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
DEFAULT_OUTPUT = REPO / "docs" / "validation-performance.md"
DEFAULT_WORKDIR = REPO / "data" / "bench"
SUITE = "bench_order_lines"
TARGET_RATIO = 3.0
MODES = {
    "sql": "(1) plain DuckDB SQL, one query",
    "gx_duckdb": "(2) `validate_parquet`: GX SQL engine on DuckDB",
    "gx_pandas": "(3) GX on a whole pandas batch",
}
MARKETPLACES = ["shopee", "tokopedia", "bukalapak", "blibli", "blanja", "ralali"]
STATUSES = ["paid", "shipped", "completed", "cancelled", "returned"]
EARLIEST_TIME = datetime(2020, 1, 1)
EXPORT_TIME = datetime(2026, 6, 30, 23, 59, 59)
# About this many bad rows per check, whatever the file size, so every check has work to do.
BAD_ROWS_PER_CHECK = 40
NEW_SECTIONS_MARKER = "<!-- validation-bench: new results go here -->"


@dataclass(frozen=True)
class Check:
    """One check, as a GX expectation and as the same rule in DuckDB SQL.

    ``unexpected_sql`` is an aggregate over the ``lines`` CTE counting the rows GX would call
    unexpected (nulls are not unexpected for set and range rules, as in GX).
    """

    name: str
    expectation: str
    kwargs: dict[str, Any]
    unexpected_sql: str

    def as_expectation(self) -> dict[str, Any]:
        meta = {"check": self.name, "severity": "critical", "description": self.name}
        return {"type": f"expect_{self.expectation}", "kwargs": self.kwargs, "meta": meta}


def province_codes() -> list[str]:
    with (REPO / "pipelines" / "reference" / "provinces.csv").open(encoding="utf-8") as file:
        return [row["province_code"] for row in csv.DictReader(file)]


def parameters() -> dict[str, Any]:
    return {
        "marketplaces": MARKETPLACES,
        "province_codes": province_codes(),
        "earliest_time": EARLIEST_TIME,
        "export_time": EXPORT_TIME,
    }


def rows_where(predicate: str) -> str:
    return f"count(*) filter (where {predicate})"


def sql_list(values: Sequence[str]) -> str:
    return ", ".join(f"'{value}'" for value in values)


def checks() -> list[Check]:
    def in_set(name: str, column: str, values: Sequence[str], parameter: str | None) -> Check:
        value_set: Any = {"$PARAMETER": parameter} if parameter else list(values)
        return Check(
            name,
            "column_values_to_be_in_set",
            {"column": column, "value_set": value_set},
            rows_where(f"{column} not in ({sql_list(values)})"),
        )

    def not_null(name: str, column: str) -> Check:
        kwargs = {"column": column}
        return Check(name, "column_values_to_not_be_null", kwargs, rows_where(f"{column} is null"))

    return [
        not_null("line_id_present", "order_line_id"),
        Check(
            "line_id_unique",
            "column_values_to_be_unique",
            {"column": "order_line_id"},
            # Every row whose id occurs more than once, across the whole file.
            "(select coalesce(sum(n), 0) from (select count(*) as n from lines"
            " where order_line_id is not null group by order_line_id having n > 1))",
        ),
        in_set("marketplace_known", "marketplace", MARKETPLACES, "marketplaces"),
        in_set("status_known", "status", STATUSES, None),
        Check(
            "quantity_range",
            "column_values_to_be_between",
            {"column": "quantity", "min_value": 1, "max_value": 10_000},
            rows_where("quantity not between 1 and 10000"),
        ),
        Check(
            "unit_price_positive",
            "column_values_to_be_between",
            {"column": "unit_price_idr", "min_value": 1},
            rows_where("unit_price_idr < 1"),
        ),
        not_null("net_amount_present", "net_amount_idr"),
        not_null("order_time_present", "order_time"),
        Check(
            "order_time_not_after_export",
            "column_values_to_be_between",
            {
                "column": "order_time",
                "min_value": {"$PARAMETER": "earliest_time"},
                "max_value": {"$PARAMETER": "export_time"},
            },
            rows_where(
                f"order_time not between timestamp '{EARLIEST_TIME.isoformat(sep=' ')}' "
                f"and timestamp '{EXPORT_TIME.isoformat(sep=' ')}'"
            ),
        ),
        in_set("province_code_known", "buyer_province_code", province_codes(), "province_codes"),
    ]


def plain_sql(parquet: Path) -> str:
    """The ten checks as one query: the row count, then one unexpected count per check."""
    counts = ",\n  ".join(f'{check.unexpected_sql} as "{check.name}"' for check in checks())
    return (
        f"with lines as not materialized (select * from read_parquet('{parquet}'))\n"
        f"select count(*) as element_count,\n  {counts}\nfrom lines"
    )


def generate_order_lines(path: Path, rows: int, seed: int) -> None:
    """Seeded order lines with about BAD_ROWS_PER_CHECK bad rows per check.

    Written by DuckDB from ``range()``: deterministic for a seed (hashes, not random()),
    streamed to Parquet, so generating 10 M rows needs little memory.
    """
    import duckdb

    every = max(rows // BAD_ROWS_PER_CHECK, 2)

    def bad(rule: int) -> str:
        return f"hash(i, {seed}, {rule}) % {every} = 0"

    def pick(values: Sequence[str], rule: int) -> str:
        return f"[{sql_list(values)}][1 + (hash(i, {seed}, {rule}) % {len(values)})::bigint]"

    codes = province_codes()
    query = f"""
    copy (
      with base as (
        select i,
          (1 + hash(i, {seed}, 101) % 12)::integer as quantity,
          (1000 * (1 + hash(i, {seed}, 102) % 2000))::bigint as unit_price_idr,
          timestamp '2026-05-01' + to_seconds((hash(i, {seed}, 103) % (31 * 86400))::bigint)
            as order_time
        from range({rows}) as r(i)
      )
      select
        printf('OL%010d', case when i > 0 and {bad(1)} then i - 1 else i end) as order_line_id,
        case when {bad(2)} then 'unknown_mp' else {pick(MARKETPLACES, 201)} end as marketplace,
        case when {bad(3)} then 'PAID ' else {pick(STATUSES, 202)} end as status,
        case when {bad(4)} then 0 else quantity end::integer as quantity,
        case when {bad(5)} then -unit_price_idr else unit_price_idr end::bigint
          as unit_price_idr,
        case when {bad(6)} then null else quantity * unit_price_idr end::bigint
          as net_amount_idr,
        case when {bad(7)} then null
             when {bad(8)} then timestamp '2026-07-15 10:00:00'
             else order_time end as order_time,
        case when {bad(9)} then '99' else {pick(codes, 203)} end as buyer_province_code,
        'orders_2026-05.csv' as source_sheet,
        i + 2 as source_row
      from base
    ) to '{path}' (format parquet, compression zstd)
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".partial")
    con = duckdb.connect(config={"autoinstall_known_extensions": False})
    try:
        con.execute(query.replace(f"'{path}'", f"'{partial}'"))
    finally:
        con.close()
    partial.replace(path)  # a half-written file is never mistaken for a finished one


def write_suite(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    suite = {"name": SUITE, "expectations": [check.as_expectation() for check in checks()]}
    (folder / f"{SUITE}.json").write_text(json.dumps(suite, indent=1), encoding="utf-8")


# --- the three paths: each returns {"element_count": n, check name: unexpected count} ---------


def check_with_sql(parquet: Path, suite_dir: Path) -> dict[str, int]:
    import duckdb

    con = duckdb.connect(config={"autoinstall_known_extensions": False})
    try:
        cursor = con.execute(plain_sql(parquet))
        row = cursor.fetchone()
        names = [column[0] for column in cursor.description or []]
    finally:
        con.close()
    assert row is not None
    return {name: int(value) for name, value in zip(names, row, strict=True)}


def check_with_gx_duckdb(parquet: Path, suite_dir: Path) -> dict[str, int]:
    from pipelines.quality.validation import Validator

    outcome = Validator(suite_dir).validate_parquet(SUITE, parquet, parameters())
    return outcome_counts(outcome.checks)


def check_with_gx_pandas(parquet: Path, suite_dir: Path) -> dict[str, int]:
    import pandas as pd

    from pipelines.quality.validation import Validator

    frame = pd.read_parquet(parquet)
    outcome = Validator(suite_dir).validate(SUITE, frame, parameters())
    return outcome_counts(outcome.checks)


def outcome_counts(results: Sequence[Any]) -> dict[str, int]:
    errors = [f"{check.check}: {check.error}" for check in results if check.error]
    if errors:
        raise RuntimeError("GX could not run every check: " + "; ".join(errors))
    counts = {check.check: check.unexpected_count for check in results}
    return {"element_count": max(check.element_count for check in results), **counts}


CHECKERS: dict[str, Callable[[Path, Path], dict[str, int]]] = {
    "sql": check_with_sql,
    "gx_duckdb": check_with_gx_duckdb,
    "gx_pandas": check_with_gx_pandas,
}


# --- measuring -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Measurement:
    mode: str
    seconds: float  # the checking call
    process_seconds: float | None  # the whole worker process, imports included
    peak_rss_mib: float
    rss_after_imports_mib: float | None
    counts: dict[str, int]


def current_rss_mib() -> float | None:
    try:
        status = Path("/proc/self/status").read_text(encoding="ascii")
    except OSError:
        return None
    match = re.search(r"^VmRSS:\s+(\d+) kB", status, re.MULTILINE)
    return int(match.group(1)) / 1024 if match else None


def peak_rss_mib() -> float:
    # ru_maxrss is KiB on Linux (bytes on macOS; these benchmarks run on Linux).
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def import_for(mode: str) -> None:
    """What the worker loads before the clock starts (GX's import is a per-process one-off)."""
    import duckdb  # noqa: F401

    if mode != "sql":
        os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
        import great_expectations  # noqa: F401
        import pandas  # noqa: F401

        import pipelines.quality.validation  # noqa: F401


def measure(mode: str, parquet: Path, suite_dir: Path) -> Measurement:
    import_for(mode)
    rss_after_imports = current_rss_mib()
    start = time.perf_counter()
    counts = CHECKERS[mode](parquet, suite_dir)
    seconds = time.perf_counter() - start
    return Measurement(mode, seconds, None, peak_rss_mib(), rss_after_imports, counts)


def profile(parquet: Path, suite_dir: Path, output: Path) -> None:
    """Where path (2) spends its time: a pyinstrument profile, then GX's SQL statements by time.

    The statements are timed from SQLAlchemy's cursor events, i.e. DuckDB's share of the
    wall time; the rest is GX's Python.
    """
    import sqlalchemy as sa
    from pyinstrument import Profiler

    import_for("gx_duckdb")
    timings: list[tuple[float, str]] = []

    def started(conn: Any, *args: Any) -> None:
        conn.info["sentra_bench_start"] = time.perf_counter()

    def finished(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        elapsed = time.perf_counter() - conn.info.pop("sentra_bench_start")
        timings.append((elapsed, " ".join(statement.split())))

    sa.event.listen(sa.engine.Engine, "before_cursor_execute", started)
    sa.event.listen(sa.engine.Engine, "after_cursor_execute", finished)
    profiler = Profiler()
    profiler.start()
    start = time.perf_counter()
    try:
        check_with_gx_duckdb(parquet, suite_dir)
    finally:
        wall = time.perf_counter() - start
        profiler.stop()
        sa.event.remove(sa.engine.Engine, "before_cursor_execute", started)
        sa.event.remove(sa.engine.Engine, "after_cursor_execute", finished)
    in_sql = sum(elapsed for elapsed, _ in timings)
    statements = [
        f"{elapsed:7.3f} s  {statement[:400]}"
        for elapsed, statement in sorted(timings, reverse=True)
    ]
    output.write_text(
        f"validate_parquet: {wall:.2f} s wall, {in_sql:.2f} s in {len(timings)} SQL statements\n\n"
        + profiler.output_text(unicode=True, show_all=False)
        + "\nSQL statements, slowest first:\n"
        + "\n".join(statements)
        + "\n",
        encoding="utf-8",
    )


def measure_in_subprocess(mode: str, parquet: Path, suite_dir: Path) -> Measurement:
    command = [sys.executable, "-m", "benchmarks.validation_bench", "--worker", mode]
    command += ["--parquet", str(parquet), "--suite-dir", str(suite_dir)]
    start = time.perf_counter()
    done = subprocess.run(command, cwd=REPO, capture_output=True, text=True, check=False)
    process_seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError(f"worker {mode} failed ({done.returncode}):\n{done.stderr[-4000:]}")
    fields = json.loads(done.stdout.strip().splitlines()[-1])
    return Measurement(**{**fields, "process_seconds": process_seconds})


# --- reporting -------------------------------------------------------------------------------


def spread(values: Sequence[float], unit: str, digits: int = 2) -> str:
    median = statistics.median(values)
    if len(values) == 1:
        return f"{median:.{digits}f} {unit}"
    return f"{median:.{digits}f} {unit} ({min(values):.{digits}f}-{max(values):.{digits}f})"


def machine() -> str:
    cpu = platform.processor() or "unknown CPU"
    memory = ""
    try:
        cpuinfo = Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace")
        cpu = re.findall(r"^model name\s*:\s*(.+)$", cpuinfo, re.MULTILINE)[0].strip()
        meminfo = Path("/proc/meminfo").read_text(encoding="ascii")
        kib = int(re.findall(r"^MemTotal:\s+(\d+) kB", meminfo, re.MULTILINE)[0])
        memory = f", {kib / 1024**2:.1f} GiB RAM"
    except (OSError, IndexError):
        pass
    versions = ", ".join(
        f"{name} {version(name)}" for name in ("duckdb", "great-expectations", "pandas", "pyarrow")
    )
    return (
        f"{os.cpu_count()} CPUs (`nproc`), {cpu}{memory}; {platform.system()} "
        f"{platform.release()}; Python {platform.python_version()}; {versions}"
    )


def report(
    measurements: Sequence[Measurement],
    parquet: Path,
    rows: int,
    command: str,
    in_process: bool,
    load: str,
) -> str:
    by_mode = {mode: [m for m in measurements if m.mode == mode] for mode in MODES}
    ratios = [
        gx.seconds / sql.seconds
        for gx, sql in zip(by_mode["gx_duckdb"], by_mode["sql"], strict=True)
    ]
    pandas_ratios = [
        pd.seconds / sql.seconds
        for pd, sql in zip(by_mode["gx_pandas"], by_mode["sql"], strict=True)
    ]
    ratio = statistics.median(ratios)
    verdict = "met" if ratio <= TARGET_RATIO else f"missed by {ratio / TARGET_RATIO:.2f}x"
    lines = [
        f"### {rows:,} order lines",
        "",
        f"- command: `{command}`",
        f"- date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
        f"- machine: {machine()}",
        f"- load average (1 min) before and after the run: {load} -- other work on the machine "
        "slows every path; the ratios are taken per repetition so that it mostly cancels",
        f"- input: {parquet.name}, {parquet.stat().st_size / 1024**2:,.0f} MiB Parquet (zstd), "
        f"{len(by_mode['sql'])} repetitions, paths interleaved; median (min-max)",
    ]
    if in_process:
        lines.append("- **in-process (smoke) run**: RSS figures are the whole test process's")
    lines += [
        "",
        "| path | checks | whole process | peak RSS | RSS after imports |",
        "|---|---|---|---|---|",
    ]
    for mode, label in MODES.items():
        runs = by_mode[mode]
        process = [m.process_seconds for m in runs if m.process_seconds is not None]
        after_imports = [m.rss_after_imports_mib for m in runs if m.rss_after_imports_mib]
        cells = [
            label,
            spread([m.seconds for m in runs], "s"),
            spread(process, "s", 1) if process else "-",
            spread([m.peak_rss_mib for m in runs], "MiB", 0),
            spread(after_imports, "MiB", 0) if after_imports else "-",
        ]
        lines.append("| " + " | ".join(cells) + " |")
    counts = measurements[0].counts
    failing = {name: count for name, count in counts.items() if name != "element_count"}
    lines += [
        "",
        f"**(2)/(1) = {spread(ratios, 'x')}** per repetition; target ≤ {TARGET_RATIO:.0f}x: "
        f"**{verdict}**. (3)/(1) = {spread(pandas_ratios, 'x', 1)}.",
        "",
        f"All three paths found the same unexpected counts in {counts['element_count']:,} rows: "
        + ", ".join(f"{name} {count}" for name, count in failing.items())
        + ".",
    ]
    return "\n".join(lines) + "\n"


DOC_HEADER = f"""# Validation performance

Measured by `benchmarks/validation_bench.py`; the sections below between the bench markers
are written by the command itself (one per row count, replaced when rerun).

## Results

{NEW_SECTIONS_MARKER}
"""


def write_section(doc: Path, rows: int, section: str) -> None:
    """Put ``section`` into ``doc`` in place of the previous run with the same row count."""
    start, end = f"<!-- validation-bench rows={rows} -->", f"<!-- /validation-bench rows={rows} -->"
    text = doc.read_text(encoding="utf-8") if doc.exists() else DOC_HEADER
    block = f"{start}\n{section}{end}\n"
    if start in text and end in text:
        before, rest = text.split(start, 1)
        text = before + block + rest.split(end, 1)[1].lstrip("\n")
    elif NEW_SECTIONS_MARKER in text:
        text = text.replace(NEW_SECTIONS_MARKER, f"{block}\n{NEW_SECTIONS_MARKER}")
    else:
        text = text.rstrip("\n") + f"\n\n{block}"
    doc.parent.mkdir(parents=True, exist_ok=True)
    doc.write_text(text, encoding="utf-8")


def disagreements(measurements: Sequence[Measurement]) -> list[str]:
    expected = measurements[0].counts
    return [
        f"{m.mode}: {m.counts} != {measurements[0].mode}: {expected}"
        for m in measurements
        if m.counts != expected
    ]


def run(options: argparse.Namespace, argv: Sequence[str]) -> int:
    workdir: Path = options.workdir
    parquet = workdir / f"order_lines_{options.rows}_seed{options.seed}.parquet"
    if not parquet.exists():
        print(f"generating {parquet} ...", flush=True)
        generate_order_lines(parquet, options.rows, options.seed)
    suite_dir = workdir / "expectations"
    write_suite(suite_dir)
    load_before = os.getloadavg()[0]
    measurements = []
    for repetition in range(options.repeats):
        for mode in MODES:
            if options.in_process:
                measurement = measure(mode, parquet, suite_dir)
            else:
                measurement = measure_in_subprocess(mode, parquet, suite_dir)
            print(f"run {repetition + 1} {mode}: {measurement.seconds:.2f} s", flush=True)
            measurements.append(measurement)
    problems = disagreements(measurements)
    if problems:
        print("the paths disagree:\n" + "\n".join(problems), file=sys.stderr)
        return 1
    command = shlex.join(["uv", "run", "python", "-m", "benchmarks.validation_bench", *argv])
    load = f"{load_before:.1f} / {os.getloadavg()[0]:.1f}"
    section = report(measurements, parquet, options.rows, command, options.in_process, load)
    write_section(options.output, options.rows, section)
    print(section)
    if options.profile_to:
        profile(parquet, suite_dir, options.profile_to)
        print(f"profile of path (2) written to {options.profile_to}")
    return 0


def parse(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=5_000_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seed", type=int, default=20261)
    parser.add_argument("--workdir", type=Path, default=DEFAULT_WORKDIR)
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    parser.add_argument(
        "--in-process", action="store_true", help="no worker processes (smoke tests)"
    )
    parser.add_argument("--profile-to", type=Path, help="pyinstrument profile of path (2)")
    # Internal: one measurement in this process, printed as JSON for the parent.
    parser.add_argument("--worker", choices=sorted(MODES), help=argparse.SUPPRESS)
    parser.add_argument("--parquet", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--suite-dir", type=Path, help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    options = parse(args)
    if options.worker:
        measurement = measure(options.worker, options.parquet, options.suite_dir)
        print(json.dumps(measurement.__dict__))
        return 0
    return run(options, args)


if __name__ == "__main__":
    sys.exit(main())
