"""The benchmark harness of issue 7: one command, every hot path, side by side with its limit.

    uv run python -m benchmarks.run --scale national --repeats 3     # or: make bench
    uv run python -m benchmarks.run --scale smoke --output /tmp/b.md # seconds; tests use it

In one run and on the same files, each step in its own process (whole-process wall time and
peak RSS from ``/usr/bin/time -v``; validation from ``benchmarks.validation_bench``'s own
workers), repetitions interleaved so machine noise hits every path alike, ratios taken
repetition by repetition:

1. ``ingest``: our ingest of one Shopee-style export (``benchmarks.marketplace_ingest ingest``)
   vs the plain DuckDB conversion to typed, PII-free Parquet (``... plain``, the limit) vs a
   validating pandas peer (``read_csv``, the same suite on a GX pandas batch, ``to_parquet``)
   vs the unvalidated pandas ``read_csv`` -> ``to_parquet`` peer, at two export sizes so
   memory shows whether it grows with the data;
2. ``validation``: ``benchmarks.validation_bench``'s three paths (one SQL query, GX on DuckDB,
   GX on a pandas batch);
3. ``chain``: on the scale's sample landing (``pipelines.samples.landing.write_samples``,
   generated once into ``data/bench/samples/<scale>/``): ``sentra ingest`` + ``sentra build``
   into a fresh lake (end to end), ``sentra build --force`` (the marts alone), then one new
   day of Shopee orders landed on top -> ``sentra ingest`` + ``sentra build`` (the incremental
   event).

The report is written into ``docs/benchmarks.md`` (one section per scale, replaced when rerun);
``--profile`` adds pyinstrument summaries of the hot paths that miss their target.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path

from benchmarks import marketplace_ingest, validation_bench
from benchmarks.validation_bench import machine, spread

REPO = Path(__file__).resolve().parent.parent
CACHE = REPO / "data" / "bench"
DEFAULT_OUTPUT = REPO / "docs" / "benchmarks.md"
SEED = 20261128
GIB = 1024.0

INGEST_TARGET = 2.0  # ours / plain DuckDB (docs/benchmarks.md, "Performance targets")
INGEST_STRETCH = 1.25
VALIDATION_TARGET = 3.0  # GX on DuckDB / one SQL query
MARTS_TARGET_S = 30.0  # build and publish at national scale
EVENT_TARGET_S = 10.0  # a landed file -> published marts, beyond Airflow's scheduling delay
MEMORY_TARGET_MIB = 1024.0
VALIDATING_PEER = "pandas + GX pandas batch (validating peer)"
UNVALIDATED_PEER = "pandas read_csv → to_parquet (unvalidated)"


@dataclass(frozen=True)
class Scale:
    sample: str
    """``pipelines.samples.registry`` scale of the landing the chain runs on."""
    export_lines: tuple[int, int]
    """The two sizes of the single export the ingest comparison runs on."""
    validation_rows: int
    new_day_lines: int
    """Order lines of the incremental event (national: ~10 M lines / 395 days ≈ 25,000)."""
    steps: tuple[str, ...] = ("ingest", "validation", "chain")


SCALES: dict[str, Scale] = {
    "smoke": Scale("demo", (2_000, 6_000), 20_000, 50, steps=("ingest",)),
    "medium": Scale("demo", (200_000, 1_000_000), 1_000_000, 2_500),
    "national": Scale("national", (1_000_000, 5_000_000), 5_000_000, 25_000),
}


@dataclass
class Run:
    seconds: float
    peak_rss_mib: float
    load: float


@dataclass
class Row:
    """One measured path: its runs, in repetition order."""

    group: str
    label: str
    runs: list[Run] = field(default_factory=list)

    def median(self) -> float:
        return statistics.median(run.seconds for run in self.runs)


def load_average() -> float:
    return os.getloadavg()[0]


def timed(command: Sequence[str], env: dict[str, str] | None = None) -> Run:
    """Run ``command`` under ``/usr/bin/time -v``: its whole-process wall time and peak RSS."""
    load = load_average()
    done = subprocess.run(
        ["/usr/bin/time", "-v", *command],
        cwd=REPO,
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        check=False,
    )
    stats = dict(line.strip().rsplit(": ", 1) for line in done.stderr.splitlines() if ": " in line)
    # sentra exits 1 when a sample file is deliberately quarantined: that is data, not a crash.
    if done.returncode not in (0, 1) or "Maximum resident set size (kbytes)" not in stats:
        raise RuntimeError(f"{shlex.join(command)} failed:\n{done.stderr[-3000:]}")
    return Run(
        marketplace_ingest.clock_seconds(stats["Elapsed (wall clock) time (h:mm:ss or m:ss)"]),
        int(stats["Maximum resident set size (kbytes)"]) / 1024,
        load,
    )


def python(*args: str) -> list[str]:
    return [sys.executable, "-m", *args]


def sentra(*args: str) -> list[str]:
    """The ``sentra`` command of this environment."""
    return [str(Path(sys.executable).with_name("sentra")), *args]


def local_env(landing: Path, lake: Path, warehouse: Path) -> dict[str, str]:
    """The settings of a ``sentra`` run on local folders with the demo salt (samples only)."""
    return {
        "SENTRA_LANDING": str(landing),
        "SENTRA_LAKE": str(lake),
        "SENTRA_WAREHOUSE": str(warehouse / "sentra.duckdb"),
        "SENTRA_ALLOW_DEMO_SALT": "true",
    }


# --- the pandas peers ------------------------------------------------------------------------


def pandas_peer(path: Path, target: Path) -> int:
    """Unvalidated: pandas ``read_csv`` -> drop the personal columns -> ``to_parquet``."""
    import pandas as pd

    from pipelines.feeds.marketplace.layouts import recognise_export

    personal = recognise_export(f"{marketplace_ingest.SHOP}/x.csv", path).layout
    frame = pd.read_csv(path)
    frame = frame.drop(columns=[name for name in frame.columns if name in personal.personal])
    frame.to_parquet(target)
    return len(frame)


def validating_pandas_peer(path: Path, target: Path) -> int:
    """What a data engineer would write: pandas, the same suite on a GX pandas batch, Parquet.

    ``read_csv`` of the layout's columns as text, typed into the ``marketplace_orders`` columns
    the suite checks (statuses through the same vocabulary, rupiah amounts, Jakarta times,
    province codes resolved once per spelling, a keyed 64-bit buyer hash), then
    ``expectations/marketplace_orders.json`` on the whole frame as a GX pandas batch
    (``Validator.validate``), then ``to_parquet``. It only handles the Shopee layout the
    benchmark exports use; the peer is given every shortcut ours may not take.
    """
    import pandas as pd

    from pipelines.feeds.marketplace.convert import STATUSES, status_vocabulary
    from pipelines.feeds.marketplace.handler import DATASET, EARLIEST_ORDER_DATE
    from pipelines.feeds.marketplace.layouts import JAKARTA, recognise_export
    from pipelines.platform.settings import Settings
    from pipelines.quality.validation import Validator
    from pipelines.reference.regions import RegionResolutionError, load_regions

    export = recognise_export(f"{marketplace_ingest.SHOP}/export.csv", path)
    fields = export.layout.fields
    text = pd.read_csv(path, dtype=str, usecols=list(fields.values()))
    column = {name: text[header] for name, header in fields.items()}
    statuses = dict(zip(*status_vocabulary(), strict=True))
    regions = load_regions()

    def province_code(spelling: str) -> str | None:
        try:
            return regions.resolve_province(spelling).code
        except RegionResolutionError:
            return None

    def rupiah(values: pd.Series) -> pd.Series:
        digits = values.str.replace(r"^\s*Rp\.?\s*|\.", "", regex=True)
        return pd.to_numeric(digits, errors="coerce").astype("Int64")

    ordered_at = pd.to_datetime(
        column["ordered_at"], format=export.layout.timestamp_formats[0], errors="coerce"
    ).dt.tz_localize(JAKARTA)
    returned = column["return_status"].str.lower().map(statuses)
    quantity = pd.to_numeric(column["quantity"], errors="coerce").astype("Int64")
    unit_price = rupiah(column["unit_price"])
    spellings = column["province"].drop_duplicates().dropna()
    codes = dict(zip(spellings, map(province_code, spellings), strict=True))
    frame = pd.DataFrame(
        {
            "marketplace": export.marketplace,
            "seller_account": export.seller_account,
            "order_id": column["order_id"],
            "order_line_id": f"{export.marketplace}:" + column["order_id"] + ":" + column["sku"],
            "status": returned.where(returned != "completed").fillna(
                column["status"].str.lower().map(statuses)
            ),
            "ordered_at": ordered_at.dt.tz_convert("UTC"),
            "order_date": ordered_at.dt.date,
            "quantity": quantity,
            "unit_price_idr": unit_price,
            "gross_idr": unit_price * quantity,
            "net_idr": rupiah(column["line_amount"]),
            "buyer_hash": pd.util.hash_pandas_object(
                column["buyer"].str.lower(), index=False, hash_key="benchmark-salt-0"
            ).map("{:016x}".format),
            "buyer_province_code": column["province"].map(codes),
            "source_sheet": None,
            "source_row": text.index + 2,
        }
    )
    parameters = {
        "province_codes": sorted(regions.provinces),
        "statuses": list(STATUSES),
        "earliest_order_date": EARLIEST_ORDER_DATE,
        "landed_on": datetime.now(JAKARTA).date(),
        "min_expected_rows": 0,
    }
    outcome = Validator(Settings().expectations_dir).validate(DATASET, frame, parameters)
    if not outcome.passed:
        raise RuntimeError(f"the peer's frame failed validation: {outcome.critical_failures}")
    frame.to_parquet(target)
    return len(frame)


PEERS: dict[str, Callable[[Path, Path], int]] = {
    "--pandas-peer": pandas_peer,
    "--validating-pandas-peer": validating_pandas_peer,
}


# --- inputs ----------------------------------------------------------------------------------


def export_file(lines: int, cache: Path) -> Path:
    path = cache / "exports" / f"shopee_{lines}_seed{SEED}.csv"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(".partial")
        print(f"generating {path} ...", flush=True)
        marketplace_ingest.generate(lines, partial, SEED)
        partial.replace(path)
    return path


def sample_landing(scale: str, cache: Path) -> Path:
    """The scale's sample feeds, written once into the cache (``COMPLETE`` marks a whole one)."""
    from pipelines.platform.storage import open_storage
    from pipelines.samples.landing import write_samples

    root = cache / "samples" / scale
    landing = root / "landing"
    if not (root / "COMPLETE").exists():
        print(f"generating the {scale} sample into {landing} ...", flush=True)
        shutil.rmtree(landing, ignore_errors=True)
        started = time.perf_counter()
        report = write_samples(open_storage(str(landing)), scale, SEED)
        (root / "COMPLETE").write_text(
            f"{time.perf_counter() - started:.0f} s, {report.marketplace.order_lines} order lines\n"
            if report.marketplace
            else "done\n",
            encoding="utf-8",
        )
    return landing


