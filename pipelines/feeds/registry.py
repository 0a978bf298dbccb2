"""The sentra registry feed: CSV or XLSX files from provincial and regency industry offices.

Real submissions are messy (title rows above the header, header spellings, ``;``-separated CSV
in Windows-1252, ``1.234.567,89`` numbers, ``DD/MM/YYYY`` dates, province names in many
spellings). This module turns one landed file into typed sentra and member-IKM tables plus a list
of row-level issues that say what could not be read, where (sheet, row, column) and why. It never
guesses: a value that cannot be read becomes null and an issue, and validation decides the file's
fate.
"""

from __future__ import annotations

import csv
import functools
import hashlib
import io
import re
import zipfile
import zlib
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pipelines.feeds.contract import (
    ROWS_BY_SCOPE,
    Feed,
    FeedContext,
    FeedResult,
    LandedFile,
    PendingTable,
    PendingValidation,
    lineage_fields,
    validated_alone,
)
from pipelines.feeds.formats import (
    ValueFormatError,
    decode_text,
    normalise_header,
    parse_amount,
    parse_date,
    parse_decimal,
    parse_integer,
    parse_status,
    parse_year,
    sniff_delimiter,
)
from pipelines.quality.policy import ParserLimits
from pipelines.quality.quarantine import CellProblem
from pipelines.reference.regions import RegionDirectory, load_regions, normalise_place_name

if TYPE_CHECKING:
    from datetime import date

    import pandas as pd
    import pyarrow as pa

    from pipelines.lake.ledger import LedgerRecord
    from pipelines.quality.validation import ValidationOutcome

SOURCE = "registry"
SENTRA_DATASET = "registry_sentra"
SCOPE_SEPARATOR = "|"
MEMBERS_DATASET = "registry_members"

# Canonical field -> header spellings seen in submissions, after normalise_header().
SENTRA_HEADERS: dict[str, tuple[str, ...]] = {
    "id_sentra": ("id_sentra", "kode_sentra", "id", "no_registrasi_sentra"),
    "nama_sentra": ("nama_sentra", "sentra", "nama_sentra_ikm"),
    "provinsi": ("provinsi", "propinsi", "prov", "nama_provinsi"),
    "kabupaten_kota": (
        "kabupaten_kota",
        "kab_kota",
        "kabupaten",
        "kota",
        "kab",
        "kabkota",
        "kabupaten_kota_",
        "nama_kabupaten_kota",
    ),
    "kecamatan": ("kecamatan", "kec"),
    "desa_kelurahan": ("desa_kelurahan", "desa_kel", "desa", "kelurahan", "kelurahan_desa"),
    "komoditas": ("komoditas", "komoditi", "produk", "produk_unggulan", "jenis_produk"),
    "kbli": ("kbli", "kode_kbli", "no_kbli"),
    "jumlah_ikm": (
        "jumlah_ikm",
        "jml_ikm",
        "jumlah_unit_usaha",
        "jumlah_unit",
        "unit_usaha",
        "jumlah_ikm_unit",
        "jumlah_anggota",
    ),
    "tenaga_kerja": ("tenaga_kerja", "jumlah_tenaga_kerja", "jml_tenaga_kerja", "tk", "jml_tk"),
    "nilai_produksi": ("nilai_produksi", "nilai_produksi_rp", "nilai_produksi_per_tahun"),
    "nilai_investasi": ("nilai_investasi", "investasi", "nilai_investasi_rp"),
    "bahan_baku_utama": ("bahan_baku_utama", "bahan_baku"),
    "status": ("status", "status_sentra", "keaktifan", "status_keaktifan"),
    "tahun_berdiri": ("tahun_berdiri", "tahun_pembentukan", "thn_berdiri", "tahun_terbentuk"),
    "tanggal_pendataan": (
        "tanggal_pendataan",
        "tgl_pendataan",
        "tanggal_survei",
        "tgl_survei",
        "tanggal_pendataan_terakhir",
    ),
    "lintang": ("lintang", "latitude", "lat", "lintang_ls_lu"),
    "bujur": ("bujur", "longitude", "lon", "lng", "long", "bujur_bt"),
    "periode": ("periode", "tahun_data", "tahun_pendataan", "periode_data"),
}
MEMBER_HEADERS: dict[str, tuple[str, ...]] = {
    "id_ikm": ("id_ikm", "kode_ikm", "no_ikm"),
    "id_sentra": ("id_sentra", "kode_sentra"),
    "nama_usaha": ("nama_usaha", "nama_ikm", "nama_perusahaan", "nama_unit_usaha"),
    "akun_marketplace": ("akun_marketplace", "akun_toko_online", "toko_online", "marketplace"),
}
REQUIRED_SENTRA_FIELDS = (
    "nama_sentra",
    "provinsi",
    "kabupaten_kota",
    "komoditas",
    "jumlah_ikm",
    "status",
)
REQUIRED_MEMBER_FIELDS = ("id_ikm", "id_sentra")
DEFAULT_LIMITS = ParserLimits()
HEADER_SCAN_ROWS = 15
MIN_RECOGNISED_HEADERS = 3


