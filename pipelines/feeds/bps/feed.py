"""The BPS feed: quarterly growth of micro and small manufacturing (IMK) from the BPS Web API.

Two ways in, one way through. ``sentra ingest bps`` pulls every configured table and domain
(``pipelines/config/bps_tables.yaml``) and hands each HTTP-200 response to the ordinary ingest
as a landed file, so the raw copy by sha256, the ledger, idempotency and quarantine are the
registry's. Responses landed under ``bps/`` (offline use, the demo) take the normal ingest path
through the ``bps`` feed entry. Either way ``process_bps_file`` reads one response in the exact
API format (DESIGN.md, "BPS Web API facts"), decodes ``datacontent`` from the metadata, maps BPS
region ids to Kemendagri province codes through ``pipelines/reference/bps_province_crosswalk.csv``
and validates the rows with ``expectations/bps_imk_growth.json``.

The API key travels in the URL path (``/key/{KEY}/``). It is never written anywhere: every URL
that is shown goes through ``redact``, urllib3's own log lines are filtered, and a response body
that echoes the key has it replaced before it is landed.
"""

from __future__ import annotations

import csv
import functools
import html
import json
import logging
import re
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from pipelines.feeds.contract import (
    Feed,
    FeedContext,
    FeedResult,
    LandedFile,
    ProgressCallback,
    UnfetchedFile,
    file_sha256,
    lineage_fields,
)
from pipelines.lake.ledger import utc_now
from pipelines.quality.quarantine import CellProblem
from pipelines.reference.regions import load_regions

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa
    import requests

    from pipelines.platform.settings import Settings

log = logging.getLogger(__name__)

SOURCE = "bps"
DATASET = "bps_imk_growth"
NATIONAL_DOMAIN = "0000"
NATIONAL_CODE = "00"
"""``province_code`` of national rows: Kemendagri has no code for Indonesia as a whole; ``00``
follows BPS's national domain ``0000``. ``region_level`` says ``nasional`` for these rows."""
"""Ledger metric: decoded rows per ``<var>|<domain>``, for the truncated-release check."""
PULLED_PREFIX = "bps-api"
"""Name prefix of pulled responses in the ledger (``bps-api/var-<var>/domain-<domain>.json``)."""

Measure = Literal["yoy", "qtq"]
MEASURE_TEXT = {"yoy": "y-on-y", "qtq": "q-to-q"}
DIMENSIONS = ("vervar", "var", "turvar", "tahun", "turtahun")
"""The dimensions in the order their ids are concatenated into ``datacontent`` keys."""
YEAR_ID_OFFSET = 1900
"""BPS numbers years from 1900: year id 117 is 2017."""


class BpsConfigError(ValueError):
    """The table configuration or the API settings are unusable; nothing was pulled."""


class BpsResponseError(ValueError):
    """A response cannot be read: an error answer, not JSON, or not the data-model shape."""


class BpsApiError(RuntimeError):
    """The API could not be reached or answered with an HTTP error, after retries."""


# --- the key never shows --------------------------------------------------------------------

_KEY_IN_PATH = re.compile(r"(/key/)[^/?#\s'\"]+")


def redact(text: str, secret: str | None = None) -> str:
    """``text`` with the API key replaced by ``***``: in any ``/key/...`` path and anywhere else."""
    text = _KEY_IN_PATH.sub(r"\1***", text)
    return text.replace(secret, "***") if secret else text


class _RedactingFilter(logging.Filter):
    """Rewrites log records that carry a URL (urllib3 logs retries and requests with theirs)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = redact(message)
        if redacted != message:
            record.msg, record.args = redacted, None
        return True


_REDACTING_FILTER = _RedactingFilter()


def _redact_http_logs() -> None:
    # Filters on a logger apply to its own records only, so each urllib3 logger gets one.
    for name in ("urllib3.connectionpool", "urllib3.connection", "urllib3.util.retry"):
        logger = logging.getLogger(name)
        if _REDACTING_FILTER not in logger.filters:
            logger.addFilter(_REDACTING_FILTER)


# --- which tables to pull -------------------------------------------------------------------


class BpsTable(BaseModel):
    """One dynamic table of the BPS Web API, as listed in ``bps_tables.yaml``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    var: int = Field(gt=0)
    measure: Measure
    title: str = Field(min_length=1)
    turvar: int | None = Field(default=None, ge=0)
    domains: tuple[str, ...] = ()

    @field_validator("domains", mode="before")
    @classmethod
    def _quoted_domain_codes(cls, value: Any) -> Any:
        # YAML reads 0000 as 0 and 0100 as an octal 64: only quoted strings are unambiguous.
        for domain in value if isinstance(value, list | tuple) else [value]:
            if not isinstance(domain, str) or not re.fullmatch(r"\d{4}", domain):
                raise ValueError(
                    f"domain {domain!r} must be a quoted 4-digit string such as '0000' or '3400'"
                )
        return value

    def describe(self) -> str:
        return describe(self.var, self.measure)


