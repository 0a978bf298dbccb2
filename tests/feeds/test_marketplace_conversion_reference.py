"""The marketplace conversion made cheaper must write exactly what it wrote before.

``marketplace_conversion_reference.json`` holds what the conversion wrote for an export of
every layout (and one of odd cells: padding, every amount notation, unreadable values and
province spellings) before its expressions were made cheaper: rows in file order, column types,
the unreadable cells a quarantine report lists and the provinces that did not resolve. It was
written by ``conversions()`` below with main's package at 0eb2295; after a deliberate change of
the output, ``python -m tests.feeds.test_marketplace_conversion_reference`` writes it again.
cell()'s shortcut is also compared with its definition, on generated values.
"""

from __future__ import annotations

import dataclasses
import json
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pipelines.feeds.marketplace import convert as convert_module
from pipelines.feeds.marketplace.convert import (
    ConversionContext,
    ProvinceCodes,
    convert,
    read_sql,
    unreadable_cells,
)
from pipelines.feeds.marketplace.layouts import recognise_export
from pipelines.platform.duckdb import connect
from pipelines.platform.settings import SQL_DIR
from tests.marketplace_files import (
    SHOPEE_HEADER,
    SHOPEE_ROWS,
    csv_bytes,
    esmart_jsonl,
    shopee_csv,
    tiktok_csv,
)

REFERENCE = Path(__file__).with_name("marketplace_conversion_reference.json")

AMOUNTS = (
    "Rp 25.000", "Rp. 27.500,-", "1.250.000", "25000", "Rp 1.250.000,50", "IDR 125000",
    "1.250.000,50", "125000.50", "1,250,000", "007", "Rp 1.250", "1.250", "rp 5.000",
    "Rp 999.999.999.999", "Rp 1.000.000.000.000", "99999999999999999999999999999999999999999",
    "-5", "Rp 1234.567", "Rp  25.000", "Rp25.000", "Rp 25.000 ", "\u00a0Rp 25.000", "Rp 0",
    "Rp 12.34", "Rp 1.2345", "", "Rp", "abc",
)  # fmt: skip

# (column of SHOPEE_HEADER, value): padded cells, and quantities, statuses and times that are
# odd or unreadable.
ODD_CELLS = (
    (0, " 2606099PADDD"), (1, "\tSelesai"), (2, "Pengembalian Dana/Barang\u00a0"),
    (4, "KR-01\t"), (5, "\u00a0Keripik "), (6, " "), (6, "\t"), (14, "\tJawa Timur "),
    (8, "2.5"), (8, "1e3"), (8, ""), (8, "abc"), (8, " 2"), (8, "1_000"), (8, "1000000"),
    (8, "007"), (1, "Sedang Dikirim"), (1, ""), (3, "31/02/2026 25:61"),
    (3, "2026-06-01T10:15:00Z"), (3, "2026-06-01 10:15:00+07:00"), (3, ""),
    (14, "Provinsi Jawa Timur"), (14, "jAWA tIMUR"), (14, "Atlantis"), (14, ""), (14, "DIY"),
)  # fmt: skip


def odd_rows() -> list[list[str]]:
    """Shopee lines taking each amount above as price (and, reversed, as paid amount), then
    one line per odd cell."""
    base = SHOPEE_ROWS[0]
    rows = []
    for amount, paid in zip(AMOUNTS, reversed(AMOUNTS), strict=True):
        row = list(base)
        row[7], row[9] = amount, paid
        rows.append(row)
    for column, value in ODD_CELLS:
        row = list(base)
        row[column] = value
        rows.append(row)
    return rows


EXPORTS: dict[str, tuple[str, bytes]] = {
    "shopee": ("marketplace/shopee/keripik_rohani/orders.csv", shopee_csv()),
    "tiktok": ("marketplace/tokopedia/rohani/orders.csv", tiktok_csv()),
    "esmart": ("marketplace/esmart/2026-06.jsonl", esmart_jsonl()),
    "shopee_odd_cells": (
        "marketplace/shopee/keripik_rohani/odd.csv",
        csv_bytes(SHOPEE_HEADER, odd_rows()),
    ),
}


