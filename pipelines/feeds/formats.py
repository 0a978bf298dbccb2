"""Values as Indonesian industry offices write them: numbers, dates, statuses, headers, files.

Indonesian Excel writes ``1.234.567,89`` (dot for thousands, comma for decimals), day-first dates,
Indonesian month names, ``;`` as the CSV delimiter and Windows-1252 text; English-locale exports
of the same registries mix in ``1234567.89``. Every parser returns ``None`` for an empty cell and
raises ``ValueFormatError`` quoting the value and saying what was expected, never a guess.
"""

from __future__ import annotations

import datetime as dt
import math
import numbers
import re
import unicodedata
from decimal import Decimal

__all__ = [
    "ValueFormatError",
    "decode_text",
    "normalise_header",
    "parse_amount",
    "parse_date",
    "parse_decimal",
    "parse_integer",
    "parse_status",
    "parse_year",
    "sniff_delimiter",
]


class ValueFormatError(ValueError):
    """A cell value that does not have the expected format; the message quotes the value."""


# What offices and spreadsheet tools write for "no value".
_MISSING = frozenset({"", "-", "--", "na", "n/a", "#n/a", "nan", "null", "none"})

_AMOUNT_EXPECTED = "an amount such as 1.234.567,89 or Rp 1.500.000,-"
_WHOLE_EXPECTED = "a whole number such as 1.234 or 12"
# The largest whole number a typed (Int64) column holds: a count past it is a damaged cell.
_WHOLE_MAX = 2**63 - 1
_DECIMAL_EXPECTED = "a decimal number such as -7,2575 or 112.752 (no thousands separators)"
_DATE_EXPECTED = "a day-first date such as 31/12/2024, 2024-12-31 or 12 Januari 2024"
_YEAR_MIN, _YEAR_MAX = 1900, 2100
_YEAR_EXPECTED = f"a year between {_YEAR_MIN} and {_YEAR_MAX}"

# An optional sign either side of an optional currency, the digits, and the ",-" that
# Indonesian price notation writes for "no cents".
_AMOUNT = re.compile(r"(-)?\s*(?:(?:rp|idr)\.?\s*)?(-)?(\d[\d.,]*?)(?:[.,]-)?")
_COORDINATE = re.compile(r"([-+]?)(\d+)(?:[.,](\d+))?")
_GROUPED = {sep: re.compile(rf"[1-9]\d{{0,2}}(?:{re.escape(sep)}\d{{3}})+") for sep in ".,"}

_TIME = r"(?:[ t]\d{1,2}[:.]\d{2}(?:[:.]\d{2}(?:\.\d+)?)?)?"
_DAY_FIRST = re.compile(r"(\d{1,2})([/.-])(\d{1,2})\2(\d{4})" + _TIME)
_ISO = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})" + _TIME)
_NAMED_MONTH = re.compile(r"(\d{1,2})[\s-]+([a-z]+)\.?[\s-]+(\d{4})" + _TIME)
# Indonesian names and abbreviations first; English ones because English-locale Excel
# renders the same cells as "12-Aug-2024".
_MONTHS = {
    **dict.fromkeys(("januari", "january", "jan"), 1),
    **dict.fromkeys(("februari", "february", "pebruari", "feb", "peb"), 2),
    **dict.fromkeys(("maret", "march", "mar"), 3),
    **dict.fromkeys(("april", "apr"), 4),
    **dict.fromkeys(("mei", "may"), 5),
    **dict.fromkeys(("juni", "june", "jun"), 6),
    **dict.fromkeys(("juli", "july", "jul"), 7),
    **dict.fromkeys(("agustus", "august", "agu", "ags", "agt", "agus", "aug"), 8),
    **dict.fromkeys(("september", "sep", "sept"), 9),
    **dict.fromkeys(("oktober", "october", "okt", "oct"), 10),
    **dict.fromkeys(("november", "nopember", "nov", "nop"), 11),
    **dict.fromkeys(("desember", "december", "des", "dec"), 12),
}
# Excel counts days from 1899-12-30 (after its fictitious 1900-02-29). Serials outside
# 1950..2100 are far more likely a count or an amount in the wrong column than a date.
_EXCEL_EPOCH = dt.date(1899, 12, 30)
_SERIAL_MIN = (dt.date(1950, 1, 1) - _EXCEL_EPOCH).days
_SERIAL_MAX = (dt.date(2100, 12, 31) - _EXCEL_EPOCH).days

_STATUSES = {
    **dict.fromkeys(("aktif", "active", "ya", "hidup"), "aktif"),
    **dict.fromkeys(
        ("tidakaktif", "tdkaktif", "nonaktif", "tidak", "tdk", "mati", "tutup", "inactive"),
        "tidak_aktif",
    ),
}
_STATUS_EXPECTED = (
    "a status: aktif, active, ya, hidup (-> aktif) or tidak aktif, tdk aktif, non aktif, "
    "nonaktif, non-aktif, tidak, mati, tutup, inactive (-> tidak_aktif)"
)