class _TableFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    tables: list[BpsTable] = Field(min_length=1)


def default_domains() -> tuple[str, ...]:
    """National plus every reference province's BPS domain (BPS province code + ``00``)."""
    provinces = load_regions().provinces.values()
    return (NATIONAL_DOMAIN, *sorted(f"{province.bps_code}00" for province in provinces))


@functools.cache
def load_tables(path: Path | None = None) -> tuple[BpsTable, ...]:
    """The configured tables (``path`` or the built-in file), validated, domains filled in."""
    import yaml

    name = str(path or "pipelines/config/bps_tables.yaml")
    if path is None:
        text = resources.files("pipelines.config").joinpath("bps_tables.yaml").read_text("utf-8")
    else:
        text = path.read_text("utf-8")
    try:
        parsed = _TableFile.model_validate(yaml.safe_load(text))
    except (ValidationError, yaml.YAMLError) as error:
        raise BpsConfigError(f"invalid BPS table configuration {name}: {error}") from None
    tables = tuple(
        table if table.domains else table.model_copy(update={"domains": default_domains()})
        for table in parsed.tables
    )
    check_tables(tables, name)
    return tables


def check_tables(tables: Sequence[BpsTable], name: str) -> None:
    seen: set[int] = set()
    known_domains = {f"{entry.bps_code}00" for entry in load_crosswalk().entries}
    for table in tables:
        if table.var in seen:
            raise BpsConfigError(f"{name}: var {table.var} is listed twice")
        seen.add(table.var)
        unknown = sorted(set(table.domains) - known_domains)
        if unknown:
            raise BpsConfigError(
                f"{name}: {table.describe()} lists domains {', '.join(unknown)}, which are "
                "neither national (0000) nor a province in "
                "pipelines/reference/bps_province_crosswalk.csv"
            )


def table_for_var(var: int) -> BpsTable:
    for table in load_tables():
        if table.var == var:
            return table
    raise BpsResponseError(
        f"var {var} is not a configured BPS table; add it to pipelines/config/bps_tables.yaml "
        f"(configured: {', '.join(str(t.var) for t in load_tables())})"
    )


# --- BPS region codes to Kemendagri province codes ------------------------------------------


class NotYetNumbered(LookupError):
    """A BPS province code used for a year before BPS numbered that province (or after)."""


@dataclass(frozen=True)
class CrosswalkEntry:
    bps_code: str
    province_code: str
    valid_from: int | None
    valid_to: int | None
    bps_name: str
    territory_note: str | None

    def covers(self, year: int) -> bool:
        return (self.valid_from or year) <= year <= (self.valid_to or year)


@dataclass(frozen=True)
class Crosswalk:
    entries: tuple[CrosswalkEntry, ...]

    def resolve(self, bps_code: str, year: int) -> CrosswalkEntry:
        """The Kemendagri province BPS code ``bps_code`` stands for in ``year``."""
        candidates = [entry for entry in self.entries if entry.bps_code == bps_code]
        for entry in candidates:
            if entry.covers(year):
                return entry
        if not candidates:
            raise LookupError(
                f"BPS province code {bps_code!r} is not in the crosswalk "
                "(pipelines/reference/bps_province_crosswalk.csv)"
            )
        spans = ", ".join(f"{e.valid_from or '...'}-{e.valid_to or '...'}" for e in candidates)
        raise NotYetNumbered(
            f"BPS province code {bps_code} ({candidates[0].bps_name}) has no crosswalk entry "
            f"for {year} (it is valid for {spans}); the province did not exist in BPS "
            "numbering then, so the release is checked rather than guessed"
        )


def _optional_year(text: str) -> int | None:
    return int(text) if text.strip() else None