def conversion_of(folder: Path, key: str, data: bytes) -> dict[str, Any]:
    """Everything the conversion writes for an export: types, rows in file order, bad cells."""
    path = folder / "landed"
    path.write_bytes(data)
    target = folder / "out.parquet"
    at = datetime(2026, 6, 30, 1, 2, 3, tzinfo=UTC)
    context = ConversionContext(SQL_DIR, "salt-0123456789abcdef", "0" * 64, key, at, at)
    export = recognise_export(key, path)
    conversion = convert(export, context, target)
    con = connect(Path(":memory:"))
    try:
        con.execute("set TimeZone = 'UTC'")
        relation = con.sql(f"select * from read_parquet('{target}')")
        types = dict(zip(relation.columns, map(str, relation.types), strict=True))
        rows = relation.fetchall()
    finally:
        con.close()
    cells = [dataclasses.asdict(cell) for cell in unreadable_cells(export, context)]
    written = {
        "types": types,
        "rows": rows,
        "unreadable_cells": cells,
        "unresolved_provinces": conversion.unresolved_provinces,
    }
    # As JSON holds it: times and dates as text.
    result: dict[str, Any] = json.loads(json.dumps(written, default=str))
    return result


def conversions() -> dict[str, dict[str, Any]]:
    with tempfile.TemporaryDirectory() as folder:
        return {name: conversion_of(Path(folder), *export) for name, export in EXPORTS.items()}


@pytest.mark.parametrize("passes", ["one pass", "two passes"])
@pytest.mark.parametrize("name", EXPORTS)
def test_the_conversion_writes_what_it_wrote_before_for_every_layout(
    name: str, passes: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Whether a file is numbered as it is read (small) or in a second pass (large)."""
    reference = json.loads(REFERENCE.read_text(encoding="utf-8"))[name]
    monkeypatch.setattr(convert_module, "ONE_PASS_BYTES", 10**9 if passes == "one pass" else 0)

    written = conversion_of(tmp_path, *EXPORTS[name])

    assert written["types"] == reference["types"]
    assert written["rows"] == reference["rows"]
    assert written["unreadable_cells"] == reference["unreadable_cells"]
    assert written["unresolved_provinces"] == reference["unresolved_provinces"]


def test_the_odd_cells_export_reaches_every_path_of_the_amounts() -> None:
    """The reference covers unreadable amounts, bounded ones, cents and padded cells."""
    rows = json.loads(REFERENCE.read_text(encoding="utf-8"))["shopee_odd_cells"]["rows"]
    prices = [row[13] for row in rows[: len(AMOUNTS)]]

    assert prices[:8] == [25_000, 27_500, 1_250_000, 25_000, 1_250_001, 125_000, 1_250_001, 125_001]
    assert prices[AMOUNTS.index("1,250,000")] is None
    assert prices[AMOUNTS.index("Rp 1.000.000.000.000")] is None
    assert prices[AMOUNTS.index("Rp  25.000")] == prices[AMOUNTS.index("Rp25.000")] == 25_000


def test_province_spellings_exports_use_are_resolved_without_calling_into_python(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """JAWA TIMUR, Jatim, DI Yogyakarta, Jawa Barat: from the map; only odd ones need Python."""
    called_with: list[list[str | None]] = []
    call = ProvinceCodes.__call__

    def recorded(self: ProvinceCodes, spellings: Any) -> Any:
        called_with.append(spellings.to_pylist())
        return call(self, spellings)

    monkeypatch.setattr(ProvinceCodes, "__call__", recorded)

    conversion_of(tmp_path, *EXPORTS["shopee"])
    assert called_with == []
    conversion_of(tmp_path, *EXPORTS["shopee_odd_cells"])
    called = {spelling for spellings in called_with for spelling in spellings}
    assert called == {"Atlantis", "Provinsi Jawa Timur", "jAWA tIMUR"}


SPACES = " \t\u00a0"

amount_like = st.from_regex(
    r"[ \t\u00a0]?((Rp|rp|IDR|Rp\.) ?)?-?[0-9]{0,25}([.,][0-9]{0,25}){0,3}(,-|\.-)?[ \t\u00a0]?",
    fullmatch=True,
)
any_text = st.text(st.sampled_from(f"{SPACES}0123456789.,-Rpa\u00e9\n"), max_size=14)


@given(st.lists(st.one_of(amount_like, any_text), min_size=1, max_size=50))
def test_cell_trims_exactly_what_its_definition_trims(values: list[str]) -> None:
    con = connect(Path(":memory:"))
    try:
        con.execute(read_sql(SQL_DIR, "macros"))
        disagreeing = con.execute(
            "select value, cell(value) from unnest(?::varchar[]) as t(value) "
            "where cell(value) is distinct from nullif(trim(value, ?), '')",
            [values, SPACES],
        ).fetchall()
    finally:
        con.close()

    assert disagreeing == []


if __name__ == "__main__":
    # Writes the reference from the checkout it runs in (see the module's docstring).
    text = json.dumps(conversions(), ensure_ascii=False, indent=1)
    REFERENCE.write_text(text + "\n", encoding="utf-8")
    sys.exit(0)
