"""The marketplace sales feed: order-line exports of the e-Smart IKM partner marketplaces.

Sellers export their orders from each marketplace's seller centre, each in its own layout, and
the e-Smart programme sends a JSON-lines feed of its partners' orders. A landed file is
recognised from its content (``pipelines/config/marketplace_layouts.yaml``), never its name;
then one DuckDB statement (``sql/ingest/marketplace/``) streams it into typed Parquet. Only the
layout's non-personal columns and the buyer's identifier are read from the file, and the
identifier leaves that statement as a salted hash: buyer names, usernames, phones and addresses
never get past the raw copy, and memory stays flat however large the export.

Seller-centre exports belong to the shop whose folder they land in
(``marketplace/<marketplace>/<seller_account>/``); the e-Smart feed names marketplace and shop
on every line. Which IKM and sentra a shop belongs to is decided in the marts (SQL), from the
registry's member lists.
"""

from __future__ import annotations

import csv
import functools
import json
import logging
import os
import re
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from importlib import resources
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any, Literal
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, ValidationError, model_validator

from pipelines.feeds.contract import Feed, FeedContext, FeedResult, LandedFile, lineage_fields
from pipelines.feeds.formats import normalise_header, sniff_delimiter
from pipelines.platform.duckdb import connect, escape_string, quote_identifier
from pipelines.quality.quarantine import CellProblem, QuarantineReport
from pipelines.reference.regions import RegionResolutionError, load_regions

if TYPE_CHECKING:
    import duckdb
    import pyarrow as pa

    from pipelines.lake.ledger import LedgerRecord
    from pipelines.platform.settings import Settings

log = logging.getLogger(__name__)

SOURCE = "marketplace"
DATASET = "marketplace_orders"
UNRESOLVED_PROVINCES = "unresolved_provinces"
JAKARTA = ZoneInfo("Asia/Jakarta")
STATUSES = ("completed", "cancelled", "returned")
# Older than any e-Smart partner's marketplace: an order before it is a misread date.
EARLIEST_ORDER_DATE = date(2010, 1, 1)
# Enough for any header row or first JSON record; a file is never read whole in Python.
HEAD_BYTES = 1 << 16
LISTED_CELLS = 200
# DuckDB takes up to 80% of the machine's memory by default and fills it with buffered Parquet
# batches on a large export (a 5-million-line export then peaks near 1.2 GB). With a limit it
# streams within it, at no measured cost in time, whatever the export's size.
DUCKDB_MEMORY_LIMIT = "512MB"
LISTED_DAMAGED_LINES = 10

# Where each common field of a layout goes in the ``lines`` relation the SQL reads. Fields
# typed later keep their text under ``*_text`` so a report can quote what could not be read.
FIELD_COLUMNS: dict[str, str] = {
    "marketplace": "marketplace_text",
    "seller_account": "seller_account_text",
    "order_id": "order_id",
    "line_id": "line_id",
    "sku": "sku",
    "product_name": "product_name",
    "variation": "variation",
    "status": "status_text",
    "return_status": "return_status_text",
    "ordered_at": "ordered_at_text",
    "quantity": "quantity_text",
    "unit_price": "unit_price_text",
    "line_amount": "line_amount_text",
    "buyer": "buyer_key",
    "province": "province_text",
}
# Read only to be hashed (buyer) or resolved to a code (province); never quoted anywhere.
PERSONAL_FIELDS = frozenset({"buyer", "province"})

