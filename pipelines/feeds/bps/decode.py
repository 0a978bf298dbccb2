"""Decoding one data-model response of the BPS Web API into typed rows.

The dimensions are lists of ``{"val": id, "label": text}`` (``var``, ``turvar``, ``vervar``,
``tahun``, ``turtahun``) and the cells sit in ``datacontent`` keyed by the ids concatenated
without separator or padding in that order. Ids differ in length, so keys are never split: every
key the metadata allows is built and looked up, a missing key is a missing value (never zero),
and a key that could mean two cells, or that matches no cell, makes the response unreadable.

Which table a response is comes from the title of its ``var`` (matched against the configured
tables, as the pull matched BPS's listing), which domain from its name
(``.../var-<var>/domain-<domain>.json``): the data document does not say.
"""

from __future__ import annotations

import functools
import math
import re
import reprlib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pipelines.feeds.bps.api import BpsResponseError, clean_label, not_available, read_document
from pipelines.feeds.bps.tables import (
    CONFIG_NAME,
    NATIONAL_CODE,
    NATIONAL_DOMAIN,
    BpsTable,
    CrosswalkEntry,
    NotYetNumbered,
    TableConfig,
    describe,
    load_config,
    load_crosswalk,
)
from pipelines.quality.quarantine import CellProblem
from pipelines.reference.regions import RegionResolutionError, load_regions

if TYPE_CHECKING:
    import pyarrow as pa

DIMENSIONS = ("vervar", "var", "turvar", "tahun", "turtahun")
"""The dimensions in the order their ids are concatenated into ``datacontent`` keys."""
YEAR_ID_OFFSET = 1900
"""BPS numbers years from 1900: year id 117 is 2017."""
NO_BREAKDOWN = "tidak ada"
"""The label of the single ``vervar`` entry of a table without a regional breakdown."""
MAX_CELLS = 1_000_000
"""Far more cells than a BPS table has (a national quarterly table: ~40 regions x ~10 years x
5 periods); the metadata of a damaged response can multiply to billions."""


def bps_province_code(region_id: str, region_label: str, domain: str | None) -> str:
    """The 2-digit BPS province code (``00`` national) a ``vervar`` entry stands for.

    Tables write a province as ``3400`` or ``34`` and the nation as ``9999`` (or ``0000``);
    a table without a regional breakdown has a single ``Tidak Ada`` entry and means its domain.
    """
    if region_id in ("9999", NATIONAL_DOMAIN):
        return NATIONAL_CODE
    if region_id == "0" or region_label.casefold() == NO_BREAKDOWN:
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


@dataclass(frozen=True)
class Release:
    """One data-model response: its var, the configured table it is, the domain asked for."""

    var: int
    table: BpsTable
    domain: str | None
    document: dict[str, Any]

    def where(self) -> str:
        return describe(self.var, self.table.measure, self.domain)

    @property
    def scope(self) -> str:
        """The ledger scope of its rows: one table at one domain."""
        return f"{self.var}|{self.domain}"

    @functools.cached_property
    def dimensions(self) -> dict[str, list[tuple[str, str]]]:
        """(id, label) of every entry of each dimension, read and checked once.

        Their product is the key space decoding builds; past ``MAX_CELLS`` the response is
        refused before a few kilobytes of metadata make it build billions of keys.
        """
        dimensions = {name: labelled(self.document, name, self.where()) for name in DIMENSIONS}
        cells = math.prod(len(entries) for entries in dimensions.values())
        if cells > MAX_CELLS:
            sizes = " x ".join(f"{len(dimensions[name])} {name}" for name in DIMENSIONS)
            raise BpsResponseError(
                f"{self.where()}: the metadata lists {sizes} = {cells:,} cells, more than the "
                f"{MAX_CELLS:,} any BPS table has; the response is damaged"
            )
        return dimensions

    def ids(self, name: str) -> list[str]:
        return [item_id for item_id, _ in self.dimensions[name]]


_RELEASE_NAME = re.compile(r"var-(\d+)/domain-(\d{4})\b")


