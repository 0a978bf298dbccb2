"""Converting a recognised export into typed, personal-data-free Parquet with DuckDB.

One DuckDB statement (``sql/ingest/marketplace/``) streams the file into typed Parquet. Only the
layout's non-personal columns and the buyer's identifier are read, and the identifier leaves that
statement as a salted hash: buyer names, usernames, phones and addresses never get past the raw
copy, and memory stays flat however large the export.
"""

from __future__ import annotations

import csv
import functools
import re
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pipelines.feeds.marketplace.layouts import (
    FIELD_COLUMNS,
    Export,
    Layout,
    MarketplaceFormatError,
)
from pipelines.platform.duckdb import connect, escape_string, process_spill_folder
from pipelines.quality.quarantine import CellProblem
from pipelines.reference.regions import RegionResolutionError, load_regions

if TYPE_CHECKING:
    import duckdb
    import pyarrow as pa


STATUSES = ("completed", "cancelled", "returned")

LISTED_CELLS = 200


# DuckDB's CSV reader hands each thread about 8 MB of a file, so a smaller export is read on
# one thread anyway: numbering its lines as they are read (a window, which holds the statement
# on one thread) costs it nothing, and spares the second pass over a scratch file, ~20 ms of the
# ~90 ms a typical shop export (~3 MB) took. Measured on Shopee exports cut from one file: at
# 3 and 7 MB one pass is 15-20% faster, at 15 MB and above the two parallel passes win.
ONE_PASS_BYTES = 8_000_000

# DuckDB takes up to 80% of the machine's memory by default and fills it with buffered Parquet
# batches on a large export (a 5-million-line export then peaks near 1.2 GB). With a limit it
# streams within it, at no measured cost in time, whatever the export's size.
DUCKDB_MEMORY_LIMIT = "512MB"

LISTED_DAMAGED_LINES = 10


# What a readable value of each typed field looks like, for reports.
EXPECTED_VALUES: dict[str, str] = {
    "status": (
        "a finished order's status: a spelling of completed, cancelled or returned in "
        "pipelines/reference/marketplace_statuses.csv (export orders once they are finished; "
        "'to ship' or 'in transit' orders may still be cancelled)"
    ),
    "ordered_at": "an order time in the layout's format",
    "quantity": "a whole number of items below 1,000,000, e.g. 2",
    "unit_price": "an amount in rupiah below Rp 1 trillion, e.g. Rp 1.250.000 or 1250000",
    "line_amount": "an amount in rupiah below Rp 1 trillion, e.g. Rp 1.250.000 or 1250000",
}


# DuckDB's words for a line of a CSV it could not split, in a data officer's words.
DAMAGE: dict[str, str] = {
    "TOO MANY COLUMNS": "has more fields than the header",
    "MISSING COLUMNS": "has fewer fields than the header",
    "UNQUOTED VALUE": "has a quote that is never closed, or a stray quote",
    "LINE SIZE OVER MAXIMUM": "is longer than 2 MB",
    "INVALID ENCODING": "is not UTF-8 text",
    "INVALID UNICODE": "is not UTF-8 text",
}

_DIGIT_RUN = re.compile(r"\d{8,}")

_QUOTED = re.compile(r"'[^']*'|\"[^\"]*\"")

_JSON_LINE = re.compile(r"in line (\d+): ([^\n]*)")

_INVALID_CSV_STATE = "state machine reached an invalid state"


@dataclass(frozen=True)
class Conversion:
    rows: int
    unresolved_provinces: list[str] = field(default_factory=list)