@functools.cache
def load_crosswalk() -> Crosswalk:
    """The crosswalk, checked against ``provinces.csv`` so the two can never disagree."""
    text = resources.files("pipelines.reference").joinpath("bps_province_crosswalk.csv")
    entries = tuple(
        CrosswalkEntry(
            bps_code=row["bps_code"],
            province_code=row["province_code"],
            valid_from=_optional_year(row["valid_from_year"]),
            valid_to=_optional_year(row["valid_to_year"]),
            bps_name=row["bps_name"],
            territory_note=row["territory_note"] or None,
        )
        for row in csv.DictReader(text.read_text("utf-8").splitlines())
    )
    for entry in entries:
        overlapping = [
            e
            for e in entries
            if e is not entry
            and e.bps_code == entry.bps_code
            and (e.valid_from or 0) <= (entry.valid_to or 9999)
            and (entry.valid_from or 0) <= (e.valid_to or 9999)
        ]
        if overlapping:
            raise ValueError(
                f"bps_province_crosswalk.csv: BPS code {entry.bps_code} has overlapping "
                "validity periods; each year must map to one province"
            )
    current = {e.bps_code: e.province_code for e in entries if e.valid_to is None}
    expected = {p.bps_code: p.code for p in load_regions().provinces.values()}
    expected[NATIONAL_CODE] = NATIONAL_CODE
    if current != expected:
        raise ValueError(
            "bps_province_crosswalk.csv disagrees with provinces.csv on the current BPS codes: "
            f"{sorted(set(current.items()) ^ set(expected.items()))}"
        )
    return Crosswalk(entries)


def bps_province_code(region_id: str, region_label: str, domain: str | None) -> str:
    """The 2-digit BPS province code (``00`` national) a ``vervar`` entry stands for.

    Tables write a province as ``3400`` or ``34`` and the nation as ``9999`` (or ``0000``);
    a table without a regional breakdown has a single ``Tidak Ada`` entry and means its domain.
    """
    if region_id in ("9999", NATIONAL_DOMAIN):
        return NATIONAL_CODE
    if region_id == "0" or region_label.casefold() == "tidak ada":
        if domain is None:
            raise LookupError(
                f"vervar {region_id} ({region_label!r}) means the response's own domain, "
                "but the file name does not say which domain (expected .../domain-<code>.json)"
            )
        return domain[:2]
    if re.fullmatch(r"\d{2}", region_id):
        return region_id
    if re.fullmatch(r"\d{2}00", region_id):
        return region_id[:2]
    raise LookupError(
        f"vervar {region_id} ({region_label!r}) is not a province or national code; this "
        "feed reads province-level tables"
    )


# --- reading one response -------------------------------------------------------------------


@dataclass(frozen=True)
class Release:
    """One data-model response and where it came from: the table and the domain asked for."""

    table: BpsTable
    domain: str | None
    document: dict[str, Any]

    def where(self) -> str:
        return describe(self.table.var, self.table.measure, self.domain)

    @property
    def available(self) -> bool:
        return self.document.get("data-availability") != "not-available"

    @functools.cached_property
    def dimensions(self) -> dict[str, list[tuple[str, str]]]:
        """(id, label) of every entry of each dimension, read and checked once."""
        return {name: labelled(self.document, name, self.where()) for name in DIMENSIONS}

    def ids(self, name: str) -> list[str]:
        return [item_id for item_id, _ in self.dimensions[name]]


def describe(var: int | None, measure: str | None = None, domain: str | None = None) -> str:
    what = f"BPS table var {var}" if var is not None else "BPS response"
    if measure in MEASURE_TEXT:
        what += f" ({MEASURE_TEXT[measure]})"
    return what + (f", domain {domain}" if domain else "")


