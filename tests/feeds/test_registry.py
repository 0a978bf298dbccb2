"""Parsing messy registry files into typed tables with located problems."""

from __future__ import annotations

import re
from datetime import date

import pytest

from pipelines.feeds.registry import (
    RegistryFormatError,
    clean_text,
    parse_registry_file,
    parse_seller_accounts,
)
from tests.registry_files import (
    DIY_ROWS,
    HEADER,
    JATIM_MEMBERS,
    JATIM_SENTRA,
    registry_csv,
    registry_xlsx,
)


def test_semicolon_cp1252_csv_with_title_rows_is_read_into_typed_columns() -> None:
    parsed = parse_registry_file("registry/diy.csv", registry_csv(DIY_ROWS), "2026")

    assert parsed.issues == []
    assert parsed.sentra is not None and parsed.members is None
    first = parsed.sentra.iloc[0]
    assert first["province_code"] == "34"
    assert first["kabupaten_code"] == "34.02"
    assert first["jumlah_ikm"] == 45
    assert first["nilai_produksi"] == pytest.approx(1_234_567_890)
    assert first["lintang"] == pytest.approx(-7.93)
    assert first["tanggal_pendataan"] == date(2024, 3, 12)
    assert first["status"] == "aktif"
    assert first["periode"] == "2025"
    assert first["source_row"] == 4  # title, blank line, header, then the first data row
    assert list(parsed.sentra["status"]) == ["aktif", "aktif", "aktif", "tidak_aktif", "aktif"]


def test_utf8_bom_comma_csv_with_header_variants_reads_the_same_values() -> None:
    header = [name.upper().replace(" ", "_") for name in HEADER]
    rows = [
        [cell.replace(",", ".") if cell.startswith(("-7", "110")) else cell for cell in row]
        for row in DIY_ROWS
    ]
    data = registry_csv(rows, header=header, delimiter=",", encoding="utf-8-sig", title=None)
    data = data.replace(b"1.234.567.890", b'"1.234.567.890"')

    parsed = parse_registry_file("registry/diy-utf8.csv", data, "2026")

    assert parsed.issues == []
    assert parsed.sentra is not None
    assert parsed.sentra["lintang"].iloc[0] == pytest.approx(-7.93)
    assert parsed.sentra["kabupaten_code"].tolist()[:3] == ["34.02", "34.02", "34.71"]


def test_xlsx_with_sentra_and_member_sheets() -> None:
    data = registry_xlsx(JATIM_SENTRA, JATIM_MEMBERS)

    parsed = parse_registry_file("registry/jatim.xlsx", data, "2026")

    assert parsed.issues == []
    assert parsed.sentra is not None and parsed.members is not None
    assert parsed.sentra["sentra_id"].tolist() == ["SIKM-3507-0001", "SIKM-3507-0002"]
    assert parsed.sentra["kabupaten_code"].tolist() == ["35.73", "35.73"]
    assert parsed.sentra["tanggal_pendataan"].iloc[0] == date(2024, 8, 1)
    assert parsed.members["seller_accounts"].iloc[0] == [
        "shopee:keripik_rohani",
        "tokopedia:rohani",
    ]
    assert parsed.members["seller_accounts"].iloc[1] == []
    assert parsed.members["source_sheet"].iloc[2] == "Anggota IKM"
    assert parsed.rows_in == 5


def test_unresolvable_and_ambiguous_names_are_located_row_errors_not_guesses() -> None:
    rows = [list(DIY_ROWS[0]), list(JATIM_SENTRA_AS_TEXT)]
    rows[0][1] = "Jawa Tenggara"
    parsed = parse_registry_file("registry/bad.csv", registry_csv(rows), "2026")

    assert parsed.sentra is not None
    assert parsed.sentra["province_code"].isna().iloc[0]
    assert parsed.sentra["kabupaten_code"].isna().iloc[1]
    located = {(problem.row, problem.column) for problem in parsed.issues}
    assert located == {(4, "Provinsi"), (5, "Kab/Kota")}
    ambiguous = next(p for p in parsed.issues if p.column == "Kab/Kota")
    assert "35.07" in ambiguous.problem and "35.73" in ambiguous.problem