class RegistryFormatError(ValueError):
    """The file as a whole cannot be read as a registry (not a table, no recognisable header)."""


@dataclass
class RegistryParse:
    """The typed tables read from one registry file, and what could not be read."""

    sentra: pd.DataFrame | None = None
    members: pd.DataFrame | None = None
    issues: list[CellProblem] = field(default_factory=list)

    @property
    def rows_in(self) -> int:
        return sum(len(frame) for frame in (self.sentra, self.members) if frame is not None)


@dataclass(frozen=True)
class SheetTable:
    """A table found in a sheet: its header mapping and data rows (1-based sheet row numbers)."""

    sheet: str | None
    columns: dict[str, int]
    headers: dict[str, str]
    rows: list[tuple[int, list[Any]]]

    def cell(self, row: list[Any], canonical: str) -> Any:
        index = self.columns.get(canonical)
        return row[index] if index is not None and index < len(row) else None


def parse_registry_file(
    name: str, data: bytes, fallback_period: str, limits: ParserLimits = DEFAULT_LIMITS
) -> RegistryParse:
    """Read one landed registry file (CSV or XLSX, detected from content) into typed tables.

    ``fallback_period`` (usually the landing year) is the reporting period of a file that has
    neither a period column nor survey dates. A file past one of ``limits`` is a format error
    naming the limit and where it was crossed.
    """
    result = RegistryParse()
    sentra_tables: list[SheetTable] = []
    member_tables: list[SheetTable] = []
    for sheet, rows in read_sheets(name, data, limits):
        if (table := find_table(sheet, rows, SENTRA_HEADERS)) and is_sentra_table(table):
            sentra_tables.append(table)
        elif (table := find_table(sheet, rows, MEMBER_HEADERS)) and is_member_table(table):
            member_tables.append(table)
    if not sentra_tables and not member_tables:
        raise RegistryFormatError(
            f"{name}: no sentra or member-IKM table found. A sentra table needs headers such as "
            "'Nama Sentra', 'Provinsi', 'Kabupaten/Kota', 'Komoditas', 'Jumlah IKM'; a member "
            "table needs 'ID IKM', 'ID Sentra', 'Nama Usaha'. Check the header row and the sheets."
        )
    for table in sentra_tables:
        require_columns(name, table, REQUIRED_SENTRA_FIELDS, SENTRA_HEADERS)
    for table in member_tables:
        require_columns(name, table, REQUIRED_MEMBER_FIELDS, MEMBER_HEADERS)
    regions = load_regions()
    if sentra_tables:
        result.sentra = assign_periods(
            sentra_frame(
                [row for table in sentra_tables for row in read_sentra_rows(table, regions, result)]
            ),
            fallback_period,
        )
    if member_tables:
        result.members = member_frame(
            [row for table in member_tables for row in read_member_rows(table, result)]
        )
    return result


def read_sheets(
    name: str, data: bytes, limits: ParserLimits
) -> Iterator[tuple[str | None, list[list[Any]]]]:
    if data.startswith(b"PK\x03\x04"):
        yield from read_xlsx(name, data, limits)
    elif data.startswith(b"\xd0\xcf\x11\xe0"):
        raise RegistryFormatError(
            f"{name}: this is an old binary Excel (.xls) file; save it as .xlsx or CSV and resend."
        )
    else:
        yield None, read_csv_rows(name, data, limits)