def read_document(data: bytes, where: str) -> dict[str, Any]:
    """The JSON document of an HTTP-200 answer, or a ``BpsResponseError`` saying what it is."""
    try:
        document = json.loads(data.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        start = redact(data[:80].decode("utf-8", "replace"))
        raise BpsResponseError(
            f"{where}: the answer is not JSON (it starts with {start!r}); the API may be down "
            "for maintenance or a proxy answered instead"
        ) from None
    if not isinstance(document, dict):
        raise BpsResponseError(f"{where}: expected a JSON object, got {type(document).__name__}")
    if document.get("status") != "OK":
        message = redact(str(document.get("message") or document.get("error") or document))
        raise BpsResponseError(f"{where}: BPS answered with an error: {message}")
    return document


_RELEASE_NAME = re.compile(r"var-(\d+)/domain-(\d{4})\b")


def release_from_landed(key: str, data: bytes) -> Release:
    """The release a landed response is: table from its ``var`` (or name), domain from its name.

    The data document does not say which domain it answers for, so the name does
    (``.../var-<var>/domain-<domain>.json``, as pulls and the sample write it).
    """
    named = _RELEASE_NAME.search(key)
    named_var, domain = (int(named[1]), named[2]) if named else (None, None)
    where = describe(named_var, None, domain)
    document = read_document(data, where)
    if document.get("data-availability") == "not-available":
        if named_var is None:
            raise BpsResponseError(
                f"{key}: a not-available answer carries no table id; name the file "
                ".../var-<var>/domain-<domain>.json"
            )
        return Release(table_for_var(named_var), domain, document)
    var_ids = [var_id for var_id, _ in labelled(document, "var", where)]
    var = named_var if named_var is not None else int(var_ids[0])
    if str(var) not in var_ids:
        raise BpsResponseError(f"{where}: the response is for var {', '.join(var_ids)}, not {var}")
    return Release(table_for_var(var), domain, document)


def clean_label(value: Any) -> str:
    """A label without HTML (``<b>ACEH</b>`` -> ``ACEH``) and with single spaces."""
    text = html.unescape(re.sub(r"<[^>]*>", " ", str(value)))
    return " ".join(text.split())


def dimension(document: dict[str, Any], name: str, where: str) -> list[dict[str, Any]]:
    items = document.get(name)
    if not isinstance(items, list) or not items:
        raise BpsResponseError(
            f"{where}: the response has no '{name}' list; a data-model answer has var, turvar, "
            "vervar, tahun, turtahun and datacontent"
        )
    return items


def item_id(item: Any, name: str, where: str) -> str:
    """An id as it appears in ``datacontent`` keys: the decimal digits, no padding."""
    value = item.get("val") if isinstance(item, dict) else None
    if isinstance(value, bool) or not isinstance(value, int | str) or not str(value).isdigit():
        raise BpsResponseError(f"{where}: a '{name}' entry has no numeric 'val': {item!r}")
    return str(value)


def labelled(document: dict[str, Any], name: str, where: str) -> list[tuple[str, str]]:
    return [
        (item_id(item, name, where), clean_label(item.get("label", "")))
        for item in dimension(document, name, where)
    ]


_ROMAN = {"i": 1, "ii": 2, "iii": 3, "iv": 4}
_QUARTER_LABEL = re.compile(r"(?:triwulan|tw|kuartal|quarter|q)\s*[-.]?\s*(iv|iii|ii|i|[1-4])")
_YEARLY_LABELS = frozenset({"tahunan", "tahun", "setahun", "jumlah", "total", "annual"})


def quarter_of(label: str, where: str) -> int | None:
    """1-4 for ``Triwulan I``..``Triwulan IV``; None for the yearly total (``Tahunan``)."""
    text = label.casefold().strip()
    if text in _YEARLY_LABELS:
        return None
    match = _QUARTER_LABEL.fullmatch(text)
    if match is None:
        raise BpsResponseError(
            f"{where}: period label {label!r} is neither a quarter (Triwulan I-IV) nor a yearly "
            "total (Tahunan); this feed reads quarterly tables"
        )
    number = match[1]
    return _ROMAN.get(number) or int(number)


def year_of(year_id: str, label: str, where: str) -> int:
    year = int(year_id) + YEAR_ID_OFFSET
    if re.fullmatch(r"\d{4}", label) and int(label) != year:
        raise BpsResponseError(f"{where}: year id {year_id} means {year} but is labelled {label!r}")
    return year


_MISSING_MARKS = frozenset({"", "-", "...", "…", "na", "n/a", "x"})


def cell_value(raw: Any) -> float | None:
    """A growth figure from a ``datacontent`` value; BPS's marks for "no figure" are None."""
    if raw is None:
        return None
    if isinstance(raw, bool):
        raise ValueError(f"{raw!r} is not a number")
    if isinstance(raw, int | float):
        return None if raw != raw else float(raw)  # NaN is missing
    text = str(raw).strip()
    if text.casefold() in _MISSING_MARKS:
        return None
    if "," in text and "." not in text:
        text = text.replace(",", ".")  # Indonesian decimal comma
    try:
        return float(text)
    except ValueError:
        raise ValueError(f"{raw!r} is not a number") from None


@dataclass(frozen=True)
class Slot:
    """One cell the metadata says the table has: its key and what it stands for."""

    key: str
    region_id: str
    region_label: str
    year: int
    quarter: int | None
    period_label: str

    @property
    def address(self) -> str:
        """Where the cell is in the response, for reports: ``datacontent[<key>]``."""
        return f"datacontent[{self.key}]"


def slots(release: Release) -> list[Slot]:
    """Every cell of the table's var (and turvar), keyed as ``datacontent`` keys them."""
    where, dimensions = release.where(), release.dimensions
    prefix = f"{release.table.var}{chosen_turvar(release)}"
    years = [(i, year_of(i, label, where)) for i, label in dimensions["tahun"]]
    periods = [(i, label, quarter_of(label, where)) for i, label in dimensions["turtahun"]]
    return [
        Slot(f"{region}{prefix}{year_id}{period}", region, region_label, year, quarter, label)
        for region, region_label in dimensions["vervar"]
        for year_id, year in years
        for period, label, quarter in periods
    ]


def chosen_turvar(release: Release) -> str:
    ids, wanted = release.ids("turvar"), release.table.turvar
    if wanted is not None:
        if str(wanted) not in ids:
            raise BpsResponseError(
                f"{release.where()}: turvar {wanted} is not in the table ({ids})"
            )
        return str(wanted)
    if len(ids) != 1:
        raise BpsResponseError(
            f"{release.where()}: the table has {len(ids)} turvar categories ({', '.join(ids)}); "
            "set `turvar` for it in pipelines/config/bps_tables.yaml"
        )
    return ids[0]


def all_keys(release: Release) -> set[str]:
    """Every key the metadata allows, whatever the var and turvar, to spot stray content."""
    keys = {""}
    for name in DIMENSIONS:
        keys = {key + item_id for key in keys for item_id in release.ids(name)}
    return keys


def datacontent(release: Release) -> dict[str, Any]:
    content = release.document.get("datacontent")
    if content in ([], None):  # PHP writes an empty object as []
        return {}
    if not isinstance(content, dict):
        raise BpsResponseError(f"{release.where()}: 'datacontent' is not an object")
    return content


def check_keys(release: Release, table_slots: list[Slot], content: dict[str, Any]) -> None:
    """Ids are concatenated without separators, so two cells may collide; never guess which."""
    seen: dict[str, Slot] = {}
    for slot in table_slots:
        if slot.key in seen:
            raise BpsResponseError(
                f"{release.where()}: datacontent key {slot.key} is ambiguous (it would mean "
                f"both {describe_slot(seen[slot.key])} and {describe_slot(slot)}); the ids "
                "cannot be told apart without separators"
            )
        seen[slot.key] = slot
    stray = sorted(set(content) - all_keys(release))
    if stray:
        raise BpsResponseError(
            f"{release.where()}: {len(stray)} datacontent keys match no combination of the "
            f"metadata ids (e.g. {', '.join(stray[:5])}); the response is inconsistent"
        )


def describe_slot(slot: Slot) -> str:
    return f"{slot.region_label} {slot.year} {slot.period_label}"


# --- typed rows -----------------------------------------------------------------------------


def clean_schema(dataset: str = DATASET) -> pa.Schema:
    """The schema of ``clean/bps_imk_growth/`` Parquet files, lineage columns included."""
    import pyarrow as pa

    if dataset != DATASET:
        raise KeyError(f"the BPS feed does not produce {dataset!r}")
    return pa.schema([*row_schema(), *lineage_fields()])


def row_schema() -> pa.Schema:
    import pyarrow as pa

    return pa.schema(
        [
            ("province_code", pa.string()),
            ("region_level", pa.string()),
            ("bps_province_code", pa.string()),
            ("bps_region_id", pa.string()),
            ("region_label", pa.string()),
            ("territory_note", pa.string()),
            ("year", pa.int64()),
            ("quarter", pa.int64()),
            ("period_label", pa.string()),
            ("measure", pa.string()),
            ("growth_pct", pa.float64()),
            ("bps_var_id", pa.int64()),
            ("bps_domain", pa.string()),
            # The cell's address in the response (datacontent[<key>]) and its position.
            ("source_sheet", pa.string()),
            ("source_row", pa.int64()),
        ]
    )


@dataclass
class Decoded:
    rows: list[dict[str, Any]] = field(default_factory=list)
    problems: list[CellProblem] = field(default_factory=list)


def decode(release: Release) -> Decoded:
    """One row per cell the metadata lists; a key missing from ``datacontent`` is a null.

    A national table lists every province for every year, including years before a province
    existed in BPS numbering (the new Papua provinces before 2023): those empty cells are no
    cells at all, while a figure there is a problem.
    """
    table_slots = slots(release)
    content = datacontent(release)
    check_keys(release, table_slots, content)
    decoded = Decoded()
    for slot in table_slots:
        number = len(decoded.rows) + 1
        row = base_row(release, slot, number)
        try:
            row.update(region_columns(release, slot))
        except LookupError as error:
            if isinstance(error, NotYetNumbered) and slot.key not in content:
                continue  # a province in a year before it existed: no cell, so no row
            decoded.problems.append(problem(slot, number, "vervar", slot.region_id, error))
        try:
            row["growth_pct"] = cell_value(content.get(slot.key))
        except ValueError as error:
            decoded.problems.append(problem(slot, number, "datacontent", content[slot.key], error))
        decoded.rows.append(row)
    return decoded


def base_row(release: Release, slot: Slot, number: int) -> dict[str, Any]:
    return {
        "bps_region_id": slot.region_id,
        "region_label": slot.region_label,
        "year": slot.year,
        "quarter": slot.quarter,
        "period_label": slot.period_label,
        "measure": release.table.measure,
        "growth_pct": None,
        "bps_var_id": release.table.var,
        "bps_domain": release.domain,
        "source_sheet": slot.address,
        "source_row": number,
    }


def region_columns(release: Release, slot: Slot) -> dict[str, Any]:
    bps_code = bps_province_code(slot.region_id, slot.region_label, release.domain)
    entry = load_crosswalk().resolve(bps_code, slot.year)
    return {
        "province_code": entry.province_code,
        "region_level": "nasional" if entry.province_code == NATIONAL_CODE else "provinsi",
        "bps_province_code": bps_code,
        "territory_note": entry.territory_note,
    }


def problem(slot: Slot, number: int, column: str, value: Any, error: Exception) -> CellProblem:
    return CellProblem(
        sheet=slot.address,
        row=number,
        column=column,
        value=str(value),
        problem=f"{describe_slot(slot)}: {error}",
    )


def to_table(rows: list[dict[str, Any]]) -> pa.Table:
    import pyarrow as pa

    return pa.Table.from_pylist(rows, schema=row_schema())


def validation_frame(table: pa.Table) -> pd.DataFrame:
    """A pandas frame with nullable dtypes, so a missing quarter or growth stays missing."""
    import pandas as pd
    import pyarrow as pa

    nullable = {pa.int64(): pd.Int64Dtype(), pa.float64(): pd.Float64Dtype()}
    frame: pd.DataFrame = table.to_pandas(types_mapper=nullable.get)
    return frame


# --- the feed handler -----------------------------------------------------------------------


def process_bps_file(context: FeedContext, landed: LandedFile) -> FeedResult:
    """Read, decode and validate one BPS response: typed rows, or a report of what is wrong."""
    report = context.new_report()
    try:
        release = release_from_landed(landed.key, landed.data)
        if not release.available:
            log.info("%s: BPS has no data (not-available); nothing to ingest", release.where())
            return FeedResult()
        decoded = decode(release)
    except BpsResponseError as error:
        report.file_error = str(error)
        return FeedResult(report=report)
    table = to_table(decoded.rows)
    scope = {f"{release.table.var}|{release.domain}": table.num_rows}
    parameters = validation_parameters(context, scope)
    outcome = context.validator.validate(DATASET, validation_frame(table), parameters)
    report.cell_problems = decoded.problems
    report.failed_checks = outcome.failed
    report.rows_in = table.num_rows
    report.rows_rejected = len(report.located_rows())
    return FeedResult(
        tables={DATASET: table},
        outcomes=[outcome],
        report=report if decoded.problems or report.blocking_checks else None,
        rows_in=table.num_rows,
        rows_by_scope=scope,
    )


def validation_parameters(context: FeedContext, scope: dict[str, int]) -> dict[str, Any]:
    """Reference province codes (and national), this year, and the truncation floor."""
    return {
        "province_codes": sorted([*load_regions().provinces, NATIONAL_CODE]),
        "current_year": context.settings.reference_date().year,
        "min_expected_rows": context.minimum_expected_rows(scope),
    }


# --- the HTTP client ------------------------------------------------------------------------


class BpsClient:
    """Path-style calls to the BPS Web API with retries, timeouts and the key kept out of sight.

    Connection errors, timeouts, 429 and 5xx answers are retried with exponential backoff
    (urllib3 ``Retry``, honouring ``Retry-After``); what still fails raises ``BpsApiError``
    naming the table and domain, with the URL redacted.
    """

    def __init__(
        self,
        base_url: str,
        key: str,
        *,
        timeout: float | tuple[float, float] = (5.0, 30.0),
        retries: int = 3,
        backoff_factor: float = 1.0,
    ) -> None:
        if not key:
            raise BpsConfigError("the BPS API key is empty; set SENTRA_BPS_API_KEY")
        self.base_url = base_url.rstrip("/")
        self._key = key
        self.timeout = timeout
        self.retries = retries
        self._session = new_session(retries, backoff_factor)
        _redact_http_logs()

    def __enter__(self) -> BpsClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self._session.close()

    def url(self, *segments: object) -> str:
        path = "/".join(str(segment) for segment in segments)
        return f"{self.base_url}/{path}/key/{self._key}/"

    def shown(self, text: str) -> str:
        return redact(text, self._key)

    def data_url(self, table: BpsTable, domain: str) -> str:
        turvar = ("turvar", table.turvar) if table.turvar is not None else ()
        return self.url("list/model/data/lang/ind/domain", domain, "var", table.var, *turvar)

    def fetch_data(self, table: BpsTable, domain: str) -> bytes:
        """The body of the data call for one table and domain (any HTTP-200 body)."""
        body = self.get(self.data_url(table, domain), describe(table.var, table.measure, domain))
        # The raw copy is kept forever: a body that echoes the key must not carry it there.
        return body.replace(self._key.encode(), b"***")

    def province_domains(self) -> set[str]:
        """Every province domain BPS lists (``domain/type/prov``), following its pagination."""
        return {
            str(item.get("domain_id"))
            for item in self.list_items("domain/type/prov", "the BPS domain list")
        }

    def list_items(self, path: str, what: str) -> Iterator[dict[str, Any]]:
        """Items of a paginated list answer: ``data[0]`` is the page info, ``data[1]`` the items."""
        page, pages = 1, 1
        while page <= pages:
            segments = (path,) if page == 1 else (path, "page", page)
            where = f"{what} (page {page})"
            document = read_document(self.get(self.url(*segments), where), where)
            info, items = list_page(document, where)
            pages = int(info.get("pages") or 1)
            yield from items
            page += 1

    def get(self, url: str, what: str) -> bytes:
        import requests

        try:
            response = self._session.get(url, timeout=self.timeout)
        except requests.RequestException as error:
            # ``from None``: the chained exception would carry the unredacted URL.
            raise BpsApiError(
                f"{what}: no answer from {self.shown(url)} after {self.retries} retries "
                f"({type(error).__name__}: {self.shown(str(error))})"
            ) from None
        if response.status_code != 200:
            snippet = self.shown(response.text[:200])
            raise BpsApiError(
                f"{what}: HTTP {response.status_code} from {self.shown(url)}: {snippet!r}"
            )
        return response.content


def list_page(document: dict[str, Any], where: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    data = document.get("data")
    if document.get("data-availability") == "not-available" or data == "":
        return {"pages": 1}, []
    if not (
        isinstance(data, list)
        and len(data) == 2
        and isinstance(data[0], dict)
        and isinstance(data[1], list)
    ):
        raise BpsResponseError(
            f"{where}: expected a paginated list ('data': [page info, items]), "
            f"got {str(data)[:80]!r}"
        )
    return data[0], data[1]


def new_session(retries: int, backoff_factor: float) -> requests.Session:
    import requests
    from requests.adapters import HTTPAdapter
    from urllib3.util import Retry

    retry = Retry(
        total=retries,
        connect=retries,
        read=retries,
        status=retries,
        backoff_factor=backoff_factor,
        status_forcelist=(429, 500, 502, 503, 504),
        allowed_methods=frozenset({"GET"}),
        # The last 5xx answer comes back as a response, so the error can say which status.
        raise_on_status=False,
    )
    session = requests.Session()
    adapter = HTTPAdapter(max_retries=retry)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    session.headers["Accept"] = "application/json"
    return session


# --- pulling: every configured table and domain through the ordinary ingest -----------------


def client_from_settings(settings: Settings) -> BpsClient:
    key = settings.bps_api_key
    if key is None or not key.get_secret_value():
        raise BpsConfigError(
            "SENTRA_BPS_API_KEY is not set: `sentra ingest bps` needs a BPS Web API key "
            "(register at https://webapi.bps.go.id/developer/). To ingest responses landed "
            "under bps/ instead, run `sentra ingest`."
        )
    return BpsClient(settings.bps_api_url, key.get_secret_value())


def pulled_name(table: BpsTable, domain: str) -> str:
    """The ledger's ``original_name`` of a pulled response: table and domain, never the key."""
    return f"{PULLED_PREFIX}/var-{table.var}/domain-{domain}.json"


def pulled_releases(
    settings: Settings,
    progress: ProgressCallback | None = None,
    *,
    client: BpsClient | None = None,
    tables: Sequence[BpsTable] | None = None,
) -> Iterator[LandedFile | UnfetchedFile]:
    """Fetch every configured table and domain; each answer as a file to ingest like a landed one.

    HTTP failures and error answers come back as ``UnfetchedFile`` (retried by the next pull);
    nothing of theirs is kept. Each file exists until the next one is asked for.
    """
    tables = tables if tables is not None else load_tables()
    client = client or client_from_settings(settings)
    pairs = [(table, domain) for table in tables for domain in table.domains]
    with client, tempfile.TemporaryDirectory(prefix="sentra-bps-") as folder:
        listed = listed_domains(client)
        for position, (table, domain) in enumerate(pairs, start=1):
            if progress:
                progress(position, len(pairs), pulled_name(table, domain))
            yield pull_one(client, table, domain, listed, Path(folder))


def listed_domains(client: BpsClient) -> set[str] | None:
    """BPS's own province domains, to catch a wrong code before asking for its data.

    The Papua codes in the crosswalk are unverified; this is where a wrong one shows. When the
    list cannot be read the pull goes on unchecked: the list is a check, not a dependency.
    """
    try:
        return client.province_domains() | {NATIONAL_DOMAIN}
    except (BpsApiError, BpsResponseError) as error:
        log.warning("could not read BPS's domain list, domains are not checked: %s", error)
        return None


def pull_one(
    client: BpsClient, table: BpsTable, domain: str, listed: set[str] | None, folder: Path
) -> LandedFile | UnfetchedFile:
    """Fetch one table and domain; a failure is an outcome, not a crash."""
    name = pulled_name(table, domain)
    try:
        body = fetch_release(client, table, domain, listed)
    except (BpsApiError, BpsResponseError) as error:
        log.error("%s", error)
        return UnfetchedFile(name, SOURCE, str(error))
    path = folder / f"var-{table.var}-domain-{domain}.json"
    path.write_bytes(body)
    return LandedFile(
        key=name,
        source=SOURCE,
        path=path,
        sha256=file_sha256(path),
        size=len(body),
        landed_at=utc_now(),
    )


def fetch_release(
    client: BpsClient, table: BpsTable, domain: str, listed: set[str] | None
) -> bytes:
    """The answer for one table and domain, if it is a release (data or not-available).

    Error answers and non-JSON bodies raise instead: they say nothing about the data, and
    landing them would settle their bytes so the next pull could not retry.
    """
    where = describe(table.var, table.measure, domain)
    if listed is not None and domain not in listed:
        raise BpsApiError(
            f"{where}: BPS does not list domain {domain}; check its BPS code in "
            "pipelines/reference/bps_province_crosswalk.csv"
        )
    body = client.fetch_data(table, domain)
    read_document(body, where)
    return body


FEED = Feed(
    source=SOURCE,
    datasets=(DATASET,),
    process=process_bps_file,
    clean_schema=clean_schema,
)