class ProvinceCodes:
    """A DuckDB function mapping buyer-province spellings to Kemendagri codes.

    DuckDB hands over a vector of ~2,000 values at a time; each distinct spelling in it is
    resolved once (and remembered), so the cost follows the handful of spellings an export
    uses, not its millions of rows. The spellings exports use most are looked up in SQL first
    (``known()``, macros.sql's buyer_province_code): a call into Python waits for the
    interpreter, which is busy importing GX beside the conversion.
    """

    def __init__(self) -> None:
        self.regions = load_regions()
        self.codes: dict[str, str | None] = {}
        self.unresolved: set[str] = set()

    def __call__(self, spellings: pa.Array | pa.ChunkedArray) -> pa.Array:
        import pyarrow as pa
        import pyarrow.compute as pc

        if isinstance(spellings, pa.ChunkedArray):
            spellings = spellings.combine_chunks()
        encoded = pc.dictionary_encode(spellings)
        codes = pa.array([self.code(s) for s in encoded.dictionary.to_pylist()], pa.string())
        return codes.take(encoded.indices)

    def known(self) -> tuple[list[str], list[str]]:
        """(spellings, codes) of each province's name and aliases as written, in capitals, in
        small letters and capitalised (JAWA TIMUR, Jawa Timur), resolved as code() would."""
        variants = {
            variant
            for spelling, _ in self.regions.province_spellings
            for variant in (spelling, spelling.upper(), spelling.lower(), spelling.title())
        }
        codes = {spelling: self.resolved(spelling) for spelling in sorted(variants)}
        known = {spelling: code for spelling, code in codes.items() if code is not None}
        return list(known), list(known.values())

    def code(self, spelling: str) -> str | None:
        if spelling not in self.codes:
            self.codes[spelling] = self.resolved(spelling)
            if self.codes[spelling] is None:
                self.unresolved.add(spelling)
        return self.codes[spelling]

    def resolved(self, spelling: str) -> str | None:
        try:
            return self.regions.resolve_province(spelling).code
        except RegionResolutionError:
            return None


@dataclass(frozen=True)
class ConversionContext:
    """Everything about the landed file the conversion SQL reads as variables."""

    sql_dir: Path
    pii_salt: str
    sha256: str
    name: str
    landed_at: datetime
    received_at: datetime
    shares_cores: bool = False
    """Other files are converted beside this one (a multi-file run): one pass, one core."""


def convert(export: Export, context: ConversionContext, target: Path) -> Conversion:
    """Stream the export into typed, personal-data-free Parquet at ``target``.

    An export DuckDB reads on one thread anyway (``ONE_PASS_BYTES``), or any export converted
    while other files convert beside it (``shares_cores``), has its lines numbered as they are
    read, in one pass on one core. A larger one converted alone takes two streamed passes, both
    on every core: the conversion proper into an uncompressed scratch file in the export's
    order, then numbered.sql adding each line's row number. The two passes finish a large file
    sooner on an idle machine; one pass spends less CPU (an e-Smart month of 342,481 lines: 1.95
    CPU-s against 2.35), which is what counts when other files keep the other cores busy.
    """
    provinces = ProvinceCodes()
    with conversion_connection(export, context, provinces) as con:
        if export.size <= ONE_PASS_BYTES or context.shares_cores:
            rows = convert_numbering_as_read(con, export, context.sql_dir, target)
        else:
            rows = convert_then_number(con, export, context.sql_dir, target)
    if rows > KEPT_CONNECTION_ROWS:
        release_thread_connection()
    return Conversion(rows, sorted(provinces.unresolved))


def convert_numbering_as_read(
    con: duckdb.DuckDBPyConnection, export: Export, sql_dir: Path, target: Path
) -> int:
    # The statement runs on one thread (the window, one CSV buffer): a second DuckDB thread
    # would only wait and be woken. On one thread, the 600 shop exports of the national sample
    # took 7-9 user CPU-s less (62-68 against 69-76) and 3-5 s less (docs/benchmarks.md).
    con.execute("set threads = 1")
    statement = conversion_sql(export, sql_dir, "order_lines", numbered=True)
    written = run(con, f"copy ({statement}) to '{escape_string(target)}' (format parquet)")
    raise_if_damaged(con, export)
    return int(written[0][0]) if written else 0


