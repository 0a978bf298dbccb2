"""The ``sentra`` command line: sample feeds, ingest, build the marts, report status, run a demo.

Exit codes: 0 ok, 1 data failed validation (quarantined) or a file failed, 2 usage or
configuration error.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

if TYPE_CHECKING:
    from pipelines.app.usecases import Alerted, IngestRun, MartsBuild
    from pipelines.feeds.contract import ProgressCallback
    from pipelines.ingest.engine import IngestSummary
    from pipelines.platform.settings import Settings
    from pipelines.report.data import Row

EXIT_OK, EXIT_DATA_FAILED, EXIT_USAGE = 0, 1, 2

app = typer.Typer(
    help="Sentra IKM revitalisation pipeline: ingest feeds, validate, build and publish marts.",
    no_args_is_help=True,
    add_completion=False,
)
console = Console()
errors = Console(stderr=True)

RunIdOption = Annotated[
    str | None,
    typer.Option(
        help="Run id recorded in the ledger (Airflow passes its own); generated when omitted."
    ),
]


@app.callback()
def main(
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log every step.")] = False,
) -> None:
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )


def load_settings() -> Settings:
    from pydantic import ValidationError

    from pipelines.platform.settings import Settings

    try:
        return Settings()
    except ValidationError as error:
        errors.print(f"[red]Configuration error[/red] (SENTRA_* environment variables):\n{error}")
        raise typer.Exit(EXIT_USAGE) from error


@app.command()
def sample(
    scale: Annotated[
        str,
        typer.Option(help="demo (~150 sentra) or national (~7,500 sentra, ~300,000 member IKM)."),
    ] = "demo",
    seed: Annotated[
        int, typer.Option(help="Random seed; the same seed writes the same bytes.")
    ] = 20261128,
    errors_included: Annotated[
        bool,
        typer.Option("--with-errors/--no-errors", help="Include one deliberately broken file."),
    ] = True,
) -> None:
    """Write realistic sample feeds into the landing store."""
    try:
        from pipelines.samples.landing import write_samples
        from pipelines.samples.registry import SCALES
    except ModuleNotFoundError as error:
        if not (error.name or "").startswith("pipelines.samples"):
            raise
        errors.print(
            "[red]The sample generators are not installed here:[/red] they ship with the "
            "source checkout (`make demo`), not with the production wheel."
        )
        raise typer.Exit(EXIT_USAGE) from None

    if scale not in SCALES:
        errors.print(f"[red]Unknown scale {scale!r}[/red]; choose one of {', '.join(SCALES)}.")
        raise typer.Exit(EXIT_USAGE)
    settings = load_settings()
    with progress_bar("sample") as advance:
        report = write_samples(
            settings.landing_store,
            scale=scale,
            seed=seed,
            include_errors=errors_included,
            progress=advance,
        )
    console.print(
        f"Wrote {len(report.files)} files ({report.sentra_rows:,} sentra rows, "
        f"{report.member_rows:,} member IKM rows) to {settings.landing_store.uri}"
    )
    console.print(f"  and {len(report.bps_files)} BPS Web API responses under bps/")
    broken = list(report.deliberately_broken)
    if report.marketplace:
        market = report.marketplace
        console.print(
            f"  and {len(market.files)} marketplace exports ({market.order_lines:,} order lines) "
            "under marketplace/"
        )
        broken += market.deliberately_broken
        for key in market.with_bad_lines:
            console.print(f"  with a few bad lines (those should be quarantined alone): {key}")
    for key in broken:
        console.print(f"  deliberately broken (should be quarantined): {key}")


@app.command()
def ingest(
    keys: Annotated[
        list[str] | None,
        typer.Argument(
            help="Landing keys to ingest (e.g. registry/jatim.xlsx); default every new file. "
            "`sentra ingest bps` pulls the BPS tables in pipelines/config/bps_tables.yaml "
            "from the BPS Web API instead."
        ),
    ] = None,
    run_id: RunIdOption = None,
) -> None:
    """Ingest every new landed file (or the keys given): raw copy, parse, validate, publish."""
    summary = run_ingest(load_settings(), keys, run_id)
    raise typer.Exit(summary.exit_code)


def run_ingest(settings: Settings, keys: list[str] | None, run_id: str | None) -> IngestSummary:
    from pipelines.app import usecases

    first, *extra = keys or [""]
    pulling_bps = first == "bps"
    if pulling_bps and extra:
        errors.print(
            "`sentra ingest bps` pulls every configured BPS table and takes no landing keys; "
            f"got {' '.join(extra)}. Ingest landed BPS responses with `sentra ingest bps/...`."
        )
        raise typer.Exit(EXIT_USAGE)
    try:
        with configuration_errors(), bps_errors(), progress_bar("ingest") as advance:
            if pulling_bps:
                run = usecases.pull_bps(settings, run_id, progress=advance)
            else:
                run = usecases.ingest(settings, run_id, keys or None, progress=advance)
    except FileNotFoundError as error:
        errors.print(f"[red]{error}[/red]")
        raise typer.Exit(EXIT_USAGE) from error
    show_run(run)
    return run.summary


@contextmanager
def progress_bar(label: str) -> Iterator[ProgressCallback]:
    """A progress bar for a long step, advanced by the callback it yields. Drawn only on a
    terminal and gone when the step ends, so logs and pipes get no progress lines."""
    with Progress(
        TextColumn(f"[bold]{label}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("{task.description}"),
        console=console,
        transient=True,
    ) as progress:
        task = progress.add_task("", total=None)

        def advance(position: int, total: int, name: str) -> None:
            progress.update(task, completed=position - 1, total=total, description=name)

        yield advance


@contextmanager
def configuration_errors() -> Iterator[None]:
    """Settings unfit for the command (e.g. the demo PII salt outside the demo) exit 2."""
    from pipelines.platform.settings import ConfigurationError

    try:
        yield
    except ConfigurationError as error:
        errors.print(f"[red]Configuration error:[/red] {error}")
        raise typer.Exit(EXIT_USAGE) from None


def show_run(run: IngestRun) -> None:
    print_ingest_summary(run.summary)
    show_alerts(run.alerted)


def show_alerts(alerted: Alerted) -> None:
    """Print every alert raised, then say which channels did not get it."""
    from rich.markup import escape
    from rich.panel import Panel

    for alert in alerted.alerts:
        colour = "red" if alert.severity == "critical" else "yellow"
        errors.print(
            Panel(
                escape(alert.body),
                title=f"[{colour}]{alert.severity.upper()}[/] {alert.title}",
                border_style=colour,
                expand=False,
            )
        )
    for delivery in alerted.undelivered:
        errors.print(
            f"[red]Alert not delivered[/red] to {delivery.channel} "
            f"after {delivery.attempts} attempts (see the log)."
        )


@contextmanager
def bps_errors() -> Iterator[None]:
    """Configuration and discovery problems exit 2; an unreachable listing exits 1."""
    from rich.markup import escape

    from pipelines.feeds.bps.api import BpsResponseError
    from pipelines.feeds.bps.client import BpsApiError
    from pipelines.feeds.bps.tables import BpsConfigError

    try:
        yield
    except BpsConfigError as error:
        errors.print(f"[red]BPS configuration error:[/red] {escape(str(error))}")
        raise typer.Exit(EXIT_USAGE) from None
    except (BpsApiError, BpsResponseError) as error:
        errors.print(f"[red]BPS listing could not be read:[/red] {escape(str(error))}")
        raise typer.Exit(EXIT_DATA_FAILED) from None


bps_app = typer.Typer(help="The BPS Web API feed.", no_args_is_help=True)
app.add_typer(bps_app, name="bps")


@bps_app.command("tables")
def bps_tables() -> None:
    """Find the configured BPS tables and the province domains in BPS's listings; show them."""
    from rich.markup import escape

    from pipelines.feeds.bps.client import client_from_settings
    from pipelines.feeds.bps.discovery import discover
    from pipelines.feeds.bps.tables import MEASURE_TEXT, load_config

    settings = load_settings()
    with bps_errors(), client_from_settings(settings) as api:
        found = discover(api, load_config())
    tables = Table(title=f"BPS tables (subject {found.subject!r}, sub_id {found.subject_id})")
    for column in ("measure", "var", "title", "pinned", "domains"):
        tables.add_column(column)
    for table in found.tables:
        pinned = "var" if table.table.var is not None else ""
        pinned += " domains" if table.table.domains else ""
        tables.add_row(
            MEASURE_TEXT[table.table.measure],
            str(table.var),
            escape(table.title),
            pinned.strip() or "-",
            str(len(table.domains)),
        )
    console.print(tables)
    domains = Table(title="BPS province domains, mapped to Kemendagri by name")
    for column in ("BPS domain", "BPS name", "Kemendagri code", "Kemendagri name"):
        domains.add_column(column)
    for province in found.provinces:
        domains.add_row(
            province.domain,
            escape(province.bps_name),
            province.province_code,
            province.province_name,
        )
    console.print(domains)