def land_new_day(landing: Path, lines: int, repetition: int) -> Path:
    """One new day of Shopee orders for a shop already in the landing, as its own export."""
    from pipelines.samples import marketplace as ms
    from pipelines.samples.registry import build_registry

    shop_folder = sorted((landing / "marketplace" / "shopee").iterdir())[0]
    rng = random.Random(f"{SEED}/bench/new-day/{repetition}")
    sentra = next(s for sub in build_registry("demo", SEED).current() for s in sub.sentra)
    shop = ms.make_shop("shopee", shop_folder.name, sentra, rng)
    offset = 950_000_000 + repetition * 1_000_000
    maker = ms.OrderMaker(rng, 3_000_000, ms.shopee_order_id(offset))
    day = ms.LAST_ORDER_DAY + timedelta(days=1)
    target = shop_folder / f"bench-new-day-{repetition}.csv"
    with target.open("w", encoding="utf-8", newline="") as stream:
        ms.write_csv(stream, ms.SHOPEE, maker.orders(shop, lines, ms.Calendar.of(day, day)))
    return target


# --- the three groups ------------------------------------------------------------------------


def measure_ingest(
    scale: Scale, lines: int, repeats: int, cache: Path, skip_gx: bool = False
) -> list[Row]:
    """Ours vs the plain DuckDB conversion vs both pandas peers, on an export of ``lines`` lines."""
    path = export_file(lines, cache)
    paths = {
        "plain DuckDB (limit)": python("benchmarks.marketplace_ingest", "plain", str(path)),
        "ours: Ingestor": python("benchmarks.marketplace_ingest", "ingest", str(path)),
        VALIDATING_PEER: python("benchmarks.run", "--validating-pandas-peer", str(path)),
        UNVALIDATED_PEER: python("benchmarks.run", "--pandas-peer", str(path)),
    }
    if skip_gx:
        del paths["ours: Ingestor"], paths[VALIDATING_PEER]
    group = f"ingest {lines:,} lines ({path.stat().st_size / 2**20:,.0f} MiB CSV)"
    measured = {label: Row(group, label) for label in paths}
    for _ in range(repeats):
        for label, command in paths.items():
            measured[label].runs.append(timed(command))
    return list(measured.values())