def convert_then_number(
    con: duckdb.DuckDBPyConnection, export: Export, sql_dir: Path, target: Path
) -> int:
    scratch = target.with_name(f"{target.name}.unnumbered")
    con.execute("reset threads")  # every core: the kept connection may have run one thread
    try:
        statement = conversion_sql(export, sql_dir, "order_lines", numbered=False)
        written = run(
            con,
            f"copy ({statement}) to '{escape_string(scratch)}' "
            "(format parquet, compression uncompressed)",
        )
        raise_if_damaged(con, export)
        con.execute("set variable converted = ?", [str(scratch)])
        numbered = read_sql(sql_dir, "numbered")
        run(con, f"copy ({numbered}) to '{escape_string(target)}' (format parquet)")
    finally:
        scratch.unlink(missing_ok=True)
    return int(written[0][0]) if written else 0


def unreadable_cells(export: Export, context: ConversionContext) -> list[CellProblem]:
    """The values that were written but could not be read, located (read again from the file).

    Only called for a file that failed validation, so the usual path reads the file once.
    """
    statement = conversion_sql(export, context.sql_dir, "unreadable_cells", numbered=True)
    with conversion_connection(export, context, ProvinceCodes()) as con:
        rows = run(con, f"{statement} limit {LISTED_CELLS}")
    layout = export.layout
    return [
        CellProblem(
            sheet=None,
            row=int(row),
            column=layout.header(name),
            value=shown(value),
            problem=f"{shown(value)!r} is not {expected(layout, name)}",
        )
        for row, name, value in rows
    ]


def expected(layout: Layout, name: str) -> str:
    if name == "ordered_at":
        return f"an order time such as {date(2025, 6, 26):%Y-%m-%d} 14:03 in the form " + (
            " or ".join(layout.timestamp_formats)
        )
    return EXPECTED_VALUES[name]


def shown(value: str) -> str:
    """A cell value as a report may show it: never anything that looks like contact data."""
    if "@" in value or _DIGIT_RUN.search(value):
        return "(hidden: looks like a phone number or e-mail address)"
    return value if len(value) <= 60 else value[:57] + "..."


class ConversionConnection:
    """A DuckDB connection set up for conversions: settings, macros, vocabularies and the
    province function, whose spellings go to the ``provinces`` of the file being converted."""

    def __init__(self, sql_dir: Path) -> None:
        self.sql_dir = sql_dir
        self.provinces = ProvinceCodes()
        # DuckDB calls the function from its own threads: it reaches the file's provinces
        # through this object, not through the calling thread.
        self.con = new_conversion_connection(sql_dir, lambda spellings: self.provinces(spellings))


# One per thread, kept between files: setting a connection up (macros, vocabularies, the
# Python function) took ~30 ms, a third of converting a typical shop's export (~16,000 lines).
# Not after a large file: DuckDB keeps memory it used (a national run peaked ~100 MiB higher
# with e-Smart files of ~400,000 lines converted on a kept connection), and there the set-up
# is a small part of the conversion.
_connections = threading.local()
KEPT_CONNECTION_ROWS = 100_000


def release_thread_connection() -> None:
    """Close this thread's connection: the memory DuckDB kept after a large file goes back."""
    kept: ConversionConnection | None = getattr(_connections, "kept", None)
    _connections.kept = None
    if kept is not None:
        kept.con.close()


def thread_connection(sql_dir: Path) -> ConversionConnection:
    """This thread's conversion connection, set up on first use."""
    kept: ConversionConnection | None = getattr(_connections, "kept", None)
    if kept is None or kept.sql_dir != sql_dir:
        release_thread_connection()  # one set up for other SQL is closed, not left open
        kept = ConversionConnection(sql_dir)
        _connections.kept = kept
    return kept