def print_ingest_summary(summary: IngestSummary) -> None:
    table = Table(title=f"Ingest run {summary.run_id}", show_lines=False)
    for column in ("file", "status", "rows", "what happened"):
        table.add_column(column)
    colours = {
        "ingested": "green",
        "quarantined": "yellow",
        "failed": "red",
        "parked": "red",
        "skipped": "dim",
    }
    for outcome in summary.outcomes:
        detail = outcome.message + (f"\nreport: {outcome.report_key}" if outcome.report_key else "")
        table.add_row(
            outcome.key,
            f"[{colours.get(outcome.status, 'white')}]{outcome.status}",
            str(outcome.rows_in or ""),
            detail,
        )
    console.print(table)
    counts = Counter(outcome.status for outcome in summary.outcomes)
    console.print(
        ", ".join(f"{n} {status}" for status, n in sorted(counts.items()))
        or "No landed files found."
    )


@app.command()
def replay(
    sha256: Annotated[str, typer.Argument(help="The file's sha256 (or a unique prefix of it).")],
    run_id: RunIdOption = None,
) -> None:
    """Run a received file again from its raw copy (after fixing a suite or reference data)."""
    from pipelines.app import usecases

    try:
        with configuration_errors():
            run = usecases.replay(load_settings(), run_id, [sha256])
    except LookupError as error:
        errors.print(f"[red]{error}[/red]. `sentra status` lists quarantined files.")
        raise typer.Exit(EXIT_USAGE) from error
    show_run(run)
    raise typer.Exit(run.summary.exit_code)


