"""The score components against numbers worked out by hand, not against the code's own output.

A tiny lake goes through the real ingest (registry workbooks, one BPS Web API answer, one
e-Smart export) and the marts build: five eligible sentra in three provinces, and one inactive
sentra (X) so large that it would move every percentile if it were ranked. Reference date
2026-06-30, the weights as shipped. The percent ranks below were worked out on paper with the
formulas of docs/scoring.md:

    pct(x) = (rank - 1) / (n - 1) among the n eligible sentra that have the input (ties share
             the lowest rank); a missing input is neutral: 0.5.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date
from statistics import fmean
from typing import Any

import pytest

from pipelines.ingest.engine import Ingestor
from pipelines.marts.publish import build_and_publish
from pipelines.platform.duckdb import connect
from tests.conftest import local_settings
from tests.marketplace_files import SITI, esmart_jsonl, esmart_record
from tests.registry_files import registry_xlsx

Row = dict[str, Any]

# The current (2025) registries: id, province, regency, commodity, units, workers, production
# value (IDR per year), status. Survey dates are recent for all of them.
CURRENT = [
    ("A", "DIY", "Kota Yogyakarta", "Makanan", 10, 40, 1_000_000_000, "Aktif"),
    ("B", "DIY", "Bantul", "Fashion", 20, None, 3_000_000_000, "Aktif"),
    ("X", "DIY", "Sleman", "Makanan", 100, 500, 90_000_000_000, "Tidak Aktif"),
    ("C", "Jawa Timur", "Kota Malang", "Makanan", 30, 60, 1_500_000_000, "Aktif"),
    ("D", "Jawa Timur", "Kota Malang", "Kerajinan", 40, 100, 8_000_000_000, "Aktif"),
    ("E", "Jawa Tengah", "Jepara", "Furnitur", 8, 40, None, "Aktif"),
]
# The previous (2024) production value of the sentra the 2024 registries of DIY and Jawa Timur
# list: A grew 25 %, B 0 %, C 50 %. D is new in 2025; Jawa Tengah sent no 2024 registry.
PREVIOUS_PRODUCTION = {"A": 800_000_000, "B": 3_000_000_000, "C": 1_000_000_000}
# Member IKM and their registered shops; B's province sent no member list for it.
MEMBER_SHOPS: dict[str, list[str | None]] = {
    "A": ["shopee:bakpia_a1", "tokopedia:bakpia_a2", None, None, None],
    "C": ["shopee:keripik_c1", "shopee:keripik_c2"],
    "D": ["tokopedia:gerabah_d1", None, None, None, None],
    "E": ["shopee:ukir_e1", None, None, None],
}
# e-Smart order lines (shop, order, Jakarta date, IDR, status). The market window is
# (2025-06-30, 2026-06-30], its earlier half ends on 2025-12-30. A sold 2 M earlier and 3 M
# later (the cancelled order and the one before the window do not count); C 4 M earlier and
# 2 M + 6 M later; D 4 M, all later; a2's and e1's shops sold nothing.
SALES = [
    ("shopee:bakpia_a1", "A-1", "2025-09-01", 2_000_000, "completed"),
    ("shopee:bakpia_a1", "A-2", "2026-03-01", 3_000_000, "completed"),
    ("shopee:bakpia_a1", "A-3", "2026-03-02", 9_000_000, "cancelled"),
    ("shopee:bakpia_a1", "A-4", "2025-05-01", 7_000_000, "completed"),
    ("shopee:keripik_c1", "C-1", "2025-10-01", 4_000_000, "completed"),
    ("shopee:keripik_c1", "C-2", "2026-02-01", 2_000_000, "completed"),
    ("shopee:keripik_c2", "C-3", "2026-05-01", 6_000_000, "completed"),
    ("tokopedia:gerabah_d1", "D-1", "2026-04-01", 4_000_000, "completed"),
]
# BPS y-on-y IMK growth (%) by (year, quarter); Jawa Tengah publishes nothing. The latest four
# quarters with a national figure are 2025 Q1-Q4: DIY runs 2 points above national in each,
# Jawa Timur 1 point below. 2024 Q4 (DIY 30 points above) is older and must not count.
IMK_YOY = {
    (9999, "INDONESIA"): [3.0, 4.0, 5.0, 6.0, 5.0],
    (3400, "DI YOGYAKARTA"): [33.0, 6.0, 7.0, 8.0, 7.0],
    (3500, "JAWA TIMUR"): [2.0, 3.0, 4.0, 5.0, 4.0],
}
IMK_QUARTERS = [(2024, 4), (2025, 1), (2025, 2), (2025, 3), (2025, 4)]

ELIGIBLE = ("A", "B", "C", "D", "E")
NEUTRAL = 0.5

# The inputs as the mart must show them, from the figures above.
INPUTS: dict[str, dict[str, float | None]] = {
    "production_per_unit_idr": {"A": 100e6, "B": 150e6, "C": 50e6, "D": 200e6, "E": None},
    "imk_growth_gap_pts": {"A": 2.0, "B": 2.0, "C": -1.0, "D": -1.0, "E": None},
    "production_growth": {"A": 0.25, "B": 0.0, "C": 0.5, "D": None, "E": None},
    "net_sales_window_idr": {"A": 5e6, "B": None, "C": 12e6, "D": 4e6, "E": None},
    "sales_trend": {"A": 1.5, "B": None, "C": 2.0, "D": None, "E": None},
    # Members that sold in the window; E has no sales at all, so its registered shop counts.
    "offline_member_share": {"A": 4 / 5, "B": None, "C": 0 / 2, "D": 4 / 5, "E": 3 / 4},
}

# Percent ranks by hand. X (100 units, 500 workers, 900 M per unit) would top every one of
# the first three; it is inactive, so it is not among the n.
UNITS_PCT = {"A": 1 / 4, "B": 2 / 4, "C": 3 / 4, "D": 4 / 4, "E": 0 / 4}  # 8<10<20<30<40
WORKERS_PCT = {"A": 0 / 3, "B": NEUTRAL, "C": 2 / 3, "D": 3 / 3, "E": 0 / 3}  # A = E = 40
PRODUCTION_PCT = {"A": 1 / 3, "B": 2 / 3, "C": 0 / 3, "D": 3 / 3, "E": NEUTRAL}  # per unit
IMK_GAP_PCT = {"A": 2 / 3, "B": 2 / 3, "C": 0 / 3, "D": 0 / 3, "E": NEUTRAL}  # -1 (C, D) < +2
PRODUCTION_GROWTH_PCT = {"A": 1 / 2, "B": 0 / 2, "C": 2 / 2, "D": NEUTRAL, "E": NEUTRAL}
SALES_LEVEL_PCT = {"A": 2 / 2, "B": NEUTRAL, "C": 1 / 2, "D": 0 / 2, "E": NEUTRAL}  # 0.1<0.4<0.5 M
SALES_TREND_PCT = {"A": 0 / 1, "B": NEUTRAL, "C": 1 / 1, "D": NEUTRAL, "E": NEUTRAL}  # 1.5 < 2.0

WEIGHTS = {
    "cluster_strength": 0.30,
    "growth_momentum": 0.20,
    "market_traction": 0.20,
    "digital_gap": 0.15,
    "commodity_priority": 0.15,
}
MARKET_LEVEL_SHARE = 0.7

# The title BPS gives the table (tests/fixtures/bps/): the feed recognises a response by it.
YOY_TITLE = (
    "Pertumbuhan Produksi Industri Manufaktur Mikro dan Kecil (IMK) Triwulanan Menurut Provinsi "
    "(Y-on-Y)"
)


def market_traction(sentra: str) -> float:
    level, trend = SALES_LEVEL_PCT[sentra], SALES_TREND_PCT[sentra]
    return 100 * (MARKET_LEVEL_SHARE * level + (1 - MARKET_LEVEL_SHARE) * trend)


def digital_gap(sentra: str) -> float:
    share = INPUTS["offline_member_share"][sentra]
    return 100 * (NEUTRAL if share is None else share)


COMPONENTS: dict[str, dict[str, float]] = {
    "cluster_strength": {
        s: 100 * fmean([UNITS_PCT[s], WORKERS_PCT[s], PRODUCTION_PCT[s]]) for s in ELIGIBLE
    },
    "growth_momentum": {
        s: 100 * fmean([IMK_GAP_PCT[s], PRODUCTION_GROWTH_PCT[s]]) for s in ELIGIBLE
    },
    "market_traction": {s: market_traction(s) for s in ELIGIBLE},
    "digital_gap": {s: digital_gap(s) for s in ELIGIBLE},
    # Food and beverages are first-phase commodities (100), the other priority ones 50.
    "commodity_priority": {"A": 100, "B": 50, "C": 100, "D": 50, "E": 50},
}


def registry_files() -> Iterator[tuple[str, bytes]]:
    """One 2025 workbook per province (with its member list), one 2024 workbook where listed."""
    for province in dict.fromkeys(row[1] for row in CURRENT):
        rows = [row for row in CURRENT if row[1] == province]
        members = [
            [f"{sentra}{number}", sentra, f"Usaha {sentra}{number}", shop]
            for sentra, *_ in rows
            for number, shop in enumerate(MEMBER_SHOPS.get(sentra, []), start=1)
        ]
        yield f"registry/{province}-2025.xlsx", registry_xlsx(registry_rows(rows, 2025), members)
        earlier = [
            (*row[:6], PREVIOUS_PRODUCTION[row[0]], row[7])
            for row in rows
            if row[0] in PREVIOUS_PRODUCTION
        ]
        if earlier:
            yield f"registry/{province}-2024.xlsx", registry_xlsx(registry_rows(earlier, 2024))


def registry_rows(rows: list[tuple[Any, ...]], period: int) -> list[list[Any]]:
    """Rows under ``registry_xlsx``'s columns: ID Sentra, then tests.registry_files.HEADER."""
    return [
        [sentra, f"Sentra {sentra}", province, regency, "Kecamatan", komoditas, "10000", units,
         workers, production, status, 1990, date(2025, 9, 1), -7.5, 110.5, period]
        for sentra, province, regency, komoditas, units, workers, production, status in rows
    ]  # fmt: skip