JATIM_SENTRA_AS_TEXT = [
    "Sentra Keripik Tempe Sanan",
    "Jawa Timur",
    "Malang",
    "Blimbing",
    "Makanan",
    "10794",
    "60",
    "150",
    "4.500.000.000",
    "Aktif",
    "1980",
    "01/08/2024",
    "-7,95",
    "112,64",
    "2025",
]


def test_unreadable_numbers_and_dates_name_the_cell_and_keep_the_row() -> None:
    row = list(DIY_ROWS[0])
    row[6], row[11] = "empat puluh", "31/02/2024"
    parsed = parse_registry_file("registry/x.csv", registry_csv([row]), "2026")

    assert {(p.row, p.column, p.value) for p in parsed.issues} == {
        (4, "Jumlah IKM (unit)", "empat puluh"),
        (4, "Tgl. Pendataan", "31/02/2024"),
    }
    assert parsed.sentra is not None and len(parsed.sentra) == 1


def test_missing_required_column_is_a_file_level_error_listing_what_is_missing() -> None:
    header = [name for name in HEADER if name != "Provinsi"]
    rows = [[cell for index, cell in enumerate(row) if index != 1] for row in DIY_ROWS]
    with pytest.raises(RegistryFormatError, match="lacks required columns: provinsi"):
        parse_registry_file("registry/x.csv", registry_csv(rows, header=header), "2026")


@pytest.mark.parametrize(
    "data",
    [
        b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100,
        b"just some text\nwithout a table\n",
        b"PK\x03\x04broken",
    ],
)
def test_files_that_are_not_registries_are_rejected_clearly(data: bytes) -> None:
    with pytest.raises(RegistryFormatError, match="registry/x"):
        parse_registry_file("registry/x", data, "2026")


def test_derived_sentra_id_is_stable_across_resubmissions_and_row_order() -> None:
    first = parse_registry_file("a.csv", registry_csv(DIY_ROWS), "2026").sentra
    reordered = [list(row) for row in reversed(DIY_ROWS)]
    reordered[0][7] = "999"  # new figures, same sentra
    second = parse_registry_file("b.csv", registry_csv(reordered), "2026").sentra
    assert first is not None and second is not None
    assert len(first) == len(DIY_ROWS)

    assert sorted(first["sentra_id"]) == sorted(second["sentra_id"])
    assert first["sentra_id"].is_unique
    assert all(value.startswith("S34") for value in first["sentra_id"])


def test_period_falls_back_to_latest_survey_year_when_the_file_has_no_period_column() -> None:
    header = HEADER[:-1]
    rows = [row[:-1] for row in DIY_ROWS]
    parsed = parse_registry_file("x.csv", registry_csv(rows, header=header), "2026")
    assert parsed.sentra is not None
    assert set(parsed.sentra["periode"]) == {"2025"}


def test_seller_accounts_must_name_their_marketplace() -> None:
    assert parse_seller_accounts("Tokopedia:b, shopee: a") == ["shopee:a", "tokopedia:b"]
    with pytest.raises(ValueError, match="marketplace:account"):
        parse_seller_accounts("just_a_shop_name")


def test_clean_text_collapses_whitespace_as_the_regular_expression_did() -> None:
    # str.split() replaced re.sub(r"\s+", " ", ...).strip(): the same on every code point.
    for point in range(0x110000):
        text = f" a{chr(point)}{chr(point)}b\t{chr(point)} "
        assert clean_text(text) == re.sub(r"\s+", " ", text).strip(), hex(point)
    assert clean_text(12.0) == "12" and clean_text("   ") is None