@app.command()
def build(
    force: Annotated[bool, typer.Option(help="Rebuild even if nothing changed.")] = False,
    report: Annotated[
        bool,
        typer.Option(
            help="Also write the version's HTML report. With --no-report only the marts are "
            "published, as the Airflow build task does; the next `sentra build` writes the "
            "missing report."
        ),
    ] = True,
    run_id: RunIdOption = None,
) -> None:
    """Build the marts from the clean lake and publish them atomically."""
    run_build(load_settings(), force, run_id, with_report=report)


def run_build(
    settings: Settings, force: bool, run_id: str | None, with_report: bool = True
) -> MartsBuild:
    from pipelines.app import usecases
    from pipelines.lake.ledger import new_run_id
    from pipelines.marts.schema import MartsCheckError
    from pipelines.platform.storage import StorageError

    try:
        with console.status("building marts ..."):
            result = usecases.build(
                settings, run_id or new_run_id(), force=force, with_report=with_report
            )
    except (MartsCheckError, StorageError) as error:
        errors.print(
            f"[red]Marts not published:[/red] {error}. "
            f"The previous version at {settings.warehouse} keeps serving."
        )
        raise typer.Exit(EXIT_DATA_FAILED) from error
    console.print(f"{result.message}: {result.location}")
    for table, rows in sorted(result.record.row_counts.items()):
        console.print(f"  marts.{table}: {rows:,} rows")
    if result.report:
        console.print(f"Report: {result.report}")
    elif not with_report:
        console.print("Report not asked for (--no-report); the next `sentra build` writes it.")
    else:
        errors.print(
            "[yellow]Report not written[/yellow] (see the log); the next `sentra build` writes it."
        )
    return result


@app.command("fetch-marts")
def fetch_marts(
    destination: Annotated[
        Path,
        typer.Argument(help="Where the DuckDB file goes on this host, e.g. /srv/bi/sentra.duckdb."),
    ],
    parquet: Annotated[
        bool,
        typer.Option("--parquet", help="Also fetch each mart as Parquet, into parquet/ beside it."),
    ] = False,
    report: Annotated[
        bool,
        typer.Option(
            "--report", help="Also fetch the version's HTML report into report/ beside it."
        ),
    ] = False,
) -> None:
    """Copy the current published marts from an S3 warehouse to this host (for BI tools).

    Replaces the file atomically: a BI tool holding the previous copy keeps its snapshot.
    Run it on a schedule, or after each `sentra.marts` event.
    """
    from pipelines.marts.release import fetch_current

    settings = load_settings()
    if not settings.warehouse_on_s3:
        errors.print(
            f"SENTRA_WAREHOUSE={settings.warehouse} is a local file: open it read-only where it "
            "is. fetch-marts copies from an s3:// warehouse."
        )
        raise typer.Exit(EXIT_USAGE)
    try:
        current = fetch_current(settings.warehouse_store, destination, with_parquet=parquet)
    except LookupError as error:
        errors.print(f"[red]{error}[/red] (run `sentra build` first).")
        raise typer.Exit(EXIT_DATA_FAILED) from None
    console.print(
        f"marts version {current.version} (published {current.published_at}) -> "
        f"{destination.resolve()}"
    )
    if report:
        from pipelines.report.site import fetch_report

        try:
            index = fetch_report(settings.warehouse_store, current.version, destination.parent)
        except LookupError as error:
            errors.print(f"[red]{error}[/red] (the next `sentra build` writes it).")
            raise typer.Exit(EXIT_DATA_FAILED) from None
        console.print(f"Report: {index.absolute()}")