# What a readable value of each typed field looks like, for reports.
EXPECTED_VALUES: dict[str, str] = {
    "status": (
        "a finished order's status: a spelling of completed, cancelled or returned in "
        "pipelines/reference/marketplace_statuses.csv (export orders once they are finished; "
        "'to ship' or 'in transit' orders may still be cancelled)"
    ),
    "ordered_at": "an order time in the layout's format",
    "quantity": "a whole number of items, e.g. 2",
    "unit_price": "an amount in rupiah, e.g. Rp 1.250.000 or 1250000",
    "line_amount": "an amount in rupiah, e.g. Rp 1.250.000 or 1250000",
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


class MarketplaceFormatError(ValueError):
    """The file as a whole cannot be read as a marketplace export (wrong place, damaged, ...).

    Messages never quote the file's content: an export's lines carry buyers' personal data.
    """


# --- layouts ------------------------------------------------------------------------------


class Layout(BaseModel):
    """One export layout of ``marketplace_layouts.yaml``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    title: str
    format: Literal["csv", "jsonl"]
    seller_from: Literal["folder", "record"]
    timestamp_formats: tuple[str, ...]
    fields: dict[str, str]
    required: tuple[str, ...]
    personal: tuple[str, ...] = ()

    @model_validator(mode="after")
    def _consistent(self) -> Layout:
        unknown = set(self.fields) - set(FIELD_COLUMNS)
        if unknown:
            raise ValueError(f"unknown fields {sorted(unknown)}; known: {list(FIELD_COLUMNS)}")
        if missing := [name for name in self.required if name not in self.fields]:
            raise ValueError(f"required fields without a source: {missing}")
        read_personal = {self.fields[name] for name in self.fields if name not in {"buyer"}}
        if overlap := read_personal & set(self.personal):
            raise ValueError(f"personal columns must not be read: {sorted(overlap)}")
        if self.seller_from == "record" and not {"marketplace", "seller_account"} <= set(
            self.required
        ):
            raise ValueError("a layout with seller_from: record must require both shop fields")
        if any(source.count(".") > 1 for source in self.fields.values() if self.is_json):
            raise ValueError("JSON paths may be nested one level deep at most (buyer.id)")
        return self

    @property
    def is_json(self) -> bool:
        return self.format == "jsonl"

    def header(self, name: str) -> str:
        """The column (or JSON path) a field comes from, as the export writes it."""
        return self.fields.get(name, name)


@functools.cache
def load_layouts() -> dict[str, Layout]:
    import yaml

    text = resources.files("pipelines.config").joinpath("marketplace_layouts.yaml").read_text()
    layouts: dict[str, Any] = yaml.safe_load(text)["layouts"]
    try:
        return {name: Layout(name=name, **entry) for name, entry in layouts.items()}
    except ValidationError as error:
        raise ValueError(f"invalid marketplace_layouts.yaml: {error}") from error


# --- recognising a file -------------------------------------------------------------------


@dataclass(frozen=True)
class Export:
    """A landed file recognised as one layout, with the shop it belongs to when it says so."""

    layout: Layout
    sources: dict[str, str]
    """Field -> SQL expression reading it from the file (``c3``, ``"buyer"."id"``)."""
    reader: str
    """The DuckDB table function call that reads the file, nothing but VARCHAR."""
    marketplace: str | None = None
    seller_account: str | None = None
    scope: str = "all"
    """What the file is compared with for volume and freshness: its shop, or its feed folder."""

    @property
    def first_row(self) -> int:
        """The row number of the first order line: 2 under a CSV's header, 1 in JSON lines."""
        return 1 if self.layout.is_json else 2


def recognise_export(key: str, path: Path) -> Export:
    """The layout of a landed file, from its first line (CSV header or first JSON record)."""
    first_line = read_first_line(path)
    if first_line.lstrip().startswith("{"):
        export = recognise_json_lines(first_line, path)
    else:
        export = recognise_csv(first_line, path)
    return with_shop(export, key)


def read_first_line(path: Path) -> str:
    with path.open("rb") as stream:
        head = stream.read(HEAD_BYTES)
    if not head.strip():
        raise MarketplaceFormatError("The file is empty; export the orders again.")
    if head.startswith(b"PK\x03\x04"):
        raise MarketplaceFormatError(
            "This is an XLSX workbook (or a ZIP archive). Export the orders as CSV, or send "
            "the e-Smart feed as JSON lines, and land that file instead."
        )
    line, newline, _ = head.partition(b"\n")
    if not newline and len(head) == HEAD_BYTES:
        raise MarketplaceFormatError(
            f"The first line is longer than {HEAD_BYTES // 1024} KiB: not a CSV export or a "
            "JSON-lines feed."
        )
    try:
        return line.decode("utf-8-sig").rstrip("\r")
    except UnicodeDecodeError:
        raise MarketplaceFormatError(
            "The file is not UTF-8 text. Marketplaces export CSV in UTF-8; if the file was "
            "opened and saved in Excel, export it again from the seller centre."
        ) from None


def recognise_csv(header_line: str, path: Path) -> Export:
    delimiter = sniff_delimiter(header_line)
    headers = next(csv.reader([header_line], delimiter=delimiter))
    positions: dict[str, int] = {}
    for position, header in enumerate(headers):
        positions.setdefault(normalise_header(header), position)
    layouts = [layout for layout in load_layouts().values() if not layout.is_json]
    matches = {layout.name: csv_sources(layout, positions) for layout in layouts}
    complete = [
        layout
        for layout in layouts
        if all(field in matches[layout.name] for field in layout.required)
    ]
    if not complete:
        raise MarketplaceFormatError(unrecognised_csv(layouts, matches))
    # Both layouts' required headers present is unheard of; the one that explains more wins.
    layout = max(complete, key=lambda candidate: len(matches[candidate.name]))
    columns = ", ".join(f"'c{position}': 'VARCHAR'" for position in range(len(headers)))
    reader = (
        f"read_csv('{escape_string(path)}', header = true, auto_detect = false, "
        f"columns = {{{columns}}}, delim = '{escape_string(delimiter)}', quote = '\"', "
        "escape = '\"', encoding = 'utf-8', strict_mode = true, store_rejects = true)"
    )
    return Export(layout, matches[layout.name], reader)


def csv_sources(layout: Layout, positions: dict[str, int]) -> dict[str, str]:
    """Field -> ``c<position>`` for the layout's fields whose header the file has."""
    found = {
        name: positions.get(normalise_header(header)) for name, header in layout.fields.items()
    }
    return {name: f"c{position}" for name, position in found.items() if position is not None}


def unrecognised_csv(layouts: list[Layout], matches: dict[str, dict[str, str]]) -> str:
    # The file's own header cells are not quoted: a file without a header starts with a
    # buyer's order line.
    expected = "; ".join(layout_needs(layout, matches[layout.name]) for layout in layouts)
    return (
        "Not a marketplace export this pipeline knows: its first line is not the header row of "
        f"a known layout. {expected}. The e-Smart feed is JSON lines, one order line per line. "
        "Check that the file is an order export with its header row, or add its layout to "
        "pipelines/config/marketplace_layouts.yaml."
    )


def layout_needs(layout: Layout, found: dict[str, str]) -> str:
    """'a <layout> needs <headers>', and which of them the file lacks when it has some."""
    needs = f"a {layout.title} needs " + ", ".join(
        f"'{layout.header(name)}'" for name in layout.required
    )
    missing = [repr(layout.header(name)) for name in layout.required if name not in found]
    if 0 < len(missing) < len(layout.required):
        needs += f" (this file lacks {', '.join(missing)})"
    return needs


def recognise_json_lines(first_line: str, path: Path) -> Export:
    try:
        record = json.loads(first_line)
    except json.JSONDecodeError:
        raise MarketplaceFormatError(
            "Line 1 starts like JSON but is not a JSON object on one line; the e-Smart feed "
            "has one order line per line (JSON lines)."
        ) from None
    layouts = [layout for layout in load_layouts().values() if layout.is_json]
    for layout in layouts:
        if isinstance(record, dict) and all(
            has_json_path(record, layout.fields[name]) for name in layout.required
        ):
            return Export(layout, json_sources(layout), json_reader(layout, path))
    wanted = "; ".join(
        f"{layout.title}: {', '.join(layout.fields[name] for name in layout.required)}"
        for layout in layouts
    )
    raise MarketplaceFormatError(
        f"JSON lines, but not a feed this pipeline knows: the first record lacks keys of every "
        f"known layout ({wanted})."
    )


def has_json_path(record: dict[str, Any], path: str) -> bool:
    value: Any = record
    for key in path.split("."):
        if not isinstance(value, dict) or key not in value:
            return False
        value = value[key]
    return True


def json_sources(layout: Layout) -> dict[str, str]:
    return {
        name: ".".join(f'"{part}"' for part in path.split("."))
        for name, path in layout.fields.items()
    }


def json_reader(layout: Layout, path: Path) -> str:
    """read_json with only the layout's keys declared: other keys are never read at all."""
    nested: dict[str, list[str]] = {}
    for source in layout.fields.values():
        top, _, inner = source.partition(".")
        nested.setdefault(top, [])
        if inner:
            nested[top].append(inner)
    types = {
        top: f"STRUCT({', '.join(f'{quote_identifier(k)} VARCHAR' for k in inner)})"
        if inner
        else "VARCHAR"
        for top, inner in nested.items()
    }
    columns = ", ".join(
        f"'{escape_string(top)}': '{escape_string(kind)}'" for top, kind in types.items()
    )
    return (
        f"read_json('{escape_string(path)}', format = 'newline_delimited', "
        f"columns = {{{columns}}}, maximum_object_size = 16777216)"
    )


def with_shop(export: Export, key: str) -> Export:
    """A seller-centre export's marketplace and shop, from the folders it landed in."""
    parts = PurePosixPath(key).parts
    if export.layout.seller_from == "record":
        scope = "/".join(parts[1:-1]) or "all"
        return Export(export.layout, export.sources, export.reader, scope=scope)
    if len(parts) < 4:
        raise MarketplaceFormatError(
            f"A {export.layout.title} belongs to one shop, named by the folders it lands in: "
            f"land it as marketplace/<marketplace>/<seller_account>/<file> (it landed as {key})."
        )
    marketplace, seller_account = parts[1].casefold(), parts[2].casefold()
    scope = f"{marketplace}/{seller_account}"
    return Export(export.layout, export.sources, export.reader, marketplace, seller_account, scope)


# --- converting a file --------------------------------------------------------------------


@dataclass(frozen=True)
class Conversion:
    rows: int
    unresolved_provinces: list[str] = field(default_factory=list)


class ProvinceCodes:
    """A DuckDB function mapping buyer-province spellings to Kemendagri codes.

    DuckDB hands over a vector of ~2,000 values at a time; each distinct spelling in it is
    resolved once (and remembered), so the cost follows the handful of spellings an export
    uses, not its millions of rows.
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

    def code(self, spelling: str) -> str | None:
        if spelling not in self.codes:
            try:
                self.codes[spelling] = self.regions.resolve_province(spelling).code
            except RegionResolutionError:
                self.codes[spelling] = None
                self.unresolved.add(spelling)
        return self.codes[spelling]


@dataclass(frozen=True)
class ConversionContext:
    """Everything about the landed file the conversion SQL reads as variables."""

    sql_dir: Path
    pii_salt: str
    sha256: str
    name: str
    landed_at: datetime
    received_at: datetime


def convert(export: Export, context: ConversionContext, target: Path) -> Conversion:
    """Stream the export into typed, personal-data-free Parquet at ``target``.

    Two streamed passes, both on every core: the conversion proper into an uncompressed
    scratch file in the export's order, then numbered.sql adding each line's row number.
    """
    provinces = ProvinceCodes()
    scratch = target.with_name(f"{target.name}.unnumbered")
    try:
        with conversion_connection(export, context, provinces) as con:
            statement = conversion_sql(export, context.sql_dir, "order_lines")
            written = run(
                con,
                f"copy ({statement}) to '{escape_string(scratch)}' "
                "(format parquet, compression uncompressed)",
            )
            raise_if_damaged(con, export)
            con.execute("set variable converted = ?", [str(scratch)])
            numbered = read_sql(context.sql_dir, "numbered")
            run(con, f"copy ({numbered}) to '{escape_string(target)}' (format parquet)")
    finally:
        scratch.unlink(missing_ok=True)
    return Conversion(int(written[0][0]) if written else 0, sorted(provinces.unresolved))


def unreadable_cells(export: Export, context: ConversionContext) -> list[CellProblem]:
    """The values that were written but could not be read, located (read again from the file).

    Only called for a file that failed validation, so the usual path reads the file once.
    """
    statement = conversion_sql(export, context.sql_dir, "unreadable_cells")
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


@contextmanager
def conversion_connection(
    export: Export, context: ConversionContext, provinces: ProvinceCodes
) -> Iterator[duckdb.DuckDBPyConnection]:
    import duckdb.func

    con = connect(Path(":memory:"))
    try:
        # Local order times are Jakarta time, and so are the calendar dates of instants.
        con.execute("set TimeZone = 'Asia/Jakarta'; set enable_progress_bar = false")
        con.execute(f"set memory_limit = '{DUCKDB_MEMORY_LIMIT}'")
        con.execute("set temp_directory = ?", [str(Path(tempfile.gettempdir()) / "sentra-duckdb")])
        con.execute(read_sql(context.sql_dir, "macros"))
        con.register("order_statuses", status_vocabulary())
        con.execute(
            "set variable statuses = (select map(list(spelling), list(status)) from order_statuses)"
        )
        # Through a lambda: DuckDB evaluates the callable's annotations, which name pyarrow.
        con.create_function(
            "province_code",
            lambda spellings: provinces(spellings),
            ["VARCHAR"],
            "VARCHAR",
            type=duckdb.func.ARROW,
            null_handling=duckdb.func.SPECIAL,
        )
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
    finally:
        con.close()


def conversion_sql(
    export: Export, sql_dir: Path, last: Literal["order_lines", "unreadable_cells"]
) -> str:
    """The file read through the layout (``lines``), parse.sql (``parsed``) and ``last``.

    The diagnosis numbers lines while reading (on one thread, see numbered.sql); it runs only
    for a file that failed, and then needs nothing but the few unreadable cells.
    """
    numbered = last == "unreadable_cells"
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
def status_vocabulary() -> pa.Table:
    import pyarrow as pa

    text = resources.files("pipelines.reference").joinpath("marketplace_statuses.csv").read_text()
    rows = list(csv.DictReader(text.splitlines()))
    unknown = {row["status"] for row in rows} - set(STATUSES)
    if unknown:
        raise ValueError(f"marketplace_statuses.csv: unknown statuses {sorted(unknown)}")
    return pa.table(
        {
            "spelling": [" ".join(row["spelling"].casefold().split()) for row in rows],
            "status": [row["status"] for row in rows],
        }
    )


def run(con: duckdb.DuckDBPyConnection, statement: str) -> list[tuple[Any, ...]]:
    """Execute; a DuckDB error comes back without the values it may quote from the file."""
    import duckdb

    try:
        return con.execute(statement).fetchall()
    except duckdb.Error as error:
        message = str(error)
        if match := _JSON_LINE.search(message):
            raise MarketplaceFormatError(
                f"Line {match[1]} is not a JSON object on one line "
                f"({_QUOTED.sub('...', match[2]).strip()}); every line of the e-Smart feed "
                "must be one. Nothing from the file was read."
            ) from None
        raise RuntimeError(f"DuckDB could not convert the export: {redacted(message)}") from None


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


# --- the feed handler ---------------------------------------------------------------------


def process_marketplace_file(context: FeedContext, landed: LandedFile) -> FeedResult:
    """Recognise, convert and validate one landed export: typed Parquet and a verdict."""
    report = context.new_report()
    handle, name = tempfile.mkstemp(prefix="sentra-marketplace-", suffix=".parquet")
    os.close(handle)
    target = Path(name)
    try:
        result = ingest_export(context, landed, report, target)
    except BaseException:
        target.unlink(missing_ok=True)
        raise
    # Handed over in FeedResult.files, the file is removed by the ingest once published.
    if not result.files:
        target.unlink(missing_ok=True)
    return result


def ingest_export(
    context: FeedContext, landed: LandedFile, report: QuarantineReport, target: Path
) -> FeedResult:
    conversion_settings = conversion_context(context.settings, landed)
    try:
        export = recognise_export(landed.key, landed.path)
        conversion = convert(export, conversion_settings, target)
    except MarketplaceFormatError as error:
        report.file_error = str(error)
        return FeedResult(report=report)
    log.info("%s: %s, %d order lines", landed.key, export.layout.name, conversion.rows)
    lines_by_scope = {export.scope: conversion.rows}
    parameters = validation_parameters(landed, context.minimum_expected_rows(lines_by_scope))
    outcome = context.validator.validate_parquet(DATASET, target, parameters)
    report.failed_checks = outcome.failed
    if report.blocking_checks:
        report.cell_problems = unreadable_cells(export, conversion_settings)
    metrics: dict[str, Any] = {}
    if conversion.unresolved_provinces:
        metrics[UNRESOLVED_PROVINCES] = [shown(s) for s in conversion.unresolved_provinces]
    return FeedResult(
        files={DATASET: target},
        outcomes=[outcome],
        report=report if report.blocking_checks else None,
        rows_in=conversion.rows,
        rows_by_scope=lines_by_scope,
        metrics=metrics,
    )


def conversion_context(settings: Settings, landed: LandedFile) -> ConversionContext:
    return ConversionContext(
        sql_dir=settings.sql_dir,
        pii_salt=buyer_hash_salt(settings),
        sha256=landed.sha256,
        name=landed.key,
        landed_at=landed.landed_at,
        received_at=landed.received_at,
    )


def buyer_hash_salt(settings: Settings) -> str:
    from pipelines.platform.settings import DEMO_PII_SALT

    salt = settings.pii_salt.get_secret_value()
    if salt == DEMO_PII_SALT:
        warn_demo_salt()
    return salt


@functools.cache
def warn_demo_salt() -> None:
    log.warning(
        "SENTRA_PII_SALT is the public demo default: buyer hashes can be recomputed by anyone "
        "who knows a buyer's username. Set a long random secret outside the demo."
    )


def validation_parameters(landed: LandedFile, min_expected_rows: int) -> dict[str, Any]:
    return {
        "province_codes": sorted(load_regions().provinces),
        "statuses": list(STATUSES),
        "earliest_order_date": EARLIEST_ORDER_DATE,
        "landed_on": landed.landed_at.astimezone(JAKARTA).date(),
        "min_expected_rows": min_expected_rows,
    }


# --- the clean dataset --------------------------------------------------------------------


def clean_schema(dataset: str) -> pa.Schema:
    """The schema of ``marketplace_orders`` Parquet files, lineage columns included."""
    import pyarrow as pa

    if dataset != DATASET:
        raise KeyError(f"the marketplace feed has no dataset {dataset!r}")
    text, whole = pa.string(), pa.int64()
    return pa.schema(
        [
            ("marketplace", text),
            ("seller_account", text),
            ("layout", text),
            ("order_id", text),
            ("order_line_id", text),
            ("status", text),
            ("status_source", text),
            ("ordered_at", pa.timestamp("us", tz="UTC")),
            ("order_date", pa.date32()),
            ("sku", text),
            ("product_name", text),
            ("variation", text),
            ("quantity", pa.int32()),
            ("unit_price_idr", whole),
            ("gross_idr", whole),
            ("net_idr", whole),
            ("buyer_hash", text),
            ("buyer_province_code", text),
            ("source_sheet", text),
            ("source_row", whole),
            *lineage_fields(),
        ]
    )


def shop_of(record: LedgerRecord) -> list[str]:
    """The shop an export refreshes (``<marketplace>/<seller_account>``), or the whole feed."""
    parts = PurePosixPath(record.original_name).parts
    return ["/".join(parts[1:3])] if len(parts) >= 4 else ["all"]


FEED = Feed(
    source=SOURCE,
    datasets=(DATASET,),
    process=process_marketplace_file,
    clean_schema=clean_schema,
    freshness_scopes=shop_of,
)