def read_csv_rows(name: str, data: bytes, limits: ParserLimits) -> list[list[Any]]:
    if b"\x00" in data[:4096]:
        raise RegistryFormatError(f"{name}: binary content, not a CSV or XLSX file.")
    try:
        text = decode_text(data)
    except ValueFormatError as error:
        raise RegistryFormatError(f"{name}: {error}") from None
    # Title lines above the header may hold no delimiter at all; judge from the table itself.
    lines = text.splitlines()
    first_tabular = next((i for i, line in enumerate(lines) if re.search(r"[,;\t|]", line)), 0)
    delimiter = sniff_delimiter("\n".join(lines[first_tabular : first_tabular + 50]))
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    rows: list[list[Any]] = []
    # The csv module's cell limit is process-wide; every registry read sets its own.
    csv.field_size_limit(limits.max_field_bytes)
    try:
        for row in reader:
            where = f"{name}: line {reader.line_num}"
            check_row(where, row, len(rows) + 1, limits)
            rows.append(row)
    except csv.Error as error:
        raise RegistryFormatError(
            f"{name}: line {reader.line_num}: {error} - a cell longer than max_field_bytes "
            f"({limits.max_field_bytes:,} bytes, limits in pipelines/config/quality.yaml) or an "
            "unclosed quote. Fix the line and resend the file."
        ) from None
    return rows


def check_row(where: str, row: list[Any], number: int, limits: ParserLimits) -> None:
    """Refuse a row past the parser limits, saying which limit and where."""
    if number > limits.max_rows:
        raise RegistryFormatError(
            f"{where}: more than max_rows ({limits.max_rows:,}) rows (limits in "
            "pipelines/config/quality.yaml); split the file or raise the limit."
        )
    if len(row) > limits.max_columns:
        raise RegistryFormatError(
            f"{where}: {len(row):,} cells, more than max_columns ({limits.max_columns:,}, limits "
            "in pipelines/config/quality.yaml); check the delimiter or remove the empty columns."
        )


# What openpyxl raises for damaged bytes. It reads a workbook held in memory, so none of these
# is an operational failure: a member that is not XML (lxml's XMLSyntaxError and ElementTree's
# ParseError are SyntaxErrors), XML of another shape than a workbook part (TypeError, KeyError,
# ValueError), a broken deflate stream (zlib.error) or a member cut short (EOFError).
UNREADABLE_WORKBOOK = (
    zipfile.BadZipFile,
    zlib.error,
    EOFError,
    KeyError,
    OSError,
    ValueError,
    SyntaxError,
    TypeError,
)


def read_xlsx(
    name: str, data: bytes, limits: ParserLimits
) -> Iterator[tuple[str, list[list[Any]]]]:
    from openpyxl import load_workbook

    try:
        unzipped = sum(info.file_size for info in zipfile.ZipFile(io.BytesIO(data)).infolist())
    except (zipfile.BadZipFile, OSError, ValueError) as error:
        raise RegistryFormatError(f"{name}: not a readable XLSX workbook ({error}).") from error
    if unzipped > limits.max_xlsx_uncompressed_bytes:
        raise RegistryFormatError(
            f"{name}: the workbook unzips to {unzipped:,} bytes, more than "
            f"max_xlsx_uncompressed_bytes ({limits.max_xlsx_uncompressed_bytes:,}, limits in "
            "pipelines/config/quality.yaml); send the registry sheets only, or as CSV."
        )
    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except UNREADABLE_WORKBOOK as error:
        raise RegistryFormatError(f"{name}: not a readable XLSX workbook ({error}).") from error
    try:
        for sheet in workbook.worksheets:
            rows: list[list[Any]] = []
            for row in sheet_rows(name, sheet):
                check_row(
                    f"{name}: sheet {sheet.title!r}, row {len(rows) + 1}",
                    list(row),
                    len(rows) + 1,
                    limits,
                )
                rows.append(list(row))
            yield sheet.title, rows
    finally:
        workbook.close()