@app.command()
def status() -> None:
    """What arrived, what was quarantined, and what the published marts contain."""
    from rich.markup import escape

    from pipelines.app.status import collect_status
    from pipelines.report.site import report_location, report_published

    settings = load_settings()
    report = collect_status(settings)
    table = Table(title="Ledger (latest status of each received file)")
    statuses = ("ingested", "quarantined", "failed", "parked")
    for column in ("source", *statuses):
        table.add_column(column)
    for source, counts in sorted(report.by_source.items()):
        table.add_row(source, *(str(counts.get(status, 0)) for status in statuses))
    console.print(table)
    for item in report.quarantined:
        console.print(f"[yellow]quarantined[/yellow] {escape(item.original_name)}")
        indented(item.error or "", f"report: {item.report_key}")
        indented(f"replay: sentra replay {item.sha256[:12]}")
    for item in report.rows_quarantined:
        console.print(f"[yellow]rows quarantined[/yellow] {escape(item.original_name)}")
        indented(
            f"{item.rows_rejected} of {item.rows_in} rows held back", f"report: {item.report_key}"
        )
    for item in report.failed:
        console.print(f"[red]failed[/red] {escape(item.original_name)} ({item.sha256[:12]})")
        indented(item.error or "")
    for item in report.parked:
        console.print(f"[red]parked[/red] {escape(item.original_name)}")
        indented(
            item.error or "",
            f"not retried; fix the cause, then: sentra replay {item.sha256[:12]}",
        )
    if report.freshness is not None:
        for source, (fresh, overdue) in sorted(report.freshness.summary().items()):
            colour = "yellow" if overdue else "green"
            console.print(f"Freshness {source}: [{colour}]{fresh} fresh, {overdue} overdue[/]")
    if report.latest_publish is None:
        console.print("Marts: not published yet (run `sentra build`).")
        return
    publish = report.latest_publish
    console.print(f"Marts: version {publish.version}")
    indented(
        f"published {publish.published_at} from {len(publish.input_sha256s)} input files",
        f"at {report.location}",
    )
    for table_name, rows in sorted(publish.row_counts.items()):
        indented(f"marts.{table_name}: {rows:,} rows")
    if report_published(settings, publish.version):
        console.print(f"Report: {report_location(settings, publish.version)}")
    else:
        console.print("Report: none for this version yet (the next `sentra build` writes it).")


def indented(*lines: str) -> None:
    """Detail lines under an item, wrapped to the terminal with the indent kept."""
    import textwrap

    from rich.text import Text

    for line in lines:
        wrapped = textwrap.fill(
            line, width=console.width, initial_indent="  ", subsequent_indent="  "
        )
        console.print(Text(wrapped))


@app.command()
def freshness() -> None:
    """Check every feed's freshness contract; alert and exit 1 when something is overdue."""
    from pipelines.app import usecases

    run = usecases.watch_freshness(load_settings())
    for source, (fresh, overdue) in sorted(run.report.summary().items()):
        console.print(f"{source}: {fresh} fresh, {overdue} overdue")
    if not run.alerted.alerts:
        console.print("Every feed is within its freshness contract.")
        return
    show_alerts(run.alerted)
    raise typer.Exit(EXIT_DATA_FAILED)


