"""National "ingest everything" against the plain conversions of the same files.

Two whole processes on the national sample's landing store, each under ``/usr/bin/time -v``:

1. ``sentra ingest`` of every landed file into a fresh lake (the ledger settles what it has
   seen, so each repetition needs its own lake): raw copies, parsing, GX validation, clean
   Parquet, ledger records;
2. the plain DuckDB conversions of the same exports in one process: each marketplace export
   with ``benchmarks.marketplace_ingest``'s plain statement. The registry submissions (hand-made
   CSV and XLSX with preambles, which a plain ``read_csv`` refuses) and BPS answers are left out
   of this side only (0.5% of the bytes), which counts against ours.

    uv run python -m benchmarks.national_ingest measure /work/national/landing \\
        --work /work/national-ingest --repeats 1
"""

from __future__ import annotations

import argparse
import json
import shlex
import shutil
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from benchmarks import marketplace_ingest, run
from benchmarks.validation_bench import machine

SECTION = "national-ingest"
NATIONAL_TARGET = 3.0  # ours / the plain conversions (docs/benchmarks.md, "Performance targets")


def plain_conversions(landing: Path) -> dict[str, int]:
    """Convert every marketplace export under ``landing``: files and rows converted."""
    counts = {"marketplace files": 0, "rows": 0}
    with tempfile.TemporaryDirectory(prefix="sentra-plain-") as folder:
        target = Path(folder) / "out.parquet"
        for path in sorted((landing / "marketplace").rglob("*")):
            if path.is_file():
                key = path.relative_to(landing).as_posix()
                counts["rows"] += marketplace_ingest.plain_export(key, path, target)
                counts["marketplace files"] += 1
    return counts


def measure(landing: Path, work: Path, repeats: int, output: Path) -> None:
    started, load_before = time.perf_counter(), run.load_average()
    group = f"national ingest of {landing}"
    ours = run.Row(group, "ours: sentra ingest (everything landed)")
    plain = run.Row(group, "plain DuckDB conversions of the same files (limit)")
    for repetition in range(repeats):
        lake = work / f"lake-{repetition}"
        shutil.rmtree(lake, ignore_errors=True)
        env = run.local_env(landing, lake, work / "warehouse")
        plain.runs.append(
            run.timed(run.python("benchmarks.national_ingest", "plain", str(landing)))
        )
        ours.runs.append(run.timed(run.sentra("ingest"), env))
        shutil.rmtree(lake, ignore_errors=True)
    rows = [plain, ours]
    ratio = run.ratios(ours, plain)
    command = shlex.join(["uv", "run", "python", "-m", "benchmarks.national_ingest", *sys.argv[1:]])
    text = "\n".join(
        [
            '### national "ingest everything" against the plain conversions',
            "",
            f"- command: `{command}` ({(time.perf_counter() - started) / 60:.1f} min in all)",
            f"- date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
            f"- machine: {machine()}",
            f"- load average (1 min) at the start and end: {load_before:.1f} / "
            f"{run.load_average():.1f}",
            f"- {repeats} repetitions; median (min-max)",
            "",
            *run.table(rows),
            "",
            f"- national ingest / plain conversions: "
            f"{run.verdict(statistics.median(ratio), NATIONAL_TARGET, 'x')}",
            "",
        ]
    )
    run.write_section(output, SECTION, text)
    print(text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("plain", help="the plain conversions, timed by the parent").add_argument(
        "landing", type=Path
    )
    many = commands.add_parser("measure", help="both sides under /usr/bin/time -v")
    many.add_argument("landing", type=Path)
    many.add_argument("--work", type=Path, required=True, help="fresh lakes are made here")
    many.add_argument("--repeats", type=int, default=1)
    many.add_argument("--output", type=Path, default=run.DEFAULT_OUTPUT)
    args = parser.parse_args()
    if args.command == "plain":
        print(json.dumps(plain_conversions(args.landing)))
    else:
        measure(args.landing, args.work, args.repeats, args.output)


if __name__ == "__main__":
    main()