def sheet_rows(name: str, sheet: Any) -> Iterator[tuple[Any, ...]]:
    """The rows of a read-only sheet, parsed as they are read: damage is found on the way."""
    read = 0
    try:
        for row in sheet.iter_rows(values_only=True):
            yield row
            read += 1
    except UNREADABLE_WORKBOOK as error:
        raise RegistryFormatError(
            f"{name}: sheet {sheet.title!r}, row {read + 1}: the sheet cannot be read ({error})."
        ) from error


def find_table(
    sheet: str | None, rows: list[list[Any]], vocabulary: dict[str, tuple[str, ...]]
) -> SheetTable | None:
    """Find the header row (offices put titles above it) and map its cells to canonical fields."""
    lookup = {
        variant: canonical for canonical, variants in vocabulary.items() for variant in variants
    }
    for index, row in enumerate(rows[:HEADER_SCAN_ROWS]):
        columns: dict[str, int] = {}
        headers: dict[str, str] = {}
        for position, cell in enumerate(row):
            canonical = lookup.get(normalise_header(cell)) if cell is not None else None
            if canonical and canonical not in columns:
                columns[canonical] = position
                headers[canonical] = str(cell).strip()
        if len(columns) >= MIN_RECOGNISED_HEADERS:
            data_rows = [
                (index + 2 + offset, list(cells))
                for offset, cells in enumerate(rows[index + 1 :])
                if any(not is_blank(cell) for cell in cells)
            ]
            return SheetTable(sheet, columns, headers, data_rows)
    return None


def require_columns(
    name: str, table: SheetTable, required: tuple[str, ...], vocabulary: dict[str, tuple[str, ...]]
) -> None:
    missing = [field for field in required if field not in table.columns]
    if missing:
        where = f"sheet '{table.sheet}'" if table.sheet else "the table"
        expected = "; ".join(
            f"{field} (e.g. {', '.join(vocabulary[field][:3])})" for field in missing
        )
        raise RegistryFormatError(
            f"{name}: {where} lacks required columns: {expected}. "
            f"Columns found: {', '.join(table.headers.values())}."
        )


def is_sentra_table(table: SheetTable) -> bool:
    return "nama_sentra" in table.columns and (
        "jumlah_ikm" in table.columns or "komoditas" in table.columns
    )


def is_member_table(table: SheetTable) -> bool:
    return "id_ikm" in table.columns or "nama_usaha" in table.columns


def is_blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def clean_text(value: Any) -> str | None:
    if is_blank(value):
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    # What re.sub(r"\s+", " ", ...).strip() gives (both split on str.isspace), at a third of
    # its cost: called for most cells of the 74 national registry files.
    return " ".join(str(value).split())


class CellReader:
    """Reads cells of one table row, turning conversion errors into located row issues."""

    def __init__(
        self, table: SheetTable, row_number: int, row: list[Any], issues: list[CellProblem]
    ) -> None:
        self.table, self.row_number, self.row, self.issues = table, row_number, row, issues

    def raw(self, canonical: str) -> Any:
        return self.table.cell(self.row, canonical)

    def read(self, canonical: str, convert: Callable[[Any], Any]) -> Any:
        value = self.raw(canonical)
        try:
            return convert(value)
        except ValueError as error:
            self.report(canonical, value, str(error))
            return None

    def report(self, canonical: str, value: Any, problem: str) -> None:
        self.issues.append(
            CellProblem(
                sheet=self.table.sheet,
                row=self.row_number,
                column=self.table.headers.get(canonical, canonical),
                value="" if value is None else str(value),
                problem=problem,
            )
        )


SENTRA_CONVERTERS: dict[str, Callable[[Any], Any]] = {
    "nama_sentra": clean_text,
    "kecamatan": clean_text,
    "desa_kelurahan": clean_text,
    "komoditas": clean_text,
    "kbli": clean_text,
    "bahan_baku_utama": clean_text,
    "jumlah_ikm": parse_integer,
    "tenaga_kerja": parse_integer,
    "nilai_produksi": parse_amount,
    "nilai_investasi": parse_amount,
    "status": parse_status,
    "tahun_berdiri": parse_year,
    "tanggal_pendataan": parse_date,
    "lintang": parse_decimal,
    "bujur": parse_decimal,
}