def esmart_export() -> bytes:
    records = []
    for shop, order_id, day, amount, status in SALES:
        marketplace, account = shop.split(":")
        created = f"{day}T10:00:00+07:00"
        records.append(
            esmart_record(marketplace, account, order_id, created, 1, amount, amount, SITI,
                          "Jawa Timur", status)
        )  # fmt: skip
    return esmart_jsonl(records)


def bps_yoy_answer() -> bytes:
    """Table 1053 at the national domain, in the BPS Web API's own format."""
    var = 1053
    return json.dumps(
        {
            "status": "OK",
            "data-availability": "available",
            "var": [{"val": var, "label": YOY_TITLE, "unit": "Persen"}],
            "turvar": [{"val": 0, "label": "Tidak ada"}],
            "labelvervar": "Provinsi",
            "vervar": [{"val": code, "label": label} for code, label in IMK_YOY],
            "tahun": [{"val": year - 1900, "label": str(year)} for year in (2024, 2025)],
            "turtahun": [
                {"val": quarter, "label": f"Triwulan {roman}"}
                for quarter, roman in enumerate(("I", "II", "III", "IV"), start=1)
            ],
            "datacontent": {
                f"{code}{var}0{year - 1900}{quarter}": value
                for (code, _), values in IMK_YOY.items()
                for (year, quarter), value in zip(IMK_QUARTERS, values, strict=True)
            },
        }
    ).encode()