def measure_validation(scale: Scale, repeats: int) -> list[Row]:
    workdir = validation_bench.DEFAULT_WORKDIR
    parquet = workdir / f"order_lines_{scale.validation_rows}_seed20261.parquet"
    if not parquet.exists():
        validation_bench.generate_order_lines(parquet, scale.validation_rows, 20261)
    suite_dir = workdir / "expectations"
    validation_bench.write_suite(suite_dir)
    group = f"validation {scale.validation_rows:,} rows"
    measured = {mode: Row(group, label) for mode, label in validation_bench.MODES.items()}
    for _ in range(repeats):
        for mode, row in measured.items():
            load = load_average()
            done = validation_bench.measure_in_subprocess(mode, parquet, suite_dir)
            row.runs.append(Run(done.process_seconds or done.seconds, done.peak_rss_mib, load))
    return list(measured.values())


def measure_chain(scale: Scale, repeats: int, cache: Path) -> list[Row]:
    landing = sample_landing(scale.sample, cache)
    labels = [
        "sentra ingest (everything landed)",
        "sentra build (first publish)",
        "end to end: ingest + build",
        "marts: sentra build --force",
        f"event: {scale.new_day_lines:,} new lines, ingest",
        "event: build",
        "event: ingest + build",
    ]
    rows = {label: Row(f"chain on the {scale.sample} sample", label) for label in labels}
    sentra = [str(Path(sys.executable).with_name("sentra"))]
    for repetition in range(repeats):
        with tempfile.TemporaryDirectory(prefix="sentra-bench-chain-", dir=cache) as folder:
            env = {
                "SENTRA_LANDING": str(landing),
                "SENTRA_LAKE": str(Path(folder) / "lake"),
                "SENTRA_WAREHOUSE": str(Path(folder) / "warehouse" / "sentra.duckdb"),
            }
            ingest = timed([*sentra, "ingest"], env)
            build = timed([*sentra, "build"], env)
            rebuild = timed([*sentra, "build", "--force"], env)
            new_day = land_new_day(landing, scale.new_day_lines, repetition)
            try:
                event_ingest = timed([*sentra, "ingest"], env)
                event_build = timed([*sentra, "build"], env)
            finally:
                new_day.unlink()
        for label, run in zip(
            labels,
            [
                ingest,
                build,
                combined(ingest, build),
                rebuild,
                event_ingest,
                event_build,
                combined(event_ingest, event_build),
            ],
            strict=True,
        ):
            rows[label].runs.append(run)
    return list(rows.values())