def read_sentra_rows(
    table: SheetTable, regions: RegionDirectory, result: RegistryParse
) -> Iterator[dict[str, Any]]:
    for row_number, row in table.rows:
        cells = CellReader(table, row_number, row, result.issues)
        record = {name: cells.read(name, convert) for name, convert in SENTRA_CONVERTERS.items()}
        province_code = cells.read(
            "provinsi", lambda value: regions.resolve_province(clean_text(value)).code
        )
        record["province_code"] = province_code
        record["kabupaten_code"] = province_code and cells.read(
            "kabupaten_kota", functools.partial(regency_code, regions, province_code)
        )
        record["komoditas_group"] = komoditas_group(record["komoditas"])
        record["periode"] = cells.read("periode", read_period)
        record["id_sentra_source"] = clean_text(cells.raw("id_sentra"))
        record["sentra_id"] = sentra_id(record)
        record["source_sheet"] = table.sheet
        record["source_row"] = row_number
        yield record


def regency_code(regions: RegionDirectory, province_code: str, value: Any) -> str:
    return regions.resolve_regency(clean_text(value), province_code).code


def read_member_rows(table: SheetTable, result: RegistryParse) -> Iterator[dict[str, Any]]:
    for row_number, row in table.rows:
        cells = CellReader(table, row_number, row, result.issues)
        given_sentra = clean_text(cells.raw("id_sentra"))
        yield {
            "id_ikm": clean_text(cells.raw("id_ikm")),
            "sentra_id": given_sentra.upper() if given_sentra else None,
            "nama_usaha": clean_text(cells.raw("nama_usaha")),
            "seller_accounts": cells.read("akun_marketplace", parse_seller_accounts) or [],
            "source_sheet": table.sheet,
            "source_row": row_number,
        }


def komoditas_group(komoditas: str | None) -> str | None:
    """The commodity group of a registry's komoditas label, None when the label is unknown."""
    if komoditas is None:
        return None
    return komoditas_groups().get(" ".join(komoditas.casefold().split()))


@functools.cache
def komoditas_groups() -> dict[str, str]:
    from importlib import resources

    text = resources.files("pipelines.reference").joinpath("komoditas.csv").read_text("utf-8")
    return {row["label"]: row["group"] for row in csv.DictReader(io.StringIO(text))}


def read_period(value: Any) -> str | None:
    """A reporting period: a year ("2025", 2025.0) or a label such as "2025-S1"."""
    text = clean_text(value)
    if text is None:
        return None
    if re.fullmatch(r"\d{4}(\.0+)?", text):
        return str(parse_year(text))
    return text


def assign_periods(frame: pd.DataFrame, fallback_period: str) -> pd.DataFrame:
    """Fill rows without a period: the file's usual period, else its latest survey year.

    A submission is a snapshot of a province for one period; the period decides which
    submission a resubmission supersedes.
    """
    if frame.empty or not frame["periode"].isna().any():
        return frame
    stated = frame["periode"].dropna()
    if not stated.empty:
        period = str(stated.mode().iloc[0])
    elif frame["tanggal_pendataan"].notna().any():
        period = str(max(frame["tanggal_pendataan"].dropna()).year)
    else:
        period = fallback_period
    frame["periode"] = frame["periode"].fillna(period)
    return frame


def parse_seller_accounts(value: Any) -> list[str]:
    """``"Shopee: batik_sekar; tokopedia:sekar_official"`` -> ``["shopee:batik_sekar", ...]``."""
    text = clean_text(value)
    if text is None:
        return []
    accounts = []
    for entry in re.split(r"[;\n]|,(?=\s*\w+\s*:)", text):
        if not entry.strip():
            continue
        marketplace, separator, account = entry.partition(":")
        if not separator or not marketplace.strip() or not account.strip():
            raise ValueError(
                f"seller account {entry.strip()!r} must be written as 'marketplace:account', "
                "e.g. 'shopee:batik_sekar'"
            )
        accounts.append(f"{marketplace.strip().casefold()}:{account.strip()}")
    return sorted(set(accounts))


