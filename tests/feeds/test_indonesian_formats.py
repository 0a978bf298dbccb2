"""Indonesian-locale value parsing: numbers, dates, years, statuses, headers, encodings."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from decimal import Decimal

import numpy as np
import pandas as pd
import pytest

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

MISSING = ["", "   ", None, "-", "NA", "n/a", "N/A", "#N/A", "nan", float("nan"), np.nan]
PARSERS: list[Callable[[object], object]] = [
    parse_amount,
    parse_integer,
    parse_decimal,
    parse_date,
    parse_year,
    parse_status,
]


@pytest.mark.parametrize("parser", PARSERS, ids=lambda p: p.__name__)
def test_every_spelling_of_missing_is_none(parser: Callable[[object], object]) -> None:
    parsed = [(value, result) for value in MISSING if (result := parser(value)) is not None]
    assert parsed == []


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("1.234.567,89", 1234567.89),
        ("1.234.567", 1234567.0),
        ("1.500", 1500.0),
        ("Rp 1.500.000,-", 1500000.0),
        ("Rp1.500.000,00", 1500000.0),
        ("Rp. 1.500.000", 1500000.0),
        ("rp 750.000", 750000.0),
        ("IDR 2.000,50", 2000.5),
        ("2,5", 2.5),
        ("1,500", 1.5),  # a single comma is a decimal comma, even before 3 digits
        ("1234567.89", 1234567.89),
        ("12.5", 12.5),
        ("0.500", 0.5),  # "0" cannot lead a thousands group
        ("1234.567", 1234.567),  # nor can "1234"
        ("1,234,567.89", 1234567.89),
        ("1,234,567", 1234567.0),
        ("-1.000", -1000.0),
        ("- Rp 5.000", -5000.0),
        ("Rp -5.000", -5000.0),
        ("\u22121.000", -1000.0),  # U+2212 minus sign
        ("1.234.567,89\u00a0", 1234567.89),
        ("0", 0.0),
        ("007", 7.0),
        (1234567, 1234567.0),
        (2.5, 2.5),
        (np.int64(12), 12.0),
        (np.float64(2.5), 2.5),
        (Decimal("3.25"), 3.25),
    ],
)
def test_parse_amount(value: object, expected: float) -> None:
    result = parse_amount(value)
    assert result == expected
    assert isinstance(result, float)


@pytest.mark.parametrize(
    ("value", "expected"),
    [("1.234", 1234), ("12", 12), (12.0, 12), ("12.0", 12), ("12,00", 12), ("-3", -3), (7, 7)],
)
def test_parse_integer(value: object, expected: int) -> None:
    result = parse_integer(value)
    assert result == expected
    assert isinstance(result, int)


def test_parse_integer_keeps_large_values_exact() -> None:
    assert parse_integer("9.007.199.254.740.993") == 9_007_199_254_740_993


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("-7,2575", -7.2575),
        ("-7.2575", -7.2575),
        ("112.752", 112.752),  # a dot before 3 digits is still a decimal point here
        ("110,3695", 110.3695),
        ("1,500", 1.5),
        ("+110.5", 110.5),
        ("110", 110.0),
        (-7.5, -7.5),
        (110, 110.0),
    ],
)
def test_parse_decimal(value: object, expected: float) -> None:
    assert parse_decimal(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("31/12/2024", dt.date(2024, 12, 31)),
        ("31-12-2024", dt.date(2024, 12, 31)),
        ("31.12.2024", dt.date(2024, 12, 31)),
        ("1/2/2024", dt.date(2024, 2, 1)),  # day first: 1 February
        ("05/03/2024", dt.date(2024, 3, 5)),
        ("29/02/2024", dt.date(2024, 2, 29)),
        ("2024-12-31", dt.date(2024, 12, 31)),
        ("2024-12-31 00:00:00", dt.date(2024, 12, 31)),
        ("2024-12-31T08:30:00", dt.date(2024, 12, 31)),
        ("31/12/2024 08:30", dt.date(2024, 12, 31)),
        ("12 Januari 2024", dt.date(2024, 1, 12)),
        ("12 Jan 2024", dt.date(2024, 1, 12)),
        ("12 JANUARI 2024", dt.date(2024, 1, 12)),
        ("12 Agustus 2024", dt.date(2024, 8, 12)),
        ("12 Agu 2024", dt.date(2024, 8, 12)),
        ("12 Ags 2024", dt.date(2024, 8, 12)),
        ("12 Ags. 2024", dt.date(2024, 8, 12)),
        ("1 Mei 2024", dt.date(2024, 5, 1)),
        ("1 Okt 2024", dt.date(2024, 10, 1)),
        ("1 Oktober 2024", dt.date(2024, 10, 1)),
        ("25 Des 2024", dt.date(2024, 12, 25)),
        ("25 Desember 2024", dt.date(2024, 12, 25)),
        ("17 Pebruari 2024", dt.date(2024, 2, 17)),
        ("12-Aug-2024", dt.date(2024, 8, 12)),
        (45000, dt.date(2023, 3, 15)),
        (45000.0, dt.date(2023, 3, 15)),
        (45000.99, dt.date(2023, 3, 15)),  # time of day dropped
        (np.int64(45000), dt.date(2023, 3, 15)),
        (dt.date(2024, 1, 2), dt.date(2024, 1, 2)),
        (dt.datetime(2024, 1, 2, 23, 59), dt.date(2024, 1, 2)),
        (pd.Timestamp("2024-01-02 10:00"), dt.date(2024, 1, 2)),
        (pd.NaT, None),
    ],
    ids=repr,
)
def test_parse_date(value: object, expected: dt.date | None) -> None:
    result = parse_date(value)
    assert result == expected
    assert result is None or type(result) is dt.date


@pytest.mark.parametrize(
    ("value", "expected"),
    [("2015", 2015), (2015, 2015), (2015.0, 2015), ("2.015", 2015), (" 1990 ", 1990)],
)
def test_parse_year(value: object, expected: int) -> None:
    assert parse_year(value) == expected


@pytest.mark.parametrize(
    ("status", "spellings"),
    [
        ("aktif", ["aktif", "AKTIF", "Aktif", " Aktif ", "active", "ya", "Ya", "hidup"]),
        (
            "tidak_aktif",
            ["tidak aktif", "Tidak Aktif", "tdk aktif", "Tdk. Aktif", "non aktif", "nonaktif",
             "non-aktif", "NON-AKTIF", "mati", "tutup", "inactive", "tidak"],
        ),
    ],
)  # fmt: skip
def test_every_spelling_of_a_status_parses_to_it(status: str, spellings: list[str]) -> None:
    parsed = {spelling: parse_status(spelling) for spelling in spellings}
    assert parsed == dict.fromkeys(spellings, status)


Rejection = tuple[Callable[[object], object], object, str]


def _rejections(
    parser: Callable[[object], object], expected_words: str, values: list[object]
) -> list[Rejection]:
    return [(parser, value, expected_words) for value in values]


REJECTED = [
    *_rejections(
        parse_amount,
        "amount such as 1.234.567,89",
        [
            "1.2.3",
            "1,23,456",
            "1.234,567.89",
            "1.234.56",
            "1..234",
            "1.500.",
            "--5",
            "- Rp -5",
            "1 500",
            "Rp",
            "abc",
            "12 unit",
            "(1.000)",
            True,
            float("inf"),
            dt.date(2024, 1, 1),
        ],
    ),
    *_rejections(parse_integer, "whole number", ["12,5", 12.5, "1.234,5", "abc"]),
    *_rejections(
        parse_decimal,
        "no thousands separators",
        ["1.234,5", "1.234.567", "1,234.5", "7\u00b015'", "abc", "1."],
    ),
    *_rejections(
        parse_date,
        # 12/31/2024: month-first is not accepted
        "real calendar date",
        ["31/02/2024", "29/02/2023", "12/31/2024", "32/01/2024", "2024-13-01"],
    ),
    *_rejections(
        parse_date,
        "day-first date",
        ["31/12/24", "31/12-2024", "12 Foo 2024", "kemarin", "45000", True],
    ),
    *_rejections(parse_date, "Excel date serial", [100, 99999]),
    *_rejections(
        parse_year,
        "year between 1900 and 2100",
        ["1899", "2101", 15, "20.150", "2015,5", 2015.5, "tahun lalu"],
    ),
    *_rejections(
        parse_status,
        "aktif, active, ya, hidup",
        ["baru", "aktif sebagian", "1", 1, "setengah aktif"],
    ),
]


@pytest.mark.parametrize(
    ("parser", "value", "expected_words"),
    REJECTED,
    ids=[f"{parser.__name__}-{value!r}" for parser, value, _ in REJECTED],
)
def test_rejections_quote_the_value_and_say_what_was_expected(
    parser: Callable[[object], object], value: object, expected_words: str
) -> None:
    with pytest.raises(ValueFormatError, match=re.escape(expected_words)) as error:
        parser(value)
    assert repr(value) in str(error.value)


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("Nama Sentra", "nama_sentra"),
        (" JUMLAH IKM (unit) ", "jumlah_ikm"),
        ("Nilai Produksi [Rp/tahun]", "nilai_produksi"),
        ("Kab/Kota", "kab_kota"),
        ("Tgl. Pendataan", "tgl_pendataan"),
        ("\ufeffNo", "no"),
        ("Nama\u00a0Sentra", "nama_sentra"),
        ("Jumlah  Tenaga-Kerja", "jumlah_tenaga_kerja"),
        ("Kapasitas {ton}", "kapasitas"),
        ("Koordinat (Lat)", "koordinat"),
        ("Café", "cafe"),
        (2024, "2024"),
    ],
)
def test_normalise_header(header: object, expected: str) -> None:
    assert normalise_header(header) == expected


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"Nama;Kab/Kota\n", "Nama;Kab/Kota\n"),
        ("\ufeffNama;Kab/Kota".encode(), "Nama;Kab/Kota"),
        ("Kerajinan Café".encode(), "Kerajinan Café"),
        (
            "Caf\u00e9 \u2013 \u201cbatik\u201d".encode("cp1252"),
            "Caf\u00e9 \u2013 \u201cbatik\u201d",
        ),
        ("Nama\tKab".encode("utf-16"), "Nama\tKab"),
        (b"", ""),
    ],
)
def test_decode_text(data: bytes, expected: str) -> None:
    assert decode_text(data) == expected


def test_decode_text_never_raises_for_cp1252_bytes() -> None:
    defined = bytes(b for b in range(256) if b not in {0x81, 0x8D, 0x8F, 0x90, 0x9D})
    assert decode_text(defined) == defined.decode("cp1252")


def test_decode_text_names_an_undecodable_byte() -> None:
    with pytest.raises(ValueFormatError, match=r"b'\\x81' at offset 3"):
        decode_text(b"ab\xe9\x81")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("nama,kab,nilai\nA,Malang,1\n", ","),
        ("nama;kab;nilai\nTempe;Malang;1.234,56\nTahu;Blitar;2,5\n", ";"),
        ("nama\tkab\nA\tMalang\n", "\t"),
        ("nama|kab|nilai\nA|Malang|1,5\n", "|"),
        ('nama,ket\n"Tempe; tahu; susu",ok\n', ","),
        ('nama;ket\n"a, b, c";"x, y"\n"d, e";z\n', ";"),
        ('nama;ket\n"baris\nkedua, dengan koma";x\n', ";"),
        ("nama;nilai (Rp, juta)\nA;1,5\nB;2,5\n", ";"),
        ("nama;kab\r\nA;Malang\r\n", ";"),
        ("satu_kolom\nA\nB\n", ","),
        ("", ","),
    ],
)
def test_sniff_delimiter(text: str, expected: str) -> None:
    assert sniff_delimiter(text) == expected


def test_sniff_delimiter_tolerates_ragged_rows() -> None:
    rows = ["a;b;c;d"] + ["1;2;3;4"] * 5 + ["1;2"] + ["x,y"]
    assert sniff_delimiter("\n".join(rows)) == ";"