@app.command()
def demo(
    scale: Annotated[str, typer.Option(help="demo or national.")] = "demo",
    top: Annotated[int, typer.Option(help="How many top-ranked sentra to show.")] = 10,
) -> None:
    """Sample feeds, ingest them, build the marts and show the top-ranked sentra."""
    from pipelines.lake.ledger import new_run_id
    from pipelines.report.data import sentra_rows

    sample(scale=scale, seed=20261128, errors_included=True)
    # The demo's buyers are invented: the public salt is fine here and nowhere else.
    settings = load_settings().model_copy(update={"allow_demo_salt": True})
    run_id = new_run_id()
    summary = run_ingest(settings, None, run_id)
    if summary.count("failed") or summary.count("parked"):
        raise typer.Exit(EXIT_DATA_FAILED)
    if summary.count("quarantined"):
        console.print(
            "[yellow]Quarantined files are expected here:[/yellow] the sample "
            "includes a deliberately broken submission. See `sentra status`."
        )
    result = run_build(settings, force=False, run_id=run_id)
    ranked = [row for row in sentra_rows(settings, result.warehouse) if row["rank_national"]]
    show_ranking(
        ranked[:top],
        f"Top {top} sentra for revitalisation (marts version {result.record.version})",
    )
    console.print(
        f"Marts file (open read-only in DuckDB or a BI tool): {result.warehouse.absolute()}"
    )
    if result.report:
        console.print(f"Report (open in a browser): [bold]{result.report}[/bold]")


def show_ranking(rows: list[Row], title: str) -> None:
    """Ranked sentra in short columns that fit 80 columns; below, each one's reason on a line of
    its own, cut to the terminal's width (in full: ``sentra explain SENTRA_ID``)."""
    from rich import box
    from rich.text import Text

    table = Table(title=title, box=box.SIMPLE_HEAD, title_justify="left", collapse_padding=True)
    # Rank, score and phase year keep their width; the names give way, cut with an ellipsis.
    table.add_column("#", justify="right", no_wrap=True, min_width=3)
    for column, widest in (("sentra", 30), ("provinsi", 16), ("komoditas", 10)):
        table.add_column(column, no_wrap=True, overflow="ellipsis", max_width=widest)
    table.add_column("score", justify="right", no_wrap=True, min_width=5)
    table.add_column("year", no_wrap=True, min_width=4)
    for row in rows:
        table.add_row(
            str(row["rank_national"]),
            Text(row["nama_sentra"]),
            Text(row["province_name"]),
            Text(row["komoditas"] or ""),
            f"{row['score']:.2f}",
            str(row["phase_year"]),
        )
    console.print(table)
    console.print("Why each ranks there (in full: sentra explain SENTRA_ID):")
    for row in rows:
        console.print(
            Text(f"{row['rank_national']:>3} {row['sentra_id']}: {row['top_drivers']}"),
            no_wrap=True,
            overflow="ellipsis",
        )


@app.command()
def explain(
    sentra_id: Annotated[str, typer.Argument(help="The sentra's id, as `sentra demo` shows it.")],
) -> None:
    """Why a sentra ranks where it does: gates, score, components, drivers and data gaps."""
    from rich.markup import escape

    from pipelines.report.data import sentra_rows
    from pipelines.report.figures import COMPONENTS
    from pipelines.report.site import gate_outcomes

    settings = load_settings()
    if not settings.warehouse_path.exists():
        errors.print(f"No marts at {settings.warehouse_path} (run `sentra build` first).")
        raise typer.Exit(EXIT_USAGE)
    found = [
        row
        for row in sentra_rows(settings, settings.warehouse_path)
        if row["sentra_id"] == sentra_id.upper()
    ]
    if not found:
        errors.print(f"[red]No sentra {sentra_id!r} in the published marts.[/red]")
        raise typer.Exit(EXIT_USAGE)
    row = found[0]
    console.print(f"[bold]{escape(row['nama_sentra'])}[/bold] ({row['sentra_id']})")
    indented(f"{row['kabupaten_name']}, {row['province_name']}; komoditas {row['komoditas']}")
    for rule, outcome in gate_outcomes(row["ineligible_reason"]):
        indented(f"gate {rule}: {outcome}")
    if not row["eligible"]:
        return
    console.print(
        f"Score {row['score']:.2f}: rank {row['rank_national']} nationally, "
        f"{row['rank_province']} in {row['province_name']}, phase year {row['phase_year']}"
    )
    console.print("Components (0-100; 50 is a typical sentra):")
    for name, label in COMPONENTS.items():
        weakest = "  <- holds it back most" if name == row["weakest_component"] else ""
        indented(f"{label:<20} {row[name]:5.1f}{weakest}")
    console.print("Why:")
    for driver in (row["top_drivers"] or "").split("; "):
        indented(f"- {driver}")
    if row["data_gaps"]:
        console.print(f"Missing inputs (took the neutral value): {', '.join(row['data_gaps'])}")


if __name__ == "__main__":
    app()