def sentra_id(record: dict[str, Any]) -> str | None:
    """The office's own id when given; otherwise a stable id from regency and normalised name.

    Deriving it from content (not row order) makes a resubmission update the same sentra.
    """
    given = record.get("id_sentra_source")
    if given:
        return str(given).upper()
    if not record.get("kabupaten_code") or not record.get("nama_sentra"):
        return None
    name = normalise_place_name(re.sub(r"(?i)\bsentra\b|\bikm\b", " ", record["nama_sentra"]))
    digest = hashlib.sha256(f"{record['kabupaten_code']}|{name}".encode()).hexdigest()[:10]
    return f"S{record['kabupaten_code'].replace('.', '')}-{digest.upper()}"


def sentra_frame(records: Iterable[dict[str, Any]]) -> pd.DataFrame:
    import pandas as pd

    frame = pd.DataFrame.from_records(list(records), columns=list(SENTRA_COLUMNS))
    return frame.astype(SENTRA_COLUMNS)


def member_frame(records: Iterable[dict[str, Any]]) -> pd.DataFrame:
    import pandas as pd

    frame = pd.DataFrame.from_records(list(records), columns=list(MEMBER_COLUMNS))
    return frame.astype(MEMBER_COLUMNS)


# Column order and pandas dtypes of the typed tables (nullable dtypes: missing stays missing).
SENTRA_COLUMNS: dict[str, str] = {
    "sentra_id": "string",
    "id_sentra_source": "string",
    "nama_sentra": "string",
    "province_code": "string",
    "kabupaten_code": "string",
    "kecamatan": "string",
    "desa_kelurahan": "string",
    "komoditas": "string",
    "komoditas_group": "string",
    "kbli": "string",
    "jumlah_ikm": "Int64",
    "tenaga_kerja": "Int64",
    "nilai_produksi": "Float64",
    "nilai_investasi": "Float64",
    "bahan_baku_utama": "string",
    "status": "string",
    "tahun_berdiri": "Int64",
    "tanggal_pendataan": "object",
    "lintang": "Float64",
    "bujur": "Float64",
    "periode": "string",
    "source_sheet": "string",
    "source_row": "Int64",
}
MEMBER_COLUMNS: dict[str, str] = {
    "id_ikm": "string",
    "sentra_id": "string",
    "nama_usaha": "string",
    "seller_accounts": "object",
    "source_sheet": "string",
    "source_row": "Int64",
}


def process_registry_file(context: FeedContext, landed: LandedFile) -> FeedResult:
    """Parse and validate one landed registry file into typed tables and a verdict."""
    return validated_alone(context, prepare_registry_file(context, landed))


def prepare_registry_file(
    context: FeedContext, landed: LandedFile
) -> FeedResult | PendingValidation:
    """Parse one landed registry file into typed tables; their validation is left to the ingest.

    The typed tables always come back (bad rows included) so the ingest can apply the source's
    quarantine policy: publish without the bad rows, or quarantine the whole file.
    """
    report = context.new_report()
    try:
        parsed = parse_registry_file(
            landed.key, landed.data, str(landed.landed_at.year), context.limits
        )
    except RegistryFormatError as error:
        report.file_error = str(error)
        return FeedResult(report=report)
    rows_by_scope = scope_row_counts(parsed.sentra)

    def parameters() -> dict[str, Any]:
        return {
            **validation_parameters(context.settings.reference_date()),
            "min_expected_rows": context.minimum_expected_rows(
                rows_by_scope, latest_earlier_period
            ),
        }

    def finish(outcomes: list[ValidationOutcome]) -> FeedResult:
        report.cell_problems = parsed.issues
        report.failed_checks = [check for outcome in outcomes for check in outcome.failed]
        report.rows_in = parsed.rows_in
        report.rows_rejected = len(report.located_rows())
        frames = {SENTRA_DATASET: parsed.sentra, MEMBERS_DATASET: parsed.members}
        return FeedResult(
            tables={
                dataset: to_arrow(frame) for dataset, frame in frames.items() if frame is not None
            },
            outcomes=outcomes,
            report=report if parsed.issues or report.blocking_checks else None,
            rows_in=parsed.rows_in,
            rows_by_scope=rows_by_scope,
        )

    tables = []
    if parsed.sentra is not None:
        frame = parsed.sentra.assign(member_ikm_listed=members_per_sentra(parsed))
        tables.append(PendingTable(SENTRA_DATASET, frame))
    if parsed.members is not None:
        tables.append(PendingTable(MEMBERS_DATASET, parsed.members))
    # The truncation check compares a province's file with its earlier periods, too.
    provinces = frozenset(scope.partition(SCOPE_SEPARATOR)[0] for scope in rows_by_scope)
    return PendingValidation(tuple(tables), parameters, provinces, finish)


