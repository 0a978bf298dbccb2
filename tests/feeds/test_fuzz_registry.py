"""Fuzzing the registry reader: any bytes give typed tables or a format error naming the file.

Inputs start from registry files the reader accepts (tests/registry_files.py) and are damaged:
bytes edited, workbook members broken, cells replaced with odd values. How many per run:
docs/reliability.md.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from typing import Any

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from pipelines.feeds.registry import (
    RegistryFormatError,
    RegistryParse,
    parse_registry_file,
    to_arrow,
)
from pipelines.platform.settings import EXPECTATIONS_DIR
from pipelines.quality.validation import Validator
from tests.hostile import damaged, damaged_zip, examples, hang_guard, ingest_one
from tests.registry_files import (
    DIY_ROWS,
    HEADER,
    JATIM_MEMBERS,
    JATIM_SENTRA,
    registry_csv,
    registry_xlsx,
)

CSV_SEEDS = (
    registry_csv(DIY_ROWS),
    registry_csv(DIY_ROWS, delimiter=",", encoding="utf-8-sig", title=None),
    registry_csv(DIY_ROWS[:2], delimiter="\t", encoding="utf-16"),
)
XLSX_SEED = registry_xlsx(JATIM_SENTRA, JATIM_MEMBERS)

csv_files = st.sampled_from(CSV_SEEDS).flatmap(damaged)
xlsx_files = st.one_of(damaged_zip(XLSX_SEED), damaged(XLSX_SEED))

# Cell text a spreadsheet can hold (openpyxl refuses control characters in XML).
cell_text = st.text(
    st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters="\ufffe\uffff"),
    max_size=30,
)
# Numbers as offices write them, and past every width: 25 digits, signs, both separators.
number_text = st.from_regex(r"[-+]?(Rp ?)?[0-9]{1,25}([.,][0-9]{1,25})*(,-)?", fullmatch=True)
cell_values = st.one_of(
    cell_text,
    number_text,
    st.sampled_from(("", "-", "9" * 20, "9" * 400, "1.234,5,6", "31/02/2024", "2025-S1")),
    st.integers(),
    st.floats(allow_nan=False),
    st.booleans(),
    st.dates(),
    st.datetimes(),
    st.times(),
    st.none(),
)


def parsed_or_refused(name: str, data: bytes) -> RegistryParse | None:
    """The parse of ``data``, or None when it is refused with a message naming the file."""
    with hang_guard():
        try:
            parsed = parse_registry_file(name, data, "2026")
        except RegistryFormatError as error:
            assert str(error).startswith(f"{name}: ")
            return None
    for issue in parsed.issues:
        assert issue.row >= 1 and issue.column and issue.problem
    for frame in (parsed.sentra, parsed.members):
        if frame is not None:
            to_arrow(frame)  # what is parsed can be published: every value fits its column
    return parsed


@given(csv_files)
@examples(1.0)
@example(registry_csv(DIY_ROWS) + b"\x81\x8d")  # in neither UTF-8 nor Windows-1252
@example(b"\xff\xfe\x2d\x4e\x87")  # UTF-16 cut in the middle of a character
def test_a_damaged_csv_is_read_or_refused_naming_the_file(data: bytes) -> None:
    parsed_or_refused("registry/diy.csv", data)


@given(xlsx_files)
@examples(0.5)
def test_a_damaged_workbook_is_read_or_refused_naming_the_file(data: bytes) -> None:
    parsed_or_refused("registry/jatim.xlsx", data)


def csv_with(rows: list[list[str]], delimiter: str) -> bytes:
    buffer = io.StringIO(newline="")
    csv.writer(buffer, delimiter=delimiter).writerows([HEADER, *rows])
    return buffer.getvalue().encode("utf-8")


@given(
    st.lists(
        st.lists(st.one_of(cell_text, number_text), min_size=len(HEADER), max_size=len(HEADER)),
        max_size=4,
    ),
    st.sampled_from(";,\t|"),
)
@examples(0.2)
def test_any_cell_text_under_a_good_header_keeps_every_row(
    rows: list[list[str]], delimiter: str
) -> None:
    parsed = parsed_or_refused("registry/cells.csv", csv_with(rows, delimiter))

    assert parsed is not None and parsed.sentra is not None
    written = [row for row in rows if any(cell.strip() for cell in row)]
    assert len(parsed.sentra) == len(written)


@given(st.lists(st.lists(cell_values, min_size=17, max_size=17), min_size=1, max_size=4))
@examples(0.25)
def test_any_cell_value_in_a_workbook_keeps_every_row(rows: list[list[Any]]) -> None:
    parsed = parsed_or_refused("registry/cells.xlsx", registry_xlsx(rows))

    assert parsed is not None and parsed.sentra is not None
    assert len(parsed.sentra) == sum(
        any(value is not None and str(value).strip() for value in row) for row in rows
    )


@pytest.fixture(scope="module")
def validator() -> Validator:
    # One GX context for the module: building one costs seconds.
    return Validator(EXPECTATIONS_DIR)


@given(st.one_of(csv_files, xlsx_files))
@examples(0.05)
def test_a_damaged_registry_file_is_ingested_or_quarantined_never_failed(
    validator: Validator, data: bytes
) -> None:
    ingest_one(validator, "registry/fuzzed.csv", data)


def with_member(workbook: bytes, member: str, content: bytes) -> bytes:
    """``workbook`` with one member's content replaced."""
    with zipfile.ZipFile(io.BytesIO(workbook)) as archive:
        members = {info.filename: archive.read(info) for info in archive.infolist()}
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in {**members, member: content}.items():
            archive.writestr(name, data)
    return buffer.getvalue()


with zipfile.ZipFile(io.BytesIO(XLSX_SEED)) as seed_archive:
    SENTRA_SHEET = seed_archive.read("xl/worksheets/sheet1.xml")


@pytest.mark.parametrize(
    ("member", "content", "says"),
    [
        ("[Content_Types].xml", b"", "not a readable XLSX workbook (Document is empty"),
        ("[Content_Types].xml", b"<Types><Override/></Types>", "not a readable XLSX workbook"),
        # Cut after the third row: openpyxl finds the damage while the rows are read.
        ("xl/worksheets/sheet1.xml", SENTRA_SHEET[: SENTRA_SHEET.index(b'<row r="4"')], "row 4"),
    ],
)
def test_a_workbook_with_a_broken_member_is_refused_naming_where(
    member: str, content: bytes, says: str
) -> None:
    with pytest.raises(RegistryFormatError, match=re.escape(says)) as refused:
        parse_registry_file("registry/x.xlsx", with_member(XLSX_SEED, member, content), "2026")
    assert str(refused.value).startswith("registry/x.xlsx: ")


def test_a_count_past_int64_is_a_located_cell_problem_not_a_crash() -> None:
    row = list(DIY_ROWS[0])
    row[6] = "9" * 20  # Jumlah IKM

    parsed = parsed_or_refused("registry/x.csv", registry_csv([row]))

    assert parsed is not None and parsed.sentra is not None and len(parsed.sentra) == 1
    [issue] = parsed.issues
    assert (issue.row, issue.column) == (4, "Jumlah IKM (unit)") and "at most" in issue.problem