def new_conversion_connection(
    sql_dir: Path, province_code: Callable[[pa.Array | pa.ChunkedArray], pa.Array]
) -> duckdb.DuckDBPyConnection:
    import duckdb.func

    con = connect(Path(":memory:"))
    # Local order times are Jakarta time, and so are the calendar dates of instants.
    con.execute("set TimeZone = 'Asia/Jakarta'; set enable_progress_bar = false")
    con.execute(f"set memory_limit = '{DUCKDB_MEMORY_LIMIT}'")
    con.execute("set temp_directory = ?", [str(process_spill_folder())])
    con.execute(read_sql(sql_dir, "macros"))
    # Two plain lists bound as parameters: registering a table would import pandas and
    # pyarrow for a vocabulary of a few dozen spellings.
    spellings, statuses = status_vocabulary()
    con.execute("set variable statuses = map(?::varchar[], ?::varchar[])", [spellings, statuses])
    con.execute(
        "set variable province_codes = map(?::varchar[], ?::varchar[])", ProvinceCodes().known()
    )
    # Through a lambda: DuckDB evaluates the callable's annotations, which name pyarrow.
    con.create_function(
        "province_code",
        lambda spellings: province_code(spellings),
        ["VARCHAR"],
        "VARCHAR",
        type=duckdb.func.ARROW,
        null_handling=duckdb.func.SPECIAL,
    )
    return con


@contextmanager
def conversion_connection(
    export: Export, context: ConversionContext, provinces: ProvinceCodes
) -> Iterator[duckdb.DuckDBPyConnection]:
    """This thread's conversion connection, its variables set to ``export``'s; the spellings
    the province function cannot resolve go to ``provinces``. A connection whose conversion
    raised is closed, not kept."""
    kept = thread_connection(context.sql_dir)
    kept.provinces = provinces
    con = kept.con
    try:
        # The previous file's rejected CSV lines (store_rejects): each file's are its own.
        con.execute("drop table if exists reject_errors; drop table if exists reject_scans")
        variables = {
            "layout": export.layout.name,
            "timestamp_formats": list(export.layout.timestamp_formats),
            "marketplace": export.marketplace,
            "seller_account": export.seller_account,
            "first_row": export.first_row,
            "pii_salt": context.pii_salt,
            "source_sha256": context.sha256,
            "source_name": context.name,
            "landed_at": context.landed_at,
            "received_at": context.received_at,
        }
        for name, value in variables.items():
            # An absent shop (the e-Smart feed names it per line) is a typed text NULL.
            typed = "cast(? as varchar)" if value is None else "?"
            con.execute(f"set variable {name} = {typed}", [value])
        yield con
    except BaseException:
        release_thread_connection()
        raise


def conversion_sql(
    export: Export,
    sql_dir: Path,
    last: Literal["order_lines", "unreadable_cells"],
    *,
    numbered: bool,
) -> str:
    """The file read through the layout (``lines``), parse.sql (``parsed``) and ``last``;
    ``numbered``, each line with its row number (``source_row``), else NULL.

    Numbering lines while reading holds the whole statement on one thread (see numbered.sql):
    what a small export, and the diagnosis, which runs only for a file that failed and then
    needs nothing but the few unreadable cells, can afford.
    """
    ctes = {"lines": lines_sql(export, numbered), "parsed": read_sql(sql_dir, "parse")}
    ctes[last] = read_sql(sql_dir, last)
    # The newline before each ")" keeps a model's last-line comment from swallowing it.
    body = ",\n".join(f"{name} as (\n{sql}\n)" for name, sql in ctes.items())
    return f"with {body}\nselect * from {last}"


def lines_sql(export: Export, numbered: bool) -> str:
    """The file read as the common ``lines`` columns: one cell() per field, NULL when absent."""
    position = f"row_number() over () + {export.first_row - 1}" if numbered else "null"
    columns = [f"cast({position} as bigint) as source_row"]
    columns += [
        f"cell({export.sources[name]}) as {column}"
        if name in export.sources
        else f"cast(null as varchar) as {column}"
        for name, column in FIELD_COLUMNS.items()
    ]
    return "select\n    " + ",\n    ".join(columns) + f"\nfrom {export.reader}"


@functools.cache
def read_sql(sql_dir: Path, name: str) -> str:
    return (sql_dir / "ingest" / "marketplace" / f"{name}.sql").read_text(encoding="utf-8")


