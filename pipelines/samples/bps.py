"""Sample BPS Web API responses for the IMK growth tables, in the exact API format.

Per configured table (``pipelines/config/bps_tables.yaml``): the national domain ``0000``,
whose ``vervar`` lists the nation and every province (as BPS's national tables "menurut
provinsi" do), and three province domains (``SAMPLE_DOMAINS``). Each is written as
``bps/var-<var>/domain-<domain>.json``: the name the feed reads the domain from (the response
does not carry it), and the path a local test server maps the data URL to. A test server answers
``not-available`` for the other configured domains, as BPS does where a province office does
not publish a table.

Like the real API the responses carry ``status``, ``data-availability``, ``var``, ``turvar``,
``labelvervar``, ``vervar``, ``tahun``, ``turtahun`` and ``datacontent`` with keys concatenated
from the ids, PHP-style escaped slashes (``<\\/b>``), HTML in some labels and a few empty cells
(left out of ``datacontent``). The two tables number things differently, as real tables do: the
y-on-y table writes provinces as 3400 and periods as 1-4 plus 13 for the yearly total; the
q-to-q table writes provinces as 34, has no yearly total, numbers periods 31-34 and, at a
province domain, has no regional breakdown (one ``Tidak Ada`` entry). The nation is 9999.
Papua Barat Daya, Papua Selatan, Papua Tengah and Papua Pegunungan have cells from 2023 only
(they did not exist in BPS numbering before); Papua Pegunungan's q-to-q table is
``not-available``.

Figures are synthetic but plausible: national y-on-y growth within about -5..+10 %, provinces
wider. A few are the published ones (BPS press releases as reported by Antara and Suara,
1 Nov 2016 and 1 Nov 2017; BPS DIY for 2017 Q4, see shared/seed/): national y-on-y 2016 Q3
5.75, 2017 Q3 5.34, 2017 Q4 4.59; q-to-q 2016 Q3 -2.06, 2017 Q3 0.66; DI Yogyakarta 2017 Q4
y-on-y 17.28; Sulawesi Barat 2016 Q3 y-on-y 30.69; Kalimantan Tengah 2017 Q3 y-on-y 31.41.

Same seed, same bytes: every draw comes from a ``random.Random`` seeded by the seed and a purpose.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from pipelines.feeds.bps.feed import (
    NATIONAL_CODE,
    NATIONAL_DOMAIN,
    BpsTable,
    load_crosswalk,
    load_tables,
)

YEARS = range(2016, 2026)
SAMPLE_DOMAINS = ("0000", "3400", "9400", "9700")
"""National (listing every province) and three province domains: the article's DI Yogyakarta,
Papua (renumbered territory in 2023) and Papua Pegunungan (figures from 2023 only)."""
NOT_AVAILABLE = ("qtq", "9700")
"""(measure, domain) answered with ``not-available``: Papua Pegunungan's q-to-q table."""
MISSING_SHARE = 0.015
"""Share of province cells left out of ``datacontent`` (BPS leaves some cells empty)."""

# Published figures the sample reproduces: (measure, BPS province code, year, quarter) -> %.
PUBLISHED: dict[tuple[str, str, int, int], float] = {
    ("yoy", "00", 2016, 3): 5.75,
    ("qtq", "00", 2016, 3): -2.06,
    ("yoy", "00", 2017, 3): 5.34,
    ("qtq", "00", 2017, 3): 0.66,
    ("yoy", "00", 2017, 4): 4.59,
    ("yoy", "34", 2017, 4): 17.28,
    ("yoy", "76", 2016, 3): 30.69,
    ("yoy", "62", 2017, 3): 31.41,
}
_ROMAN = ("I", "II", "III", "IV")
_VAR_NOTE = (
    "Sumber: Survei Industri Mikro dan Kecil Triwulanan, BPS.<br>Angka sementara untuk "
    "triwulan terakhir."
)


@dataclass(frozen=True)
class Style:
    """How one table numbers its regions and periods."""

    region_digits: int
    """4 writes DI Yogyakarta as 3400 (the nation as 9999); 2 writes it as 34."""
    quarter_ids: tuple[int, int, int, int]
    yearly_id: int | None
    """The period id of the yearly total; None when the table has none (q-to-q)."""

    def periods(self) -> list[tuple[int | None, int, str]]:
        """(quarter, period id, label); quarter None is the yearly total."""
        quarters: list[tuple[int | None, int, str]] = [
            (number, period_id, f"Triwulan {_ROMAN[number - 1]}")
            for number, period_id in enumerate(self.quarter_ids, start=1)
        ]
        if self.yearly_id is None:
            return quarters
        return [*quarters, (None, self.yearly_id, "<b>Tahunan</b>")]


STYLES = {
    "yoy": Style(region_digits=4, quarter_ids=(1, 2, 3, 4), yearly_id=13),
    "qtq": Style(region_digits=2, quarter_ids=(31, 32, 33, 34), yearly_id=None),
}


def bps_sample_files(seed: int) -> Iterator[tuple[str, bytes]]:
    """(landing key, response bytes) for every configured table and the sample's domains."""
    for table in load_tables():
        figures = Figures(seed, table.measure)
        for domain in SAMPLE_DOMAINS:
            yield (
                f"bps/var-{table.var}/domain-{domain}.json",
                encode(response(table, domain, figures)),
            )


def encode(document: dict[str, Any]) -> bytes:
    """Compact JSON with slashes escaped, as PHP's ``json_encode`` writes it."""
    text = json.dumps(document, ensure_ascii=False, separators=(",", ":"))
    return text.replace("/", "\\/").encode()


