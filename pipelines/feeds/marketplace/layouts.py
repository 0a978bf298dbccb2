"""Recognising a marketplace export from its content: the layouts, and which one a file is.

Each seller centre exports orders in its own layout (``pipelines/config/marketplace_layouts.yaml``);
a landed file is recognised from its header row or first JSON record, never its name.
Seller-centre exports belong to the shop whose folder they land in
(``marketplace/<marketplace>/<seller_account>/``); the e-Smart feed names marketplace and shop on
every line.
"""

from __future__ import annotations

import csv
import dataclasses
import functools
import json
from dataclasses import dataclass
from importlib import resources
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any, Literal
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, ValidationError, model_validator

from pipelines.feeds.formats import normalise_header, sniff_delimiter
from pipelines.platform.duckdb import escape_string, quote_identifier

if TYPE_CHECKING:
    pass


SOURCE = "marketplace"

JAKARTA = ZoneInfo("Asia/Jakarta")


# Enough for any header row or first JSON record; a file is never read whole in Python.
HEAD_BYTES = 1 << 16


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


class MarketplaceFormatError(ValueError):
    """The file as a whole cannot be read as a marketplace export (wrong place, damaged, ...).

    Messages never quote the file's content: an export's lines carry buyers' personal data.
    """


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


@dataclass(frozen=True)
class Export:
    """A landed file recognised as one layout, with the shop it belongs to when it says so."""

    layout: Layout
    sources: dict[str, str]
    """Field -> SQL expression reading it from the file (``c3``, ``"buyer"."id"``)."""
    reader: str
    """The DuckDB table function call that reads the file, nothing but VARCHAR."""
    size: int
    """The file's size in bytes: how it is converted depends on it (``convert.ONE_PASS_BYTES``)."""
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
    try:
        headers = next(csv.reader([header_line], delimiter=delimiter))
    except csv.Error as error:
        # A carriage return inside the line (lines ended by CR alone). The csv module's message
        # quotes nothing from the file; its advice after " - " is for programmers.
        raise MarketplaceFormatError(
            f"Line 1, the header row, cannot be split into columns "
            f"({str(error).split(' - ')[0]}); export the orders again from the seller centre."
        ) from None
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
    return Export(layout, matches[layout.name], reader, path.stat().st_size)


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
    except (ValueError, RecursionError) as error:
        # Besides malformed JSON: a number past Python's 4,300-digit limit (ValueError) and
        # nesting deeper than the interpreter's stack (RecursionError). No message quotes data.
        raise MarketplaceFormatError(
            f"Line 1 starts like JSON but is not a JSON object on one line ({error}); the "
            "e-Smart feed has one order line per line (JSON lines)."
        ) from None
    layouts = [layout for layout in load_layouts().values() if layout.is_json]
    for layout in layouts:
        if isinstance(record, dict) and all(
            has_json_path(record, layout.fields[name]) for name in layout.required
        ):
            return Export(
                layout, json_sources(layout), json_reader(layout, path), path.stat().st_size
            )
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
        return dataclasses.replace(export, scope=scope)
    if len(parts) < 4:
        raise MarketplaceFormatError(
            f"A {export.layout.title} belongs to one shop, named by the folders it lands in: "
            f"land it as marketplace/<marketplace>/<seller_account>/<file> (it landed as {key})."
        )
    marketplace, seller_account = parts[1].casefold(), parts[2].casefold()
    scope = f"{marketplace}/{seller_account}"
    return dataclasses.replace(
        export, marketplace=marketplace, seller_account=seller_account, scope=scope
    )
