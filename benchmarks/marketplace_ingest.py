"""Marketplace ingest benchmark: a multi-million-line Shopee-style export, four ways.

1. ``plain``: the plain DuckDB conversion of the export -- ``read_csv`` with the non-personal
   columns projected inside the scan, quantity and order time typed natively, Parquet out.
   The yardstick the ingest is measured against (docs/benchmarks.md).
2. ``convert``: the feed's own conversion
   (``pipelines.feeds.marketplace.layouts.recognise_export`` and
   ``convert``): the same scan plus status vocabulary, rupiah amounts, Jakarta time, salted
   buyer hashes, province codes and lineage.
3. ``ingest``: the whole ``Ingestor`` on a temporary landing store and lake: sha256, raw copy,
   conversion, GX validation on DuckDB (``validate_parquet``), upload of the clean Parquet and
   the ledger record -- what ``sentra ingest`` does with the file.
4. ``forked``: the same ingest in a process forked from one that imported
   ``pipelines.quality.worker_preload`` first, as each Airflow Celery worker does before it
   forks a task process per task: a task's own time, GX's import paid once per worker.

Each runs in its own process under ``/usr/bin/time -v`` (wall time and peak RSS of that path
alone), repetitions interleaved so machine noise hits every path alike:

    uv run python -m benchmarks.marketplace_ingest generate --lines 5000000 --out /tmp/m5.csv
    uv run python -m benchmarks.marketplace_ingest measure /tmp/m1.csv /tmp/m5.csv --repeats 3

One mode alone, e.g. to profile it: ``... marketplace_ingest convert /tmp/m5.csv``.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
SHOP = "marketplace/shopee/bench_shop"
MODES = ("plain", "convert", "ingest", "forked")


def generate(lines: int, out: Path, seed: int) -> None:
    """A Shopee-style export of ``lines`` order lines, streamed to ``out``."""
    import random

    from pipelines.samples import marketplace as ms
    from pipelines.samples.registry import build_registry

    rng = random.Random(f"{seed}/bench")
    sentra = next(s for sub in build_registry("demo", seed).current() for s in sub.sentra)
    shop = ms.make_shop("shopee", "bench_shop", sentra, rng)
    maker = ms.OrderMaker(rng, 3_000_000, ms.shopee_order_id(0))
    calendar = ms.Calendar.of(ms.FIRST_ORDER_DAY, ms.LAST_ORDER_DAY)
    with out.open("w", encoding="utf-8", newline="") as stream:
        written = ms.write_csv(stream, ms.SHOPEE, maker.orders(shop, lines, calendar))
    print(json.dumps({"lines": written, "bytes": out.stat().st_size}))


def plain(path: Path, target: Path) -> int:
    """The plain DuckDB conversion: the layout's non-personal columns, natively typed."""
    return plain_export(f"{SHOP}/export.csv", path, target)


def plain_export(key: str, path: Path, target: Path) -> int:
    """The plain conversion of the export landed at ``key`` (its folder may name the shop)."""
    from pipelines.feeds.marketplace.layouts import PERSONAL_FIELDS, recognise_export
    from pipelines.platform.duckdb import connect

    export = recognise_export(key, path)
    wanted = {
        name: source for name, source in export.sources.items() if name not in PERSONAL_FIELDS
    }
    typed = {
        "quantity": "cast({} as integer)",
        "ordered_at": f"strptime({{}}, '{export.layout.timestamp_formats[0]}')",
    }
    columns = ", ".join(
        typed.get(name, "{}").format(source) + f" as {name}" for name, source in wanted.items()
    )
    con = connect(Path(":memory:"))
    try:
        con.execute("set enable_progress_bar = false")
        written = con.execute(
            f"copy (select {columns} from {export.reader}) to '{target}' (format parquet)"
        ).fetchone()
        return int(written[0]) if written else 0
    finally:
        con.close()


def convert(path: Path, target: Path) -> int:
    """The marketplace feed's conversion, as the handler runs it."""
    from pipelines.feeds.marketplace.convert import ConversionContext, convert
    from pipelines.feeds.marketplace.layouts import recognise_export
    from pipelines.platform.settings import SQL_DIR

    now = datetime.now(UTC)
    context = ConversionContext(SQL_DIR, "benchmark-salt-0123456789", "0" * 64, SHOP, now, now)
    export = recognise_export(f"{SHOP}/export.csv", path)
    return convert(export, context, target).rows


def ingest(path: Path, target: Path) -> int:
    """``sentra ingest`` of the export landed in a temporary store, validation included."""
    from pipelines.ingest.engine import Ingestor
    from pipelines.platform.settings import Settings

    root = target.parent
    landed = root / "landing" / SHOP / "Order.all.csv"
    landed.parent.mkdir(parents=True, exist_ok=True)
    os.link(path, landed)  # the landing store reads the file in place: no copy to time
    settings = Settings(landing=str(root / "landing"), lake=str(root / "lake"))
    [outcome] = Ingestor(settings).run().outcomes
    if outcome.status != "ingested":
        raise RuntimeError(f"benchmark export not ingested: {outcome.message}")
    return outcome.rows_valid