def response(table: BpsTable, domain: str, figures: Figures) -> dict[str, Any]:
    if (table.measure, domain) == NOT_AVAILABLE:
        return {"status": "OK", "data-availability": "not-available", "data": ""}
    style = STYLES[table.measure]
    regions = region_entries(domain, style)
    years = [year for year in YEARS if year >= first_year(domain[:2])]
    content: dict[str, float] = {}
    for region, bps_code in regions:
        for year in (year for year in years if year >= first_year(bps_code)):
            for quarter, period_id, _ in style.periods():
                if figures.missing(bps_code, year, quarter):
                    continue  # an empty cell: left out of datacontent, never written as 0
                key = f"{region['val']}{table.var}0{year - 1900}{period_id}"
                content[key] = figures.value(bps_code, year, quarter)
    return {
        "status": "OK",
        "data-availability": "available",
        "var": [var_entry(table)],
        "turvar": [{"val": 0, "label": "Tidak ada"}],
        "labelvervar": "Provinsi",
        "vervar": [region for region, _ in regions],
        "tahun": [{"val": year - 1900, "label": str(year)} for year in years],
        "turtahun": [{"val": pid, "label": label} for _, pid, label in style.periods()],
        "datacontent": content,
    }


def first_year(bps_code: str) -> int:
    """2023 for provinces BPS numbers only since the 2022 Papua split, else the first year."""
    entries = [e for e in load_crosswalk().entries if e.bps_code == bps_code]
    return max(YEARS.start, min(e.valid_from or YEARS.start for e in entries))


def region_entries(domain: str, style: Style) -> list[tuple[dict[str, Any], str]]:
    """The ``vervar`` entries of a response with the BPS province code each stands for.

    The national domain lists the nation and every province; a province domain lists itself
    (y-on-y) or has no regional breakdown at all (q-to-q: one ``Tidak Ada`` entry).
    """
    if domain != NATIONAL_DOMAIN:
        bps_code = domain[:2]
        if style.region_digits == 2:
            return [({"val": 0, "label": "Tidak Ada"}, bps_code)]
        return [(province_entry(bps_code, style), bps_code)]
    current = sorted({e.bps_code for e in load_crosswalk().entries} - {NATIONAL_CODE})
    national = {"val": 9999, "label": "<b>INDONESIA</b>"}
    return [(national, NATIONAL_CODE)] + [(province_entry(c, style), c) for c in current]


def province_entry(bps_code: str, style: Style) -> dict[str, Any]:
    name = next(e.bps_name for e in load_crosswalk().entries if e.bps_code == bps_code)
    label = name.upper().replace("DAERAH ISTIMEWA ", "DI ")
    label = label.replace("DAERAH KHUSUS IBUKOTA ", "DKI ")
    region_id = int(f"{bps_code}00") if style.region_digits == 4 else int(bps_code)
    # Some BPS tables bold the Java provinces; the feed strips the markup.
    return {"val": region_id, "label": f"<b>{label}</b>" if bps_code[0] == "3" else label}


def var_entry(table: BpsTable) -> dict[str, Any]:
    return {
        "val": table.var,
        "label": table.title,
        "unit": "Persen",
        "subj": "Industri Mikro dan Kecil",
        "def": "Pertumbuhan produksi industri manufaktur mikro dan kecil.",
        "decimal": "2",
        "note": _VAR_NOTE,
    }


class Figures:
    """Growth figures of one measure: a national series, each province around it."""

    def __init__(self, seed: int, measure: str) -> None:
        self.seed, self.measure = seed, measure
        rng = random.Random(f"{seed}:bps:{measure}:national")
        self.national = {
            (year, quarter): self.national_value(rng, year, quarter)
            for year in YEARS
            for quarter in range(1, 5)
        }

    def national_value(self, rng: random.Random, year: int, quarter: int) -> float:
        if self.measure == "yoy":
            # COVID-19 pulled production down through 2020.
            centre = -3.5 if year == 2020 and quarter > 1 else 4.5
            return max(-5.0, min(10.0, rng.gauss(centre, 2.0)))
        seasonal = (-1.5, 2.0, -0.5, 1.5)[quarter - 1]  # Ramadan and year-end demand
        return max(-8.0, min(8.0, rng.gauss(seasonal, 2.0)))

    def missing(self, bps_code: str, year: int, quarter: int | None) -> bool:
        """Whether BPS left this province cell empty (the same in every response)."""
        if bps_code == NATIONAL_CODE or (self.measure, bps_code, year, quarter) in PUBLISHED:
            return False
        draw = random.Random(f"{self.seed}:{self.measure}:{bps_code}:{year}:{quarter}:missing")
        return draw.random() < MISSING_SHARE

    def value(self, bps_code: str, year: int, quarter: int | None) -> float:
        if quarter is None:  # the yearly total: the mean of the four quarters
            return round(sum(self.value(bps_code, year, q) for q in range(1, 5)) / 4, 2)
        published = PUBLISHED.get((self.measure, bps_code, year, quarter))
        if published is not None:
            return published
        national = self.national[(year, quarter)]
        if bps_code == NATIONAL_CODE:
            return round(national, 2)
        # Provinces are small samples: their figures swing far more than the national one.
        offset = random.Random(f"{self.seed}:{self.measure}:{bps_code}").gauss(0.0, 4.0)
        noise = random.Random(f"{self.seed}:{self.measure}:{bps_code}:{year}:{quarter}")
        return round(max(-30.0, min(40.0, national + offset + noise.gauss(0.0, 6.0))), 2)