def combined(first: Run, second: Run) -> Run:
    return Run(
        first.seconds + second.seconds,
        max(first.peak_rss_mib, second.peak_rss_mib),
        max(first.load, second.load),
    )


# --- reporting -------------------------------------------------------------------------------


def ratios(row: Row, limit: Row) -> list[float]:
    return [a.seconds / b.seconds for a, b in zip(row.runs, limit.runs, strict=True)]


def table(rows: Sequence[Row]) -> list[str]:
    lines = [
        "| step | path | wall (whole process) | peak RSS | load (1 min) | vs limit, per run |",
        "|---|---|---|---|---|---|",
    ]
    limits: dict[str, Row] = {}
    for row in rows:
        limits.setdefault(row.group, row)
        limit = limits[row.group]
        versus = "limit" if row is limit else spread(ratios(row, limit), "x")
        if row.group.startswith("chain"):
            versus = "-"
        cells = [
            row.group,
            row.label,
            spread([run.seconds for run in row.runs], "s", 1),
            spread([run.peak_rss_mib for run in row.runs], "MiB", 0),
            spread([run.load for run in row.runs], "", 1).replace("  ", " "),
            versus,
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def verdict(value: float, target: float, unit: str) -> str:
    if value <= target:
        return f"met ({value:.2f}{unit} ≤ {target:g}{unit})"
    return f"**missed by {value / target:.2f}x** ({value:.2f}{unit} against ≤ {target:g}{unit})"


def find(rows: Sequence[Row], group_prefix: str, label: str) -> list[Row]:
    return [r for r in rows if r.group.startswith(group_prefix) and r.label.startswith(label)]


def targets(rows: Sequence[Row], scale_name: str) -> list[str]:
    out: list[str] = []
    plain, ours = find(rows, "ingest", "plain"), find(rows, "ingest", "ours")
    for limit, row in zip(plain, ours, strict=False):
        ratio = statistics.median(ratios(row, limit))
        out.append(
            f"- ingest, {row.group[7:]}: ours / plain DuckDB {verdict(ratio, INGEST_TARGET, 'x')}"
            f"; stretch {verdict(ratio, INGEST_STRETCH, 'x')}"
        )
    for row in ours:
        for peer in [r for r in rows if r.group == row.group and r.label == VALIDATING_PEER]:
            speed = statistics.median(ratios(row, peer))
            lean = max(r.peak_rss_mib for r in row.runs) / max(r.peak_rss_mib for r in peer.runs)
            out.append(
                f"- ingest, {row.group[7:]}: ours / the validating pandas peer: time "
                f"{verdict(speed, 1.0, 'x')}, peak memory {verdict(lean, 1.0, 'x')}"
            )
    if ours:
        peaks = [max(run.peak_rss_mib for run in row.runs) for row in ours]
        growth = " → ".join(f"{peak:,.0f} MiB" for peak in peaks)
        out.append(
            f"- ingest peak memory at the two sizes: {growth}; "
            f"{verdict(max(peaks) / GIB, MEMORY_TARGET_MIB / GIB, ' GiB')}"
        )
    sql, gx = find(rows, "validation", "(1)"), find(rows, "validation", "(2)")
    if sql and gx:
        ratio = statistics.median(ratios(gx[0], sql[0]))
        out.append(
            f"- validation, GX on DuckDB / one SQL query (whole processes, GX import included): "
            f"{verdict(ratio, VALIDATION_TARGET, 'x')}"
        )
    marts = find(rows, "chain", "marts")
    if marts:
        note = "" if scale_name.startswith("national") else " (target is for national scale)"
        out.append(
            f"- marts build and publish: {verdict(marts[0].median(), MARTS_TARGET_S, ' s')}{note}"
        )
    event = find(rows, "chain", "event: ingest + build")
    if event:
        out.append(
            f"- event to published marts (beyond Airflow's scheduling delay): "
            f"{verdict(event[0].median(), EVENT_TARGET_S, ' s')}"
        )
    return out


def profile_summary(command: Sequence[str], env: dict[str, str] | None = None) -> str:
    """A pyinstrument profile of ``command`` (``python -m ...``), trimmed to its top."""
    with tempfile.NamedTemporaryFile("r", suffix=".txt") as out:
        subprocess.run(
            [sys.executable, "-m", "pyinstrument", "--show-all", "-o", out.name, *command[2:]],
            cwd=REPO,
            env={**os.environ, **(env or {})},
            capture_output=True,
            check=False,
        )
        text = Path(out.name).read_text(encoding="utf-8")
    kept = [line for line in text.splitlines() if line.strip()][:45]
    return "\n".join(["```", *kept, "```"])


def section(
    scale_name: str, rows: Sequence[Row], command: str, loads: tuple[float, float], started: float
) -> str:
    lines = [
        f"### scale `{scale_name}`",
        "",
        f"- command: `{command}` ({(time.perf_counter() - started) / 60:.1f} min in all)",
        f"- date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
        f"- machine: {machine()}",
        f"- load average (1 min) at the start and end: {loads[0]:.1f} / {loads[1]:.1f}; the load "
        "column gives it at the start of every run. Other sessions share the machine, so "
        "absolute times are noisy; the ratios are per repetition, paths interleaved",
        f"- {len(rows[0].runs)} repetitions; median (min-max)",
        "",
        *table(rows),
        "",
        "Targets (see Performance targets):",
        "",
        *targets(rows, scale_name),
        "",
    ]
    return "\n".join(lines)


DOC_HEADER = """# Benchmarks

Written by `benchmarks/run.py` (`make bench`, or `uv run python -m benchmarks.run --scale
national --repeats 3`); each section between the markers is replaced when its scale is rerun.
What each path does is in the module docstring; the validation paths are those of
[validation-performance.md](validation-performance.md).

The targets are in docs/benchmarks.md, "Performance targets".

## Results

"""


def write_section(doc: Path, scale_name: str, text: str) -> None:
    """Replace the scale's section of ``doc`` (between its markers), or append it."""
    block = f"<!-- bench scale={scale_name} -->\n{text}<!-- /bench scale={scale_name} -->\n"
    previous = re.compile(
        f"<!-- bench scale={scale_name} -->.*?/bench scale={scale_name} -->\n", re.S
    )
    current = doc.read_text(encoding="utf-8") if doc.exists() else DOC_HEADER
    replaced, found = previous.subn(lambda _: block, current, count=1)
    doc.parent.mkdir(parents=True, exist_ok=True)
    doc.write_text(replaced if found else f"{current.rstrip()}\n\n{block}", encoding="utf-8")


def parse(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", choices=sorted(SCALES), default="national")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument(
        "--chain-repeats", type=int, help="repetitions of the chain (default: --repeats)"
    )
    parser.add_argument("--steps", help="comma-separated subset of: ingest,validation,chain")
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    parser.add_argument("--cache", type=Path, default=CACHE, help="generated inputs, reused")
    parser.add_argument("--profile", action="store_true", help="pyinstrument the hot paths")
    parser.add_argument(
        "--skip-gx",
        action="store_true",
        help="leave out every path that imports Great Expectations (a smoke test in seconds)",
    )
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if args[:1] and args[0] in PEERS:  # one run of a peer, in a process the parent times
        source = Path(args[1])
        with tempfile.TemporaryDirectory(dir=source.parent) as folder:
            PEERS[args[0]](source, Path(folder) / "out.parquet")
    else:
        bench(parse(args), args)
    return 0


def bench(options: argparse.Namespace, args: Sequence[str]) -> None:
    scale = SCALES[options.scale]
    steps = options.steps.split(",") if options.steps else scale.steps
    if options.skip_gx:  # validation and the chain cannot run without GX
        steps = [step for step in steps if step == "ingest"]
    started, load_before = time.perf_counter(), load_average()
    groups: list[Callable[[], list[Row]]] = []
    if "ingest" in steps:
        groups += [
            partial(measure_ingest, scale, lines, options.repeats, options.cache, options.skip_gx)
            for lines in scale.export_lines
        ]
    if "validation" in steps:
        groups.append(partial(measure_validation, scale, options.repeats))
    if "chain" in steps:
        repeats = options.chain_repeats or options.repeats
        groups.append(partial(measure_chain, scale, repeats, options.cache))
    command = shlex.join(["uv", "run", "python", "-m", "benchmarks.run", *args])
    # A run of some steps only gets its own section: it does not replace a whole run's.
    key = options.scale + (f" steps={','.join(steps)}" if options.steps else "")
    rows: list[Row] = []
    for done, group in enumerate(groups, start=1):
        rows += group()
        # Written after every group, so a long run that is stopped keeps what it measured.
        text = section(key, rows, command, (load_before, load_average()), started)
        if done < len(groups):
            text += f"\n**Partial: {done} of {len(groups)} groups measured so far.**\n"
        elif options.profile:
            text += profiles(rows, scale, options.cache)
        write_section(options.output, key, text)
    print(text)


def profiles(rows: Sequence[Row], scale: Scale, cache: Path) -> str:
    out = ""
    ours, plain = find(rows, "ingest", "ours"), find(rows, "ingest", "plain")
    if ours and statistics.median(ratios(ours[-1], plain[-1])) > INGEST_TARGET:
        path = export_file(scale.export_lines[-1], cache)
        command = python("benchmarks.marketplace_ingest", "ingest", str(path))
        out += f"\nWhere our ingest of {path.name} spends its time (pyinstrument):\n\n"
        out += profile_summary(command) + "\n"
    return out


if __name__ == "__main__":
    sys.exit(main())
