"""Fuzzing the marketplace feed: any export is converted or refused, never crashes or leaks.

Inputs start from exports the feed reads (tests/marketplace_files.py) and are damaged: bytes
edited, cells and JSON values replaced with odd ones. A refusal must not quote the file: its
lines carry buyers' names, phones and addresses. How many per run: docs/reliability.md.
"""

from __future__ import annotations

import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from pipelines.feeds.marketplace.convert import Conversion, ConversionContext, convert
from pipelines.feeds.marketplace.layouts import MarketplaceFormatError, recognise_export
from pipelines.platform.settings import EXPECTATIONS_DIR, SQL_DIR
from pipelines.quality.validation import Validator
from tests.hostile import damaged, examples, hang_guard, ingest_one, json_values, to_json
from tests.marketplace_files import (
    ESMART_RECORDS,
    PERSONAL_VALUES,
    SHOPEE_HEADER,
    SITI,
    csv_bytes,
    esmart_jsonl,
    shopee_csv,
    tiktok_csv,
)

SHOP = "marketplace/shopee/keripik_rohani/orders.csv"
ESMART = "marketplace/esmart/feed.jsonl"
SEEDS = ((SHOP, shopee_csv()), (SHOP, tiktok_csv()), (ESMART, esmart_jsonl()))

damaged_exports = st.sampled_from(SEEDS).flatmap(
    lambda seed: st.tuples(st.just(seed[0]), damaged(seed[1]))
)

# Any text but a carriage return: DuckDB's strict CSV reader refuses one inside a quoted cell
# (test_a_carriage_return_inside_a_quoted_cell_is_refused_not_crashed).
cell_text = st.one_of(
    st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\r"), max_size=20),
    st.from_regex(r"[-+]?(Rp\.? ?)?[0-9]{1,25}([.,][0-9]{1,25})*(,-)?", fullmatch=True),
    st.sampled_from(("Selesai", "Batal", "2026-06-01 10:15", "31/02/2026 25:61", "1e308")),
)


def landed(folder: str, data: bytes) -> Path:
    path = Path(folder) / "landed"
    path.write_bytes(data)
    return path


def converted_or_refused(key: str, data: bytes) -> Conversion | None:
    """The conversion of ``data`` landed as ``key``, or None when refused without quoting it."""
    now = datetime(2026, 6, 30, tzinfo=UTC)
    context = ConversionContext(SQL_DIR, "fuzz-salt-0123456789", "0" * 64, key, now, now)
    with tempfile.TemporaryDirectory(prefix="sentra-fuzz-") as folder, hang_guard():
        try:
            export = recognise_export(key, landed(folder, data))
            return convert(export, context, Path(folder) / "converted.parquet")
        except MarketplaceFormatError as error:
            assert str(error)
            assert not any(value in str(error) for value in PERSONAL_VALUES)
            return None


@given(damaged_exports)
@examples(1.0)
@example((SHOP, b"No. Pesanan\rStatus Pesanan\n"))
@example((ESMART, b'{"order_id": ' + b"9" * 4301 + b"}\n"))
@example((ESMART, b'{"order_id": ' + b"[" * 20_000 + b"\n"))
def test_a_damaged_export_is_recognised_or_refused_without_quoting_it(
    export: tuple[str, bytes],
) -> None:
    key, data = export
    with tempfile.TemporaryDirectory(prefix="sentra-fuzz-") as folder, hang_guard():
        try:
            recognise_export(key, landed(folder, data))
        except MarketplaceFormatError as error:
            assert not any(value in str(error) for value in PERSONAL_VALUES)


@given(damaged_exports)
@examples(0.5)
def test_a_damaged_export_is_converted_or_refused_without_quoting_it(
    export: tuple[str, bytes],
) -> None:
    converted_or_refused(*export)


def order_line(unit_price: str, quantity: str) -> list[str]:
    """A Shopee order line with the given unit price and quantity, the rest ordinary."""
    line = ["1", "Selesai", "", "2026-06-01 10:15", "KR-01", "Keripik", "250 gr", unit_price]
    return [*line, quantity, "", *SITI.values(), "Jatim"]


@given(st.lists(st.lists(cell_text, min_size=15, max_size=15), max_size=5))
@examples(0.15)
@example([order_line("9" * 25, "1")])  # past BIGINT: was a DuckDB conversion error
@example([order_line("9" * 18, "2")])  # price x quantity past BIGINT: was an overflow error
@example([order_line("999999999999", "999999")])  # the largest readable line
def test_any_cell_text_under_a_good_header_keeps_every_line(rows: list[list[str]]) -> None:
    conversion = converted_or_refused(SHOP, csv_bytes(SHOPEE_HEADER, rows))

    assert conversion is not None and conversion.rows == len(rows)


@given(
    st.lists(
        st.tuples(
            st.sampled_from(ESMART_RECORDS),
            st.dictionaries(st.sampled_from(sorted(ESMART_RECORDS[0])), json_values(), max_size=3),
        ),
        min_size=1,
        max_size=4,
    ),
    st.booleans(),
)
@examples(0.15)
# DuckDB's error quoted this value cut inside a 4-byte character: its message was not UTF-8.
@example(
    [(ESMART_RECORDS[0], {"buyer": [None, None, [-(10**18), "00000\x1f\r\U00010000"]]})], False
)
def test_any_json_value_in_a_feed_record_is_converted_or_refused(
    records: list[tuple[dict[str, Any], dict[str, Any]]], escaped: bool
) -> None:
    data = b"\n".join(to_json({**record, **changed}, escaped) for record, changed in records)
    conversion = converted_or_refused(ESMART, data)

    assert conversion is None or conversion.rows == len(records)


def test_a_carriage_return_inside_a_quoted_cell_is_refused_not_crashed() -> None:
    line = order_line("Rp 25.000", "1")
    line[5] = "Keripik\rTempe"  # written quoted by the csv module, as a seller centre would

    assert converted_or_refused(SHOP, csv_bytes(SHOPEE_HEADER, [line])) is None


@pytest.fixture(scope="module")
def validator() -> Validator:
    # One GX context for the module: building one costs seconds.
    return Validator(EXPECTATIONS_DIR)


@given(damaged_exports)
@examples(0.05)
def test_a_damaged_export_is_ingested_or_quarantined_never_failed(
    validator: Validator, export: tuple[str, bytes]
) -> None:
    outcome = ingest_one(validator, *export)

    assert not any(value in outcome.message for value in PERSONAL_VALUES)