_UNITS = re.compile(r"\([^)]*\)|\[[^\]]*\]|\{[^}]*\}")
_NOT_WORD = re.compile(r"[\W_]+")
# In order of preference when two split the records equally well: commas also turn up in text
# and decimal numbers, the others rarely do.
_DELIMITERS = (";", "\t", "|", ",")
_SNIFF_RECORDS = 20


def _fail(value: object, expected: str) -> ValueFormatError:
    return ValueFormatError(f"{value!r} is not {expected}")


def _is_missing(value: object) -> bool:
    if value is None:
        return True
    if isinstance(value, str):
        return _clean(value).casefold() in _MISSING
    try:
        # NaN and pandas' NaT are the only values not equal to themselves.
        return bool(value != value)
    except (TypeError, ValueError):
        return False


def _clean(text: str) -> str:
    # NFKC turns no-break spaces into spaces; U+2212 is the minus sign some tools write.
    return unicodedata.normalize("NFKC", text).replace("\u2212", "-").strip()


def _number_or_text(value: object, expected: str) -> Decimal | str | None:
    """A spreadsheet number as a Decimal, text as cleaned text to parse, or None when empty."""
    if _is_missing(value):
        return None
    if isinstance(value, str):
        return _clean(value)
    if isinstance(value, bool):
        raise _fail(value, expected)
    if isinstance(value, numbers.Integral):
        return Decimal(int(value))
    if isinstance(value, numbers.Real | Decimal) and math.isfinite(value):
        return Decimal(value) if isinstance(value, Decimal) else Decimal(float(value))
    raise _fail(value, expected)


def _amount(value: object, expected: str) -> Decimal | None:
    number = _number_or_text(value, expected)
    if not isinstance(number, str):
        return number
    match = _AMOUNT.fullmatch(number.casefold())
    digits = _canonical_digits(match[3]) if match and not (match[1] and match[2]) else None
    if match is None or digits is None:
        raise _fail(value, expected)
    return -Decimal(digits) if match[1] or match[2] else Decimal(digits)


def _canonical_digits(body: str) -> str | None:
    """``body`` ("1.234.567,89") as "1234567.89", or None when its separators make no sense."""
    separators = [c for c in ".," if c in body]
    if not separators:
        return body
    if len(separators) == 2:
        decimal_sep = max(separators, key=body.rindex)
        return _split_decimal(body, decimal_sep, thousands=True)
    sep = separators[0]
    if _GROUPED[sep].fullmatch(body) and (sep == "." or body.count(sep) > 1):
        return body.replace(sep, "")
    # A single comma is a decimal comma; a single dot not followed by a thousands group is
    # the decimal point of an English-locale export.
    return _split_decimal(body, sep, thousands=False) if body.count(sep) == 1 else None


def _split_decimal(body: str, decimal_sep: str, *, thousands: bool) -> str | None:
    whole, _, fraction = body.rpartition(decimal_sep)
    if thousands:
        thousands_sep = "," if decimal_sep == "." else "."
        if not _GROUPED[thousands_sep].fullmatch(whole):
            return None
        whole = whole.replace(thousands_sep, "")
    if not (whole.isdigit() and fraction.isdigit()):
        return None
    return f"{whole}.{fraction}"


def _whole(value: object, expected: str) -> int | None:
    number = _amount(value, expected)
    if number is None:
        return None
    if number != number.to_integral_value():
        raise _fail(value, expected)
    return int(number)


def parse_amount(value: object) -> float | None:
    """An IDR amount or count in Indonesian ("1.234.567,89") or English ("1,234,567.89") locale.

    The last of two different separators is the decimal one; a single comma is a decimal comma;
    a single dot is a thousands separator only when a 3-digit group follows it ("1.500").
    """
    number = _amount(value, _AMOUNT_EXPECTED)
    return None if number is None else float(number)


def parse_integer(value: object) -> int | None:
    """A whole number written like an amount; "12,5" is an error, 12.0 is 12."""
    number = _whole(value, _WHOLE_EXPECTED)
    if number is not None and abs(number) > _WHOLE_MAX:
        raise _fail(value, f"{_WHOLE_EXPECTED}, at most {_WHOLE_MAX:,}")
    return number


def parse_decimal(value: object) -> float | None:
    """A coordinate: a single '.' or ',' is always the decimal separator ("-7,2575")."""
    number = _number_or_text(value, _DECIMAL_EXPECTED)
    if not isinstance(number, str):
        return None if number is None else float(number)
    match = _COORDINATE.fullmatch(number)
    if match is None:
        raise _fail(value, _DECIMAL_EXPECTED)
    sign, whole, fraction = match.groups()
    return float(f"{sign}{whole}.{fraction or 0}")


def parse_year(value: object) -> int | None:
    """A year in 1900..2100, written as text or a spreadsheet number ("2015", 2015.0, "2.015")."""
    year = _whole(value, _YEAR_EXPECTED)
    if year is not None and not _YEAR_MIN <= year <= _YEAR_MAX:
        raise _fail(value, _YEAR_EXPECTED)
    return year