@pytest.fixture(scope="module")
def scored(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Row]:
    """``marts.sentra_revitalisation_score`` of the hand-made lake, by sentra id."""
    settings = local_settings(tmp_path_factory.mktemp("hand-worked"))
    landed = {
        **dict(registry_files()),
        "marketplace/esmart/2026-06.jsonl": esmart_export(),
        "bps/var-1053/domain-0000.json": bps_yoy_answer(),
    }
    for key, data in landed.items():
        settings.landing_store.write_bytes(key, data)
    summary = Ingestor(settings).run()
    assert {o.key: o.status for o in summary.outcomes} == dict.fromkeys(landed, "ingested")
    build_and_publish(settings, "hand-worked")
    con = connect(settings.warehouse_path, read_only=True)
    try:
        result = con.execute("from marts.sentra_revitalisation_score")
        columns = [column for column, *_ in result.description]
        return {row[0]: dict(zip(columns, row, strict=True)) for row in result.fetchall()}
    finally:
        con.close()


@pytest.mark.parametrize("column", sorted(INPUTS))
def test_component_inputs_are_the_figures_of_the_lake(scored: dict[str, Row], column: str) -> None:
    shown = {sentra: scored[sentra][column] for sentra in ELIGIBLE}
    expected = INPUTS[column]
    assert shown == {s: None if v is None else pytest.approx(v) for s, v in expected.items()}


@pytest.mark.parametrize("component", sorted(COMPONENTS))
def test_component_equals_the_hand_worked_value(scored: dict[str, Row], component: str) -> None:
    shown = {sentra: scored[sentra][component] for sentra in ELIGIBLE}
    # The mart rounds components to 4 decimals.
    expected = {s: pytest.approx(v, abs=5e-5) for s, v in COMPONENTS[component].items()}
    assert shown == expected


def test_score_is_the_weighted_sum_and_ranks_follow_it(scored: dict[str, Row]) -> None:
    expected = {
        s: round(sum(weight * COMPONENTS[c][s] for c, weight in WEIGHTS.items()), 2)
        for s in ELIGIBLE
    }
    # On paper: A 58.50, D 57.50, C 52.17, B 48.33, E 43.75.
    assert {s: scored[s]["score"] for s in ELIGIBLE} == pytest.approx(expected)
    by_rank = sorted(ELIGIBLE, key=lambda s: scored[s]["rank_national"])
    assert by_rank == ["A", "D", "C", "B", "E"]
    assert {s: scored[s]["rank_province"] for s in ELIGIBLE} == {
        "A": 1, "B": 2, "C": 2, "D": 1, "E": 1,
    }  # fmt: skip


def test_each_missing_input_is_named_as_a_data_gap(scored: dict[str, Row]) -> None:
    assert {s: sorted(scored[s]["data_gaps"]) for s in ELIGIBLE} == {
        "A": [],
        "B": ["no_marketplace_sales", "no_member_list", "no_workers_figure"],
        "C": [],
        "D": ["no_production_history", "no_sales_trend"],
        "E": ["no_bps_growth", "no_marketplace_sales", "no_production_history",
              "no_production_value"],
    }  # fmt: skip


def test_an_inactive_sentra_gets_no_components_and_no_score(scored: dict[str, Row]) -> None:
    inactive = scored["X"]
    assert (inactive["eligible"], inactive["ineligible_reason"]) == (False, "inactive")
    assert [inactive[c] for c in (*COMPONENTS, "score", "rank_national")] == [None] * 7