def release_from_landed(key: str, data: bytes, config: TableConfig | None = None) -> Release | None:
    """The release a landed response is, or None when BPS had no data (``not-available``).

    The table is the configured one whose title rule the response's ``var`` title fits; the
    domain comes from the name (``.../var-<var>/domain-<domain>.json``, as pulls and the sample
    write it), and so does the var when the response lists several.
    """
    named = _RELEASE_NAME.search(key)
    named_var, domain = (named[1], named[2]) if named else (None, None)
    where = describe(int(named_var) if named_var else None, None, domain)
    document = read_document(data, where)
    if not_available(document):
        return None
    variables = labelled(document, "var", where)
    chosen = [(i, title) for i, title in variables if named_var in (None, i)]
    if not chosen:
        listed = ", ".join(i for i, _ in variables)
        raise BpsResponseError(f"{where}: the response is for var {listed}, not {named_var}")
    var_id, title = chosen[0]
    where = describe(int(var_id), None, domain)
    return Release(
        int(var_id), table_titled(title, config or load_config(), where), domain, document
    )


def table_titled(title: str, config: TableConfig, where: str) -> BpsTable:
    fitting = config.tables_titled(title)
    if len(fitting) == 1:
        return fitting[0]
    rules = "; ".join(table.describe() for table in fitting or config.tables)
    raise BpsResponseError(
        f"{where}: its title {title!r} fits {'several' if fitting else 'none'} of the tables "
        f"in {CONFIG_NAME} ({rules}); the feed reads only the tables configured there"
    )


def dimension(document: dict[str, Any], name: str, where: str) -> list[dict[str, Any]]:
    items = document.get(name)
    if not isinstance(items, list) or not items:
        raise BpsResponseError(
            f"{where}: the response has no '{name}' list; a data-model answer has var, turvar, "
            "vervar, tahun, turtahun and datacontent"
        )
    return items


# ASCII digits only (str.isdigit also takes "²" and "٣", which int() refuses or misreads), and
# few enough that the year and var ids built from them fit the int64 columns.
_ID = re.compile(r"[0-9]{1,18}")


def item_id(item: Any, name: str, where: str) -> str:
    """An id as it appears in ``datacontent`` keys: the decimal digits, no padding."""
    value = item.get("val") if isinstance(item, dict) else None
    if isinstance(value, bool) or not isinstance(value, int | str) or not _ID.fullmatch(str(value)):
        raise BpsResponseError(
            f"{where}: a '{name}' entry has no numeric 'val': {reprlib.repr(item)}"
        )
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
        if raw != raw:  # NaN is missing
            return None
        try:
            return float(raw)
        except OverflowError:  # an integer of hundreds of digits
            raise ValueError(f"{raw!r} is too large to be a growth figure") from None
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
    prefix = f"{release.var}{chosen_turvar(release)}"
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
        "bps_var_id": release.var,
        "bps_domain": release.domain,
        "source_sheet": slot.address,
        "source_row": number,
    }


def region_columns(release: Release, slot: Slot) -> dict[str, Any]:
    bps_code = bps_province_code(slot.region_id, slot.region_label, release.domain)
    entry = load_crosswalk().resolve(bps_code, slot.year)
    if bps_code != NATIONAL_CODE and slot.region_label.casefold() != NO_BREAKDOWN:
        check_label(slot, bps_code, entry)
    return {
        "province_code": entry.province_code,
        "region_level": "nasional" if entry.province_code == NATIONAL_CODE else "provinsi",
        "bps_province_code": bps_code,
        "territory_note": entry.territory_note,
    }


def check_label(slot: Slot, bps_code: str, entry: CrosswalkEntry) -> None:
    """The province a ``vervar`` label names is the one the crosswalk gives its code.

    BPS and Kemendagri number Papua differently; the label is BPS's own word for which
    province a code is, so a crosswalk that disagrees with it is caught, never trusted.
    """
    try:
        named = load_regions().resolve_province(slot.region_label)
    except RegionResolutionError as error:
        raise LookupError(
            f"vervar {slot.region_id} is labelled {slot.region_label!r}, which names no "
            f"Kemendagri province ({error})"
        ) from None
    if named.code != entry.province_code:
        raise LookupError(
            f"vervar {slot.region_id} is labelled {slot.region_label!r}, Kemendagri "
            f"{named.code} ({named.name}), but pipelines/reference/bps_province_crosswalk.csv "
            f"maps BPS code {bps_code} in {slot.year} to {entry.province_code}; correct the "
            "crosswalk"
        )


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