def forked(path: Path, target: Path) -> int:
    """``ingest`` in a task process forked from a worker that has imported GX, as an Airflow
    Celery worker forks each task (``pipelines.quality.worker_preload``): the task's time alone."""
    rows_read, rows_written = os.pipe()
    child = os.fork()
    if child == 0:  # the task process
        os.close(rows_read)
        try:
            os.write(rows_written, str(ingest(path, target)).encode())
        except BaseException:
            traceback.print_exc()
            os._exit(1)
        os._exit(0)  # no interpreter teardown, as a forked task process ends
    os.close(rows_written)
    _, status = os.waitpid(child, 0)
    with os.fdopen(rows_read) as rows:
        written = rows.read()
    if os.waitstatus_to_exitcode(status) != 0:
        raise RuntimeError("the forked ingest failed (its traceback is above)")
    return int(written)


RUNNERS: dict[str, Callable[[Path, Path], int]] = {
    "plain": plain,
    "convert": convert,
    "ingest": ingest,
    "forked": forked,
}


def run_mode(mode: str, path: Path) -> None:
    if mode == "forked":
        # The worker's start, before any task: not part of the timed task.
        importlib.import_module("pipelines.quality.worker_preload")
    with tempfile.TemporaryDirectory(prefix=f"sentra-bench-{mode}-", dir=path.parent) as folder:
        started = time.perf_counter()
        rows = RUNNERS[mode](path, Path(folder) / "out.parquet")
        seconds = time.perf_counter() - started
    print(json.dumps({"mode": mode, "rows": rows, "seconds": round(seconds, 3)}))


def timed(mode: str, path: Path) -> dict[str, Any]:
    """One run of ``mode`` in its own process under /usr/bin/time -v."""
    command = ["/usr/bin/time", "-v", sys.executable, "-m", "benchmarks.marketplace_ingest"]
    done = subprocess.run(
        [*command, mode, str(path)], cwd=REPO, capture_output=True, text=True, check=True
    )
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    rss = re.search(r"Maximum resident set size \(kbytes\): (\d+)", done.stderr)
    wall = re.search(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): ([\d:.]+)", done.stderr)
    result["peak_rss_mib"] = int(rss[1]) / 1024 if rss else None
    result["process_seconds"] = clock_seconds(wall[1]) if wall else None
    return result


def clock_seconds(text: str) -> float:
    seconds = 0.0
    for part in text.split(":"):
        seconds = seconds * 60 + float(part)
    return seconds


def measure(paths: list[Path], repeats: int) -> None:
    print(f"machine: {platform.platform()}, {os.cpu_count()} CPUs, {memory_gib():.1f} GiB RAM")
    for path in paths:
        runs: dict[str, list[dict[str, Any]]] = {mode: [] for mode in MODES}
        for _ in range(repeats):
            for mode in MODES:
                runs[mode].append(timed(mode, path))
        print(f"\n{path} ({path.stat().st_size / 2**30:.2f} GiB)")
        print("| path | lines | wall s (median) | lines/s | peak RSS MiB (max) | vs plain |")
        print("|---|---|---|---|---|---|")
        plain_seconds = statistics.median(r["seconds"] for r in runs["plain"])
        for mode in MODES:
            seconds = statistics.median(r["seconds"] for r in runs[mode])
            rows = runs[mode][0]["rows"]
            rss = max(r["peak_rss_mib"] for r in runs[mode])
            print(
                f"| {mode} | {rows:,} | {seconds:.2f} | {rows / seconds:,.0f} | {rss:,.0f} "
                f"| {seconds / plain_seconds:.2f}x |"
            )
        print("raw:", json.dumps(runs))


def memory_gib() -> float:
    with open("/proc/meminfo") as meminfo:
        total_kib = int(meminfo.readline().split()[1])
    return total_kib / 2**20


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    make = commands.add_parser("generate", help="write a Shopee-style export")
    make.add_argument("--lines", type=int, required=True)
    make.add_argument("--out", type=Path, required=True)
    make.add_argument("--seed", type=int, default=20261128)
    for mode in MODES:
        commands.add_parser(mode, help=RUNNERS[mode].__doc__).add_argument("path", type=Path)
    many = commands.add_parser("measure", help="every mode under /usr/bin/time -v")
    many.add_argument("paths", type=Path, nargs="+")
    many.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    if args.command == "generate":
        generate(args.lines, args.out, args.seed)
    elif args.command == "measure":
        measure(args.paths, args.repeats)
    else:
        run_mode(args.command, args.path)


if __name__ == "__main__":
    main()