@functools.cache
def status_vocabulary() -> tuple[list[str], list[str]]:
    """(spellings, statuses) of the status vocabulary: trimmed, case-folded spellings."""
    text = resources.files("pipelines.reference").joinpath("marketplace_statuses.csv").read_text()
    rows = list(csv.DictReader(text.splitlines()))
    unknown = {row["status"] for row in rows} - set(STATUSES)
    if unknown:
        raise ValueError(f"marketplace_statuses.csv: unknown statuses {sorted(unknown)}")
    spellings = [" ".join(row["spelling"].casefold().split()) for row in rows]
    return spellings, [row["status"] for row in rows]


def run(con: duckdb.DuckDBPyConnection, statement: str) -> list[tuple[Any, ...]]:
    """Execute; a DuckDB error comes back without the values it may quote from the file.

    DuckDB's errors about the file's content (a CSV or JSON it cannot read, a value it cannot
    cast) fail the same bytes every time: a format error, quarantined and never retried. Any
    other (out of memory, disk full) is operational.
    """
    import duckdb

    try:
        return con.execute(statement).fetchall()
    except UnicodeDecodeError:
        # DuckDB quoted a value of the file in its error and cut a character in half: the
        # message cannot be decoded, but only the file's content can have caused it.
        raise MarketplaceFormatError(
            unreadable_export("DuckDB refused a value and its message cannot be shown")
        ) from None
    except duckdb.Error as error:
        message = str(error)
        if match := _JSON_LINE.search(message):
            raise MarketplaceFormatError(
                f"Line {match[1]} is not a JSON object on one line "
                f"({_QUOTED.sub('...', match[2]).strip()}); every line of the e-Smart feed "
                "must be one. Nothing from the file was read."
            ) from None
        content = (
            duckdb.InvalidInputException,
            duckdb.ConversionException,
            duckdb.OutOfRangeException,
        )
        if isinstance(error, content):
            raise MarketplaceFormatError(unreadable_export(message)) from None
        raise RuntimeError(f"DuckDB could not convert the export: {redacted(message)}") from None


def unreadable_export(message: str) -> str:
    """What to tell about an export DuckDB could not read, from its error's first line."""
    reason = redacted(message.splitlines()[0])
    if _INVALID_CSV_STATE in message:
        # DuckDB names no line here; the cause seen in practice is a lone carriage return
        # inside a quoted cell of a file whose lines end with a line feed alone.
        reason += " - a carriage return inside a quoted cell, or quotes out of order"
    return (
        f"The export cannot be read ({reason}). Nothing from the file was read; export the "
        "orders again from the seller centre."
    )


def redacted(message: str) -> str:
    """A DuckDB error without what it may quote from the file (values, a CSV line)."""
    kept = message.split("Original Line", 1)[0]
    return " ".join(_QUOTED.sub("'...'", kept).split())[:300]


def raise_if_damaged(con: duckdb.DuckDBPyConnection, export: Export) -> None:
    """A CSV line DuckDB could not split into the header's columns damages the whole export.

    Such lines are left out by the reader, so every later row number would be off by one:
    nothing from the file can be trusted to be placed right.
    """
    if export.layout.is_json:
        return
    # Not csv_line or error_message: those quote the line, buyer and all.
    damaged = run(
        con,
        "select line, min(cast(error_type as varchar)) from reject_errors "
        "group by line order by line",
    )
    if not damaged:
        return
    listed = "; ".join(
        f"line {line} {DAMAGE.get(kind, kind.lower())}"
        for line, kind in damaged[:LISTED_DAMAGED_LINES]
    )
    more = f"; and {len(damaged) - LISTED_DAMAGED_LINES} more" if len(damaged) > 10 else ""
    raise MarketplaceFormatError(
        f"The export is damaged: {len(damaged)} lines cannot be split into the columns of its "
        f"header ({listed}{more}). Nothing from the file was read; export the orders again "
        "from the seller centre."
    )