def scope_row_counts(sentra: pd.DataFrame | None) -> dict[str, int]:
    """Sentra rows per ``<province_code>|<period>``, the unit a submission replaces."""
    if sentra is None:
        return {}
    scopes = (sentra["province_code"] + SCOPE_SEPARATOR + sentra["periode"]).dropna()
    return {str(scope): int(count) for scope, count in sorted(scopes.value_counts().items())}


def members_per_sentra(parsed: RegistryParse) -> list[int]:
    """How many member IKM this file lists for each of its sentra (0 without a member table)."""
    assert parsed.sentra is not None
    if parsed.members is None:
        return [0] * len(parsed.sentra)
    counts = parsed.members["sentra_id"].value_counts()
    return [int(counts.get(sentra_id, 0)) for sentra_id in parsed.sentra["sentra_id"]]


def latest_earlier_period(previous: Mapping[str, int], scope: str) -> int:
    """Sentra rows of the province's latest ingested submission for this or an earlier period.

    A late file for an old period is not compared with a newer registry: a registry shrinking
    below the policy's share of that size is a partial file.
    """
    province, _, period = scope.partition(SCOPE_SEPARATOR)
    earlier = [
        (p, count)
        for key, count in previous.items()
        for prov, _, p in [key.partition(SCOPE_SEPARATOR)]
        if prov == province and p <= period
    ]
    return max(earlier)[1] if earlier else 0


def provinces_of(record: LedgerRecord) -> list[str]:
    """The provinces a registry file refreshes: those of its submissions (scope keys)."""
    scopes = record.metrics.get(ROWS_BY_SCOPE, {})
    return sorted({key.partition(SCOPE_SEPARATOR)[0] for key in scopes})


def every_province() -> list[str]:
    """Every Kemendagri province is expected to send a registry, including one that never has."""
    return sorted(load_regions().provinces)


def validation_parameters(reference_date: date) -> dict[str, Any]:
    """Suite parameters that come from the reference tables and the reference date."""
    regions = load_regions()
    return {
        "province_codes": sorted(regions.provinces),
        "regency_codes": sorted(regions.regencies),
        "current_year": reference_date.year,
        "today": reference_date,
    }


def to_arrow(frame: pd.DataFrame) -> pa.Table:
    """Convert with an explicit schema so an all-empty column keeps its type in Parquet."""
    import pyarrow as pa

    schema = arrow_schema({str(name): str(dtype) for name, dtype in frame.dtypes.items()})
    return pa.Table.from_pandas(frame, schema=schema, preserve_index=False)


def arrow_schema(columns: dict[str, str]) -> pa.Schema:
    import pyarrow as pa

    types = {"string": pa.string(), "Int64": pa.int64(), "Float64": pa.float64()}
    special = {"tanggal_pendataan": pa.date32(), "seller_accounts": pa.list_(pa.string())}
    return pa.schema([(name, special.get(name) or types[dtype]) for name, dtype in columns.items()])


def clean_schema(dataset: str) -> pa.Schema:
    """The schema of a dataset's clean Parquet files, lineage columns included."""
    import pyarrow as pa

    columns = {SENTRA_DATASET: SENTRA_COLUMNS, MEMBERS_DATASET: MEMBER_COLUMNS}[dataset]
    return pa.schema([*arrow_schema(columns), *lineage_fields()])


FEED = Feed(
    source=SOURCE,
    datasets=(SENTRA_DATASET, MEMBERS_DATASET),
    process=process_registry_file,
    prepare=prepare_registry_file,
    clean_schema=clean_schema,
    freshness_scopes=provinces_of,
    expected_scopes=every_province,
)