def parse_date(value: object) -> dt.date | None:
    """A date, always day-first; Excel serial numbers and Indonesian month names accepted."""
    if _is_missing(value):
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        return _date_from_serial(value)
    if not isinstance(value, str):
        raise _fail(value, _DATE_EXPECTED)
    year, month, day = _date_parts(value)
    try:
        return dt.date(year, month, day)
    except ValueError:
        raise _fail(value, "a real calendar date (day-first: DD/MM/YYYY)") from None


def _date_from_serial(serial: numbers.Real) -> dt.date:
    if not _SERIAL_MIN <= float(serial) < _SERIAL_MAX + 1:
        raise _fail(
            serial,
            f"an Excel date serial between {_SERIAL_MIN} (1950-01-01) "
            f"and {_SERIAL_MAX} (2100-12-31)",
        )
    return _EXCEL_EPOCH + dt.timedelta(days=math.floor(float(serial)))


def _date_parts(value: str) -> tuple[int, int, int]:
    text = _clean(value).casefold()
    if match := _DAY_FIRST.fullmatch(text):
        return int(match[4]), int(match[3]), int(match[1])
    if match := _ISO.fullmatch(text):
        return int(match[1]), int(match[2]), int(match[3])
    match = _NAMED_MONTH.fullmatch(text)
    if match is None or match[2] not in _MONTHS:
        raise _fail(value, _DATE_EXPECTED)
    return int(match[3]), _MONTHS[match[2]], int(match[1])


def parse_status(value: object) -> str | None:
    """The status of a sentra, "aktif" or "tidak_aktif", from the words offices write for it."""
    if _is_missing(value):
        return None
    words = _clean(value).casefold() if isinstance(value, str) else ""
    status = _STATUSES.get(_NOT_WORD.sub("", words))
    if status is None:
        raise _fail(value, _STATUS_EXPECTED)
    return status


def normalise_header(text: object) -> str:
    """A column header as a snake_case key: units in brackets dropped, accents and BOM gone.

    "Nilai Produksi [Rp/tahun]" -> "nilai_produksi", "Kab/Kota" -> "kab_kota".
    """
    cleaned = _UNITS.sub(" ", unicodedata.normalize("NFKD", str(text).replace("\ufeff", "")))
    ascii_only = cleaned.encode("ascii", "ignore").decode("ascii").casefold()
    return _NOT_WORD.sub("_", ascii_only).strip("_")


def decode_text(data: bytes) -> str:
    """Bytes of a CSV as text: UTF-8 (BOM or not), UTF-16 with BOM, else Windows-1252.

    Offices' Excel saves "CSV UTF-8" with a BOM, plain "CSV" as Windows-1252 and
    "Unicode Text" as UTF-16; Windows-1252 would decode UTF-16 into silent garbage.
    """
    try:
        if data.startswith((b"\xff\xfe", b"\xfe\xff")):
            return data.decode("utf-16")
        try:
            return data.decode("utf-8-sig")
        except UnicodeDecodeError:
            return data.decode("cp1252")
    except UnicodeDecodeError as error:
        # The line counted in the file's own encoding: in UTF-16 a 0x0A byte is no line end.
        line = data[: error.start].decode(error.encoding, "replace").count("\n") + 1
        unlike = (
            "not UTF-16, though the file starts with a UTF-16 byte-order mark"
            if error.encoding.startswith("utf-16")
            else "neither UTF-8 nor Windows-1252"
        )
        raise ValueFormatError(
            f"line {line}: byte {data[error.start : error.end]!r} at offset {error.start} is "
            f"{unlike}; save the file as CSV UTF-8"
        ) from None


def sniff_delimiter(text: str) -> str:
    """The delimiter of a CSV text: ',', ';', tab or '|', judged on its first records.

    The delimiter is the candidate in the header that splits most records into as many fields
    as the header; commas inside "1.234,56" make a comma look frequent but not consistent.
    """
    records = _sample_records(text)
    if not records:
        return ","

    def score(delimiter: str) -> tuple[int, int]:
        header = records[0].count(delimiter)
        return sum(r.count(delimiter) == header for r in records), header

    best = max((d for d in _DELIMITERS if records[0].count(d)), key=score, default=",")
    return best


def _sample_records(text: str) -> list[str]:
    """The first records of a CSV text with their quoted parts removed.

    Quoted fields may hold delimiters and line breaks, so quotes are tracked across lines.
    """
    records: list[str] = []
    current: list[str] = []
    quoted = False
    for char in text:
        if char == '"':
            quoted = not quoted
        elif quoted:
            continue
        elif char == "\n":
            _close_record(records, current)
            if len(records) == _SNIFF_RECORDS:
                return records
        else:
            current.append(char)
    _close_record(records, current)
    return records


def _close_record(records: list[str], current: list[str]) -> None:
    record = "".join(current).strip("\r")
    if record.strip():
        records.append(record)
    current.clear()
