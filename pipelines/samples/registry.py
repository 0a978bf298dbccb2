"""Seeded, deterministic sample feeds for the demo, the tests and the national benchmarks.

The registry sample imitates what provincial industry offices (Dinas Perindustrian) send: each
office has its own habits (CSV from Indonesian-locale Excel, UTF-8 CSV from a web app, XLSX with
title rows; its own header spellings, province spelling and number format), and the files are as
messy as real ones while staying valid, apart from one deliberately broken file.

Generation is split from writing: the marketplace writer (``pipelines.samples.marketplace``) reuses
the same sentra and member IKM (``build_registry``), and ``pipelines.samples.landing`` writes
every feed's sample into a landing store.

Same (scale, seed) gives byte-identical files: every random draw comes from a ``random.Random``
seeded by the seed and a purpose, dates are relative to ``ANCHOR_DATE``, never today, and XLSX
files carry fixed document and zip timestamps.
"""

from __future__ import annotations

import csv
import io
import math
import random
import re
import zipfile
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from functools import cache
from itertools import accumulate
from typing import TYPE_CHECKING, Any, Literal

from pipelines.reference.regions import Province, Regency, load_regions

if TYPE_CHECKING:
    from pipelines.platform.storage import Storage

__all__ = [
    "ANCHOR_DATE",
    "REGISTRY_DIALECTS",
    "REGISTRY_PERIOD",
    "SCALES",
    "MemberIkm",
    "RegistrySample",
    "RegistryStyle",
    "Scale",
    "Sentra",
    "Submission",
    "build_registry",
    "write_registry_samples",
]

ANCHOR_DATE = date(2026, 6, 30)
"""The fixed "today" of the sample: every survey date lies before it but the broken row's."""
REGISTRY_PERIOD = 2025
"""The reporting period (``periode``) of the registry submissions."""
# Offices send a year's registry the following January; a fixed time keeps the bytes stable.
_FILE_TIME = datetime(2026, 1, 15, 9, 30, 0)
_ZIP_TIME = (2026, 1, 15, 9, 30, 0)

_RESUBMITTED_PROVINCE = "34"
_LATE_PROVINCE = "35"
_LATE_PERIOD = REGISTRY_PERIOD - 1
_UNRESOLVABLE_PROVINCE = "Jawa Tenggara"
# A 2024 survey date with its digits swapped: in the future for decades, as typos are.
_TYPO_SURVEY_DATE = date(2042, 3, 12)


# --- scales ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Scale:
    provinces: tuple[str, ...]
    """Kemendagri province codes to sample; empty means all 38."""
    sentra: int
    """Target number of sentra across the provinces (landmarks included)."""
    member_share: float
    """Share of a sentra's units its member list names. Below 1 in the demo, whose member lists
    name only the units registered with the ministry, to keep it small."""


SCALES: dict[str, Scale] = {
    "demo": Scale(provinces=("32", "33", "34", "35", "51", "73"), sentra=150, member_share=0.51),
    "national": Scale(provinces=(), sentra=7_500, member_share=1.0),
}


# --- what the registry says about the world ------------------------------------------------


@dataclass(frozen=True)
class Sentra:
    id_sentra: str
    nama_sentra: str
    regency: Regency
    kecamatan: str
    desa_kelurahan: str
    komoditas: str
    produk: str
    """The product word in the sentra's name ("Keripik Tempe"), for member and listing names."""
    kbli: str
    bahan_baku_utama: str
    jumlah_ikm: int
    tenaga_kerja: int
    nilai_produksi: int
    nilai_investasi: int
    aktif: bool
    tahun_berdiri: int
    tanggal_pendataan: date
    lintang: float
    bujur: float
    keterangan: str
    quirk_seed: int
    """Seeds the per-row spelling choices, so a resubmitted copy spells a row as before."""


@dataclass(frozen=True)
class MemberIkm:
    id_ikm: str
    id_sentra: str
    nama_usaha: str
    akun_marketplace: tuple[str, ...]
    """Seller accounts as "marketplace:handle"; empty for members with no online shop."""


# --- how offices write their files ----------------------------------------------------------

RegencyForm = Literal["full", "abbrev", "bare", "upper"]
MemberDelivery = Literal["sheet", "csv", "none"]
Columns = tuple[tuple[str, str], ...]
"""(canonical field, header as the office writes it), in the office's column order."""


@dataclass(frozen=True)
class CsvFlavour:
    delimiter: str
    encoding: str
    decimal_comma: bool
    date_format: str
    line_end: str


@dataclass(frozen=True)
class XlsxLayout:
    title_rows: int
    """Rows above the header: the title alone, title and a blank, or title, source and blank."""


# What Indonesian-locale Excel writes on "Save as CSV": the decimal comma forces ';'.
EXCEL_CSV = CsvFlavour(";", "cp1252", decimal_comma=True, date_format="%d/%m/%Y", line_end="\r\n")
_WEB_EXPORT_CSV = CsvFlavour(",", "utf-8-sig", False, "%Y-%m-%d", "\n")
_UTF8_EXCEL_CSV = CsvFlavour(",", "utf-8-sig", False, "%d/%m/%Y", "\r\n")


@dataclass(frozen=True)
class Dialect:
    sentra: Columns
    members: Columns


REGISTRY_DIALECTS: dict[str, Dialect] = {
    "formal": Dialect(
        sentra=(
            ("no", "No"),
            ("id_sentra", "ID Sentra"),
            ("nama_sentra", "Nama Sentra"),
            ("provinsi", "Provinsi"),
            ("kabupaten_kota", "Kabupaten/Kota"),
            ("kecamatan", "Kecamatan"),
            ("desa_kelurahan", "Desa/Kelurahan"),
            ("komoditas", "Komoditas"),
            ("kbli", "KBLI"),
            ("jumlah_ikm", "Jumlah IKM (unit)"),
            ("tenaga_kerja", "Tenaga Kerja (orang)"),
            ("nilai_produksi", "Nilai Produksi (Rp/tahun)"),
            ("nilai_investasi", "Nilai Investasi (Rp)"),
            ("bahan_baku_utama", "Bahan Baku Utama"),
            ("status", "Status"),
            ("tahun_berdiri", "Tahun Berdiri"),
            ("tanggal_pendataan", "Tanggal Pendataan"),
            ("lintang", "Lintang"),
            ("bujur", "Bujur"),
            ("periode", "Tahun Data"),
            ("keterangan", "Keterangan"),
        ),
        members=(
            ("no", "No"),
            ("id_ikm", "ID IKM"),
            ("id_sentra", "ID Sentra"),
            ("nama_usaha", "Nama Usaha"),
            ("akun_marketplace", "Akun Marketplace"),
        ),
    ),
    "short": Dialect(
        sentra=(
            ("no", "No."),
            ("periode", "Tahun Pendataan"),
            ("id_sentra", "Kode Sentra"),
            ("nama_sentra", "Nama Sentra"),
            ("komoditas", "Komoditi"),
            ("kbli", "Kode KBLI"),
            ("provinsi", "Provinsi"),
            ("kabupaten_kota", "Kab/Kota"),
            ("kecamatan", "Kecamatan"),
            ("desa_kelurahan", "Desa/Kelurahan"),
            ("jumlah_ikm", "Jumlah IKM (unit)"),
            ("tenaga_kerja", "Tenaga Kerja (orang)"),
            ("nilai_investasi", "Nilai Investasi (Rp)"),
            ("nilai_produksi", "Nilai Produksi (Rp/tahun)"),
            ("bahan_baku_utama", "Bahan Baku"),
            ("tahun_berdiri", "Tahun Berdiri"),
            ("status", "Status Sentra"),
            ("tanggal_pendataan", "Tgl. Pendataan"),
            ("lintang", "Lintang (LS/LU)"),
            ("bujur", "Bujur (BT)"),
            ("keterangan", "Keterangan"),
        ),
        members=(
            ("no", "No."),
            ("id_sentra", "Kode Sentra"),
            ("id_ikm", "Kode IKM"),
            ("nama_usaha", "Nama IKM"),
            ("akun_marketplace", "Akun Marketplace (e-Smart IKM)"),
        ),
    ),
    # Typed in capitals, with the stray spaces that survive in real header rows.
    "upper": Dialect(
        sentra=(
            ("no", "NO"),
            ("id_sentra", "ID  SENTRA"),
            ("nama_sentra", "NAMA SENTRA "),
            ("komoditas", "KOMODITAS"),
            ("kbli", "KBLI"),
            ("provinsi", "PROVINSI"),
            ("kabupaten_kota", " KAB/KOTA"),
            ("kecamatan", "KECAMATAN"),
            ("desa_kelurahan", "DESA/KELURAHAN"),
            ("jumlah_ikm", "JUMLAH IKM (UNIT)"),
            ("tenaga_kerja", "TENAGA KERJA (ORANG)"),
            ("nilai_investasi", "NILAI INVESTASI (RP)"),
            ("nilai_produksi", "NILAI PRODUKSI  (RP/TAHUN)"),
            ("bahan_baku_utama", "BAHAN BAKU UTAMA"),
            ("tahun_berdiri", "TAHUN BERDIRI"),
            ("status", "STATUS"),
            ("tanggal_pendataan", "TGL. PENDATAAN"),
            ("lintang", "LINTANG (LS/LU)"),
            ("bujur", "BUJUR (BT)"),
            ("periode", "PERIODE"),
            ("keterangan", "KETERANGAN"),
        ),
        members=(
            ("no", "NO"),
            ("id_ikm", "ID IKM"),
            ("id_sentra", "ID SENTRA"),
            ("nama_usaha", "NAMA USAHA"),
            ("akun_marketplace", "AKUN MARKETPLACE"),
        ),
    ),
    # A web application's export: identifiers for headers, no row numbers, no remarks.
    "snake": Dialect(
        sentra=(
            ("id_sentra", "ID_Sentra"),
            ("nama_sentra", "Nama_Sentra"),
            ("provinsi", "Provinsi"),
            ("kabupaten_kota", "Kabupaten_Kota"),
            ("kecamatan", "Kecamatan"),
            ("desa_kelurahan", "Desa_Kelurahan"),
            ("komoditas", "Komoditas"),
            ("kbli", "KBLI"),
            ("jumlah_ikm", "Jumlah_IKM"),
            ("tenaga_kerja", "Tenaga_Kerja"),
            ("nilai_produksi", "Nilai_Produksi"),
            ("nilai_investasi", "Nilai_Investasi"),
            ("bahan_baku_utama", "Bahan_Baku_Utama"),
            ("status", "Status"),
            ("tahun_berdiri", "Tahun_Berdiri"),
            ("tanggal_pendataan", "Tanggal_Pendataan"),
            ("lintang", "Lintang"),
            ("bujur", "Bujur"),
            ("periode", "Tahun_Data"),
        ),
        members=(
            ("id_ikm", "ID_IKM"),
            ("id_sentra", "ID_Sentra"),
            ("nama_usaha", "Nama_Usaha"),
            ("akun_marketplace", "Akun_Marketplace"),
        ),
    ),
}
"""Every header spelling the sample writes, by the office habit that writes it."""

_STATUS_WORDS = (
    ("Aktif", "Tidak Aktif"),
    ("AKTIF", "TIDAK AKTIF"),
    ("aktif", "tidak aktif"),
    ("Aktif", "Non Aktif"),
)
_REGENCY_FORMS: tuple[RegencyForm, ...] = ("full", "abbrev", "bare", "upper")


@dataclass(frozen=True)
class RegistryStyle:
    """How one provincial office writes its registry."""

    container: CsvFlavour | XlsxLayout
    dialect: str
    omit: frozenset[str]
    """Fields of the dialect this office leaves out (``id_sentra``, ``periode``, ...)."""
    members: MemberDelivery
    province_spellings: tuple[str, ...]
    """The first is the office's usual spelling; the others turn up in a few rows."""
    regency_forms: tuple[RegencyForm, ...]
    money_as_text: float
    """Share of amounts typed as text, "Rp 1.500.000.000", instead of numbers."""
    status_words: tuple[str, str]
    numeric_codes: bool
    """KBLI typed as a number (XLSX only: CSV has no types)."""
    coordinate_decimals: int

    def __post_init__(self) -> None:
        # Member lists link by id_sentra: an office without ids cannot send one.
        if ("id_sentra" in self.omit) != (self.members == "none"):
            raise ValueError("an office sends a member list exactly when it writes id_sentra")
        if self.members == "sheet" and not isinstance(self.container, XlsxLayout):
            raise ValueError("only an XLSX submission can carry a member sheet")

    def columns(self, table: Literal["sentra", "members"]) -> Columns:
        written = getattr(REGISTRY_DIALECTS[self.dialect], table)
        return tuple((name, header) for name, header in written if name not in self.omit)

    @property
    def member_csv(self) -> CsvFlavour:
        # An XLSX office that sends members separately saves them from the same Excel.
        return self.container if isinstance(self.container, CsvFlavour) else EXCEL_CSV


# The demo provinces, each with a different office habit. Other provinces get a habit drawn
# from the seed (_drawn_style).
_OFFICE_STYLES: dict[str, RegistryStyle] = {
    "32": RegistryStyle(
        container=_WEB_EXPORT_CSV,
        dialect="snake",
        omit=frozenset({"periode"}),
        members="csv",
        province_spellings=("Jawa Barat", "JABAR", "Prov. Jawa Barat"),
        regency_forms=("full",),
        money_as_text=0.0,
        status_words=("aktif", "tidak aktif"),
        numeric_codes=False,
        coordinate_decimals=6,
    ),
    "33": RegistryStyle(
        container=XlsxLayout(title_rows=2),
        dialect="formal",
        omit=frozenset(),
        members="csv",
        province_spellings=("Jawa Tengah", "Prov. Jawa Tengah", "JATENG"),
        regency_forms=("abbrev",),
        money_as_text=0.0,
        status_words=("Aktif", "Tidak Aktif"),
        numeric_codes=False,
        coordinate_decimals=5,
    ),
    "34": RegistryStyle(
        container=XlsxLayout(title_rows=3),
        dialect="short",
        omit=frozenset(),
        members="sheet",
        province_spellings=("DIY", "D.I. Yogyakarta", "Daerah Istimewa Yogyakarta"),
        regency_forms=("abbrev", "full", "bare"),
        money_as_text=0.2,
        status_words=("Aktif", "Non Aktif"),
        numeric_codes=True,
        coordinate_decimals=6,
    ),
    "35": RegistryStyle(
        container=EXCEL_CSV,
        dialect="upper",
        omit=frozenset(),
        members="csv",
        province_spellings=("Jawa Timur", "JATIM", "Prov. Jawa Timur"),
        regency_forms=("abbrev", "bare", "upper"),
        money_as_text=0.0,
        status_words=("AKTIF", "NON AKTIF"),
        numeric_codes=False,
        coordinate_decimals=4,
    ),
    "51": RegistryStyle(
        container=_UTF8_EXCEL_CSV,
        dialect="formal",
        omit=frozenset({"no", "id_sentra", "periode"}),
        members="none",
        province_spellings=("Bali", "Provinsi Bali", "BALI"),
        regency_forms=("full", "bare"),
        money_as_text=1.0,
        status_words=("Aktif", "Tidak Aktif"),
        numeric_codes=False,
        coordinate_decimals=6,
    ),
    "73": RegistryStyle(
        container=EXCEL_CSV,
        dialect="formal",
        omit=frozenset({"id_sentra"}),
        members="none",
        province_spellings=("Sulawesi Selatan", "SULSEL", "Prov. Sulawesi Selatan"),
        regency_forms=("abbrev", "full"),
        money_as_text=0.0,
        status_words=("Aktif", "Non Aktif"),
        numeric_codes=False,
        coordinate_decimals=5,
    ),
}


def _drawn_style(province: Province, rng: random.Random) -> RegistryStyle:
    """A habit for a province without a hand-written one. Members always go as CSV: openpyxl
    is slow, and national member lists run to hundreds of thousands of rows."""
    container = rng.choice(
        (XlsxLayout(rng.randint(1, 3)), EXCEL_CSV, EXCEL_CSV, _UTF8_EXCEL_CSV, _WEB_EXPORT_CSV)
    )
    name = province.name
    return RegistryStyle(
        container=container,
        dialect=rng.choice(sorted(REGISTRY_DIALECTS)),
        omit=frozenset({"periode"}) if rng.random() < 0.15 else frozenset(),
        members="csv",
        province_spellings=(name, f"Prov. {name}", f"PROVINSI {name.upper()}", name.upper()),
        regency_forms=tuple(rng.sample(_REGENCY_FORMS, rng.randint(1, 3))),
        money_as_text=rng.choice((0.0, 0.0, 0.1, 1.0)),
        status_words=rng.choice(_STATUS_WORDS),
        numeric_codes=isinstance(container, XlsxLayout) and rng.random() < 0.5,
        coordinate_decimals=rng.randint(4, 6),
    )


# --- commodities and products ---------------------------------------------------------------


@dataclass(frozen=True)
class _Product:
    name: str
    kbli: str
    bahan_baku: str


@dataclass(frozen=True)
class _Commodity:
    name: str
    weight: int
    """Relative frequency among sentra: food is the most common."""
    value_per_unit: tuple[int, int]
    """Production value of one unit, million IDR a year."""
    products: tuple[_Product, ...]


def _commodity(
    name: str, weight: int, value: tuple[int, int], products: Iterable[tuple[str, str, str]]
) -> _Commodity:
    return _Commodity(name, weight, value, tuple(_Product(*p) for p in products))


# The nine e-Smart IKM priority commodities, then ~10% outside them. KBLI 2020 codes.
_COMMODITIES = (
    _commodity(
        "Makanan",
        34,
        (60, 300),
        [
            ("Keripik Tempe", "10794", "Kedelai"),
            ("Keripik Singkong", "10794", "Singkong"),
            ("Keripik Pisang", "10794", "Pisang"),
            ("Kerupuk Udang", "10794", "Udang, tepung tapioka"),
            ("Emping Melinjo", "10794", "Melinjo"),
            ("Rengginang", "10794", "Beras ketan"),
            ("Tahu", "10393", "Kedelai"),
            ("Tempe", "10392", "Kedelai"),
            ("Bakpia", "10710", "Tepung terigu, kacang hijau"),
            ("Roti dan Kue", "10710", "Tepung terigu"),
            ("Gula Kelapa", "10722", "Nira kelapa"),
            ("Gula Aren", "10722", "Nira aren"),
            ("Dodol", "10799", "Beras ketan, gula kelapa"),
            ("Jenang", "10799", "Beras ketan, santan"),
            ("Abon Ikan", "10299", "Ikan tuna"),
            ("Ikan Asin", "10213", "Ikan laut"),
            ("Terasi", "10299", "Udang rebon"),
            ("Kecap", "10773", "Kedelai hitam"),
            ("Sambal Kemasan", "10779", "Cabai"),
        ],
    ),
    _commodity(
        "Minuman",
        6,
        (50, 250),
        [
            ("Kopi Bubuk", "10761", "Biji kopi"),
            ("Minuman Sari Buah", "10330", "Buah-buahan"),
            ("Sirup", "11040", "Gula, buah"),
            ("Minuman Jahe Instan", "11040", "Jahe, gula"),
            ("Teh Kemasan", "10763", "Daun teh"),
            ("Wedang Uwuh", "11040", "Rempah-rempah"),
        ],
    ),
    _commodity(
        "Fashion",
        13,
        (80, 450),
        [
            ("Batik Tulis", "13134", "Kain mori, malam"),
            ("Batik Cap", "13134", "Kain mori, malam"),
            ("Tenun Ikat", "13122", "Benang katun"),
            ("Tenun Sutera", "13121", "Benang sutera"),
            ("Songket", "13122", "Benang sutera, benang emas"),
            ("Bordir", "13992", "Kain, benang bordir"),
            ("Konveksi", "14111", "Kain katun"),
            ("Sepatu", "15201", "Kulit sapi"),
            ("Tas Kulit", "15121", "Kulit sapi"),
            ("Lurik", "13122", "Benang katun"),
            ("Mukena", "14111", "Kain rayon"),
        ],
    ),
    _commodity(
        "Kerajinan",
        14,
        (40, 250),
        [
            ("Gerabah", "23933", "Tanah liat"),
            ("Kerajinan Rotan", "16293", "Rotan"),
            ("Anyaman Bambu", "16293", "Bambu"),
            ("Anyaman Pandan", "16294", "Daun pandan"),
            ("Kerajinan Kayu", "16292", "Kayu mahoni"),
            ("Wayang Kulit", "15129", "Kulit kerbau"),
            ("Topeng Kayu", "16292", "Kayu pule"),
            ("Keramik Hias", "23931", "Tanah liat"),
            ("Kerajinan Tempurung Kelapa", "16299", "Tempurung kelapa"),
            ("Kerajinan Eceng Gondok", "16294", "Eceng gondok"),
        ],
    ),
    _commodity(
        "Furnitur",
        7,
        (150, 700),
        [
            ("Mebel Kayu", "31001", "Kayu jati"),
            ("Mebel Ukir", "31001", "Kayu jati"),
            ("Furnitur Rotan", "31002", "Rotan"),
            ("Mebel Bambu", "31002", "Bambu"),
        ],
    ),
    _commodity(
        "Kosmetik",
        2,
        (60, 300),
        [
            ("Sabun Herbal", "20231", "Minyak kelapa"),
            ("Lulur Tradisional", "20232", "Beras, rempah"),
            ("Kosmetik Alami", "20232", "Minyak atsiri"),
            ("Minyak Rambut Kemiri", "20232", "Kemiri"),
        ],
    ),
    _commodity(
        "Herbal",
        4,
        (40, 200),
        [
            ("Jamu Tradisional", "21022", "Rimpang"),
            ("Jamu Gendong", "21022", "Kunyit, temulawak"),
            ("Minyak Kayu Putih", "20294", "Daun kayu putih"),
            ("Obat Tradisional", "21022", "Tanaman obat"),
        ],
    ),
    _commodity(
        "Perhiasan",
        2,
        (200, 1200),
        [
            ("Kerajinan Perak", "32112", "Perak"),
            ("Perhiasan Emas", "32112", "Emas"),
            ("Mutiara", "32111", "Mutiara"),
            ("Batu Akik", "32111", "Batu mulia"),
        ],
    ),
    _commodity(
        "Logam",
        8,
        (80, 400),
        [
            ("Pande Besi", "25931", "Besi baja"),
            ("Kerajinan Kuningan", "25999", "Kuningan"),
            ("Pisau dan Golok", "25932", "Baja per"),
            ("Kerajinan Tembaga", "25999", "Tembaga"),
            ("Alat Pertanian", "28210", "Besi"),
        ],
    ),
    _commodity(
        "Bahan Bangunan",
        4,
        (50, 250),
        [("Batako", "23954", "Semen, pasir"), ("Paving Block", "23954", "Semen, pasir")],
    ),
    _commodity("Genteng", 3, (40, 180), [("Genteng", "23922", "Tanah liat")]),
    _commodity("Batu Bata", 3, (30, 150), [("Batu Bata Merah", "23921", "Tanah liat, sekam")]),
)
_COMMODITY_WEIGHTS = list(accumulate(c.weight for c in _COMMODITIES))
_PRODUCTS = {p.name: (c, p) for c in _COMMODITIES for p in c.products}


@dataclass(frozen=True)
class _Landmark:
    regency_code: str
    kecamatan: str
    desa: str
    name: str
    product: str


# Well-known sentra, for recognisable demo rows; their figures are as synthetic as the rest.
_LANDMARKS = (
    _Landmark("32.73", "Bojongloa Kidul", "Cibaduyut", "Sentra Sepatu Cibaduyut", "Sepatu"),
    _Landmark("33.11", "Gatak", "Trangsan", "Sentra Kerajinan Rotan Trangsan", "Kerajinan Rotan"),
    _Landmark("33.20", "Pecangaan", "Troso", "Sentra Tenun Ikat Troso", "Tenun Ikat"),
    _Landmark("33.20", "Tahunan", "Tahunan", "Sentra Mebel Ukir Tahunan", "Mebel Ukir"),
    _Landmark("34.02", "Imogiri", "Wukirsari", "Sentra Batik Tulis Giriloyo", "Batik Tulis"),
    _Landmark("34.02", "Kasihan", "Bangunjiwo", "Sentra Gerabah Kasongan", "Gerabah"),
    _Landmark(
        "34.71", "Kotagede", "Prenggan", "Sentra Kerajinan Perak Kotagede", "Kerajinan Perak"
    ),
    _Landmark("34.71", "Ngampilan", "Notoprajan", "Sentra Bakpia Pathuk", "Bakpia"),
    _Landmark("35.15", "Tanggulangin", "Kludan", "Sentra Tas dan Koper Tanggulangin", "Tas Kulit"),
    _Landmark("35.73", "Blimbing", "Purwantoro", "Sentra Keripik Tempe Sanan", "Keripik Tempe"),
    _Landmark("51.04", "Sukawati", "Celuk", "Sentra Kerajinan Perak Celuk", "Kerajinan Perak"),
    _Landmark("73.13", "Tempe", "Atakkae", "Sentra Tenun Sutera Sengkang", "Tenun Sutera"),
)

# Typographic marks Word and phones insert; spelled as escapes so they stay visible here.
_DASH, _APOSTROPHE, _OPEN_QUOTE, _CLOSE_QUOTE = "\u2013", "\u2019", "\u201c", "\u201d"

_REMARKS = (
    "Binaan DAK 2023",
    f"Sudah ikut e-Smart IKM {_DASH} pelatihan kemasan",
    f"Perlu revitalisasi {_DASH} mesin produksi sudah tua",
    f"Anggota tergabung dalam KUB {_OPEN_QUOTE}Sido Makmur{_CLOSE_QUOTE}",
    "Data belum diverifikasi",
    "Pemasaran sampai luar provinsi",
    f"Sertifikasi halal {_DASH} dalam proses",
)
_INACTIVE_REMARK = "Tidak berproduksi sejak pandemi"

# --- places ---------------------------------------------------------------------------------

# Rough centre of each province (lat, lon); sentra scatter around per-regency offsets from it.
_PROVINCE_CENTRES: dict[str, tuple[float, float]] = {
    "11": (4.70, 96.75),
    "12": (2.12, 99.55),
    "13": (-0.74, 100.80),
    "14": (0.29, 101.71),
    "15": (-1.61, 103.61),
    "16": (-3.32, 104.91),
    "17": (-3.79, 102.26),
    "18": (-4.56, 105.41),
    "19": (-2.74, 106.44),
    "21": (0.92, 104.45),
    "31": (-6.21, 106.85),
    "32": (-6.89, 107.64),
    "33": (-7.15, 110.14),
    "34": (-7.88, 110.40),
    "35": (-7.54, 112.24),
    "36": (-6.41, 106.06),
    "51": (-8.41, 115.19),
    "52": (-8.65, 117.36),
    "53": (-8.66, 121.08),
    "61": (-0.28, 111.48),
    "62": (-1.68, 113.38),
    "63": (-3.09, 115.28),
    "64": (0.54, 116.42),
    "65": (3.07, 116.04),
    "71": (1.20, 124.60),
    "72": (-1.43, 121.45),
    "73": (-3.67, 119.97),
    "74": (-4.14, 122.17),
    "75": (0.70, 122.45),
    "76": (-2.84, 119.23),
    "81": (-3.24, 130.15),
    "82": (1.57, 127.81),
    "91": (-2.53, 140.20),
    "92": (-1.34, 133.17),
    "93": (-7.50, 139.50),
    "94": (-3.60, 136.00),
    "95": (-4.10, 138.90),
    "96": (-0.88, 131.60),
}
# More sentra where there are more regencies and denser industry.
_ISLAND_FACTOR = {
    "Jawa": 2.0,
    "Bali-Nusa Tenggara": 1.3,
    "Sumatera": 0.8,
    "Sulawesi": 0.8,
    "Kalimantan": 0.6,
    "Maluku": 0.5,
    "Papua": 0.25,
}


@dataclass(frozen=True)
class _PlaceWords:
    heads: tuple[str, ...]
    tails: tuple[str, ...]
    joiner: str


_PLACE_WORDS = {
    "jawa": _PlaceWords(
        heads=(
            "Sido", "Karang", "Wono", "Sumber", "Tegal", "Purwo", "Banyu", "Gunung", "Kedung",
            "Jati", "Mojo", "Sri", "Tirto", "Ngadi", "Giri", "Suko", "Margo", "Pandan",
        ),
        tails=(
            "mulyo", "rejo", "harjo", "sari", "agung", "asri", "kerto", "makmur", "dadi",
            "arjo", "joyo", "wangi", "luhur", "tani", "utomo", "kidul", "lor", "wetan", "kulon",
        ),
        joiner="",
    ),
    "sunda": _PlaceWords(
        heads=("Suka", "Mekar", "Sindang", "Marga", "Cipta", "Karya", "Ci", "Pasir", "Ranca"),
        tails=(
            "maju", "jaya", "mulya", "asih", "raharja", "wangi", "sari", "rasa", "galih",
            "manah", "laksana", "mukti", "resmi", "bodas", "herang",
        ),
        joiner="",
    ),
    "betawi": _PlaceWords(
        heads=("Kebon", "Cempaka", "Pasar", "Rawa", "Pulo", "Tanah", "Pondok", "Kali", "Duri"),
        tails=("Jeruk", "Putih", "Baru", "Gadung", "Sirih", "Kelapa", "Bambu", "Melati", "Asem"),
        joiner=" ",
    ),
    "bali": _PlaceWords(
        heads=(
            "Batubulan", "Peliatan", "Mas", "Sebatu", "Taro", "Pejeng", "Bedulu", "Keramas",
            "Bona", "Kerobokan", "Sumerta", "Penatih", "Sayan", "Singapadu", "Ketewel", "Guwang",
        ),
        tails=("", "Kaja", "Kelod", "Kangin", "Kauh"),
        joiner=" ",
    ),
    "nusantara": _PlaceWords(
        heads=(
            "Sungai", "Tanjung", "Teluk", "Air", "Batu", "Lubuk", "Padang", "Bukit", "Pasir",
            "Muara", "Talang", "Bonto", "Lembah", "Kampung",
        ),
        tails=(
            "Baru", "Jaya", "Raya", "Indah", "Makmur", "Harapan", "Merah", "Putih", "Lama",
            "Tengah", "Hilir", "Hulu", "Sari", "Mulya", "Permai", "Pinang", "Kelapa", "Emas",
        ),
        joiner=" ",
    ),
}  # fmt: skip
_PLACE_FLAVOUR = {"31": "betawi", "32": "sunda", "33": "jawa", "34": "jawa", "35": "jawa",
                  "36": "sunda", "51": "bali"}  # fmt: skip

# --- member IKM names and shops -------------------------------------------------------------

_LEGAL_FORMS = ("UD", "CV", "KUB")
# Some names carry the curly apostrophe phones type: with the remarks' dashes, the only
# non-ASCII text, and what makes a Windows-1252 file differ from UTF-8.
_BRANDS = (
    "Sekar Jagad", "Sumber Rejeki", "Barokah", "Mandiri", "Lestari", "Makmur Jaya", "Sido Mulyo",
    "Berkah", "Sri Rejeki", "Mekar Sari", "Cahaya", "Putra", "Sinar Abadi", "Karya Bersama",
    f"Jum{_APOSTROPHE}at Berkah", "Amanah", "Harapan Jaya", "Tunas Muda", "Rizki", "Al-Ikhlas",
    f"Ma{_APOSTROPHE}mur",
    "Dua Putri", "Tiga Saudara", "Anugerah", "Mulia", "Sejahtera", "Bintang", "Srikandi",
    "Melati", "Sari Rasa",
)  # fmt: skip
_OWNERS = (
    "Bu Sri", "Pak Harjo", "Bu Noer", "Mbak Yuli", "Pak Slamet", f"Bu Ma{_APOSTROPHE}rufah",
    f"Pak Syafi{_APOSTROPHE}i",
    "Bu Wati", "Pak Darmo", "Bu Siti", "Mas Anton", "Pak Ketut", "Bu Made", "Daeng Rusli",
    "Pak Yusuf", "Bu Endang", "Pak Joko", "Bu Ani", "Pak Rahmat", "Bu Lastri",
)  # fmt: skip
_MARKETPLACES = ("shopee", "tokopedia", "bukalapak", "blibli", "ralali")
_MARKETPLACE_WEIGHTS = list(accumulate((5, 5, 2, 1, 1)))
_NOT_HANDLE = re.compile(r"[^a-z0-9]+")


class _Handles:
    """Hands out seller handles unique per marketplace, as the marketplaces enforce."""

    def __init__(self) -> None:
        self._taken: set[tuple[str, str]] = set()
        # Where to resume numbering a wanted handle, so popular names cost no rescans.
        self._next: dict[tuple[str, str], int] = {}

    def claim(self, marketplace: str, wanted: str) -> str:
        number = self._next.get((marketplace, wanted), 1)
        handle = wanted if number == 1 else f"{wanted}{number}"
        # A numbered handle may already be someone's plain one ("batik2" wanted as such).
        while (marketplace, handle) in self._taken:
            number += 1
            handle = f"{wanted}{number}"
        self._taken.add((marketplace, handle))
        self._next[(marketplace, wanted)] = number + 1
        return handle


def _handle_base(nama_usaha: str, rng: random.Random) -> str:
    slug = _NOT_HANDLE.sub("_", nama_usaha.replace(_APOSTROPHE, "").replace("'", "").casefold())
    slug = slug.strip("_")
    return rng.choice((slug, slug.replace("_", "") + "_official", slug.replace("_", ".")))


# --- generation -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Submission:
    """One office's registry for one period, and how the office writes it."""

    province: Province
    style: RegistryStyle
    sentra: tuple[Sentra, ...]
    members: tuple[MemberIkm, ...]
    """Empty when the office sends no member list."""


@dataclass(frozen=True)
class RegistrySample:
    submissions: tuple[Submission, ...]
    """One per province, in code order, as first sent."""
    revision: Submission
    """The resubmitted province's second file: it replaces that province's first one."""
    late: Submission
    """Last period's rows from one office, the source of the deliberately broken file."""

    def current(self) -> Iterator[Submission]:
        """What the clean registry should hold: each province's latest valid submission."""
        for submission in self.submissions:
            same = submission.province.code == self.revision.province.code
            yield self.revision if same else submission


@dataclass(frozen=True)
class _Places:
    kecamatan: tuple[tuple[str, tuple[str, ...]], ...]
    """Each kecamatan with its desa/kelurahan."""


def _place_name(words: _PlaceWords, rng: random.Random) -> str:
    return f"{rng.choice(words.heads)}{words.joiner}{rng.choice(words.tails)}".strip()


def _places(province_code: str, rng: random.Random) -> _Places:
    words = _PLACE_WORDS[_PLACE_FLAVOUR.get(province_code, "nusantara")]
    taken: set[str] = set()

    def fresh() -> str:
        name = _place_name(words, rng)
        while name in taken:
            name = _place_name(words, rng)
        taken.add(name)
        return name

    kecamatan = [fresh() for _ in range(rng.randint(4, 8))]
    return _Places(tuple((k, tuple(fresh() for _ in range(rng.randint(3, 6)))) for k in kecamatan))


def _regency_centre(regency: Regency, regencies_in_province: int) -> tuple[float, float]:
    lat, lon = _PROVINCE_CENTRES[regency.province_code]
    # Geography does not depend on the seed: the same regency sits in the same place always.
    rng = random.Random(f"centre/{regency.code}")
    spread = min(0.6, 0.12 * math.sqrt(regencies_in_province))
    return lat + rng.uniform(-spread, spread) * 0.75, lon + rng.uniform(-spread, spread)


def _survey_date(rng: random.Random) -> date:
    # ~10% not resurveyed since before 2021: stale entries the ranking must set aside.
    if rng.random() < 0.10:
        start, end = date(2015, 1, 1), date(2020, 12, 31)
    elif rng.random() < 0.75:
        start, end = date(REGISTRY_PERIOD, 1, 6), date(REGISTRY_PERIOD, 12, 15)
    else:
        start, end = date(2021, 1, 4), date(REGISTRY_PERIOD - 1, 12, 20)
    return start + timedelta(days=rng.randint(0, (end - start).days))


def _units(rng: random.Random) -> int:
    # ~5% below the 5 units PP 29/2018 requires of a sentra; most 5-80, a long tail of big ones.
    if rng.random() < 0.05:
        return rng.randint(1, 4)
    return min(600, max(5, round(rng.lognormvariate(math.log(33), 0.75))))


class _ProvinceSampler:
    """Draws one province's sentra and member IKM from its own random stream."""

    def __init__(
        self,
        province: Province,
        style: RegistryStyle,
        rng: random.Random,
        handles: _Handles,
        member_share: float,
    ) -> None:
        self.province = province
        self.style = style
        self._rng = rng
        self._handles = handles
        self._member_share = member_share
        regions = load_regions()
        self._regencies = sorted(
            (r for r in regions.regencies.values() if r.province_code == province.code),
            key=lambda r: r.code,
        )
        # Sentra are mostly rural: a kabupaten is three times as likely as a kota.
        kinds = (3 if r.kind == "kabupaten" else 1 for r in self._regencies)
        self._regency_weights = list(accumulate(kinds))
        self._places: dict[str, _Places] = {}
        self._names: dict[str, set[str]] = defaultdict(set)
        self._sequence: dict[str, int] = defaultdict(int)

    def submission(self, count: int) -> Submission:
        landmarks = [self._landmark(lm) for lm in _LANDMARKS if self._is_here(lm.regency_code)]
        drawn = [self.new_sentra() for _ in range(max(0, count - len(landmarks)))]
        sentra = tuple(sorted(landmarks + drawn, key=lambda s: s.id_sentra))
        return Submission(self.province, self.style, sentra, self.members_of(sentra))

    def _is_here(self, regency_code: str) -> bool:
        return regency_code.startswith(f"{self.province.code}.")

    def _landmark(self, landmark: _Landmark) -> Sentra:
        regency = load_regions().regencies[landmark.regency_code]
        self._names[regency.code].add(landmark.name)
        product = _PRODUCTS[landmark.product][1]
        return self._sentra(regency, landmark.kecamatan, landmark.desa, landmark.name, product)

    def new_sentra(self) -> Sentra:
        rng = self._rng
        regency = rng.choices(self._regencies, cum_weights=self._regency_weights)[0]
        commodity = rng.choices(_COMMODITIES, cum_weights=_COMMODITY_WEIGHTS)[0]
        product = rng.choice(commodity.products)
        kecamatan, desa, name = self._unique_name(regency, product)
        return self._sentra(regency, kecamatan, desa, name, product)

    def _unique_name(self, regency: Regency, product: _Product) -> tuple[str, str, str]:
        if regency.code not in self._places:
            self._places[regency.code] = _places(self.province.code, self._rng)
        places = self._places[regency.code].kecamatan
        taken = self._names[regency.code]
        for attempt in range(1, 1000):
            kecamatan, desa_list = self._rng.choice(places)
            desa = self._rng.choice(desa_list)
            name = _sentra_name(product.name, desa, self._rng)
            # A regency crowded with one product numbers its sentra ("... 2"), as offices do.
            name = name if attempt < 20 else f"{name} {attempt - 18}"
            if name not in taken:
                taken.add(name)
                return kecamatan, desa, name
        raise RuntimeError(f"no unique sentra name left in {regency.name}")

    def _sentra(
        self, regency: Regency, kecamatan: str, desa: str, name: str, product: _Product
    ) -> Sentra:
        rng = self._rng
        commodity = _PRODUCTS[product.name][0]
        self._sequence[regency.code] += 1
        units = _units(rng)
        low, high = commodity.value_per_unit
        production = round(units * rng.uniform(low, high) * 1_000_000, -3)
        surveyed = _survey_date(rng)
        aktif = rng.random() >= 0.08
        lat, lon = _regency_centre(regency, len(self._regencies))
        return Sentra(
            id_sentra=f"SIKM-{regency.code.replace('.', '')}-{self._sequence[regency.code]:04d}",
            nama_sentra=name,
            regency=regency,
            kecamatan=kecamatan,
            desa_kelurahan=desa,
            komoditas=commodity.name,
            produk=product.name,
            kbli=product.kbli,
            bahan_baku_utama=product.bahan_baku,
            jumlah_ikm=units,
            tenaga_kerja=max(units, round(units * rng.uniform(2, 6))),
            nilai_produksi=int(production),
            nilai_investasi=int(round(production * rng.uniform(0.15, 0.9), -3)),
            aktif=aktif,
            tahun_berdiri=rng.randint(1970, min(2024, surveyed.year)),
            tanggal_pendataan=surveyed,
            lintang=lat + rng.uniform(-0.06, 0.06),
            bujur=lon + rng.uniform(-0.06, 0.06),
            keterangan=_remark(aktif, rng),
            quirk_seed=rng.getrandbits(32),
        )

    def members_of(self, sentra: Iterable[Sentra]) -> tuple[MemberIkm, ...]:
        if self.style.members == "none":
            return ()
        return tuple(member for s in sentra for member in self._members(s))

    def _members(self, sentra: Sentra) -> Iterator[MemberIkm]:
        listed = min(sentra.jumlah_ikm, max(1, round(sentra.jumlah_ikm * self._member_share)))
        # Units of a dead sentra rarely keep an online shop; overall about half have one.
        online = 0.52 if sentra.aktif else 0.25
        stem = sentra.id_sentra.replace("SIKM-", "IKM-")
        for number in range(1, listed + 1):
            name = _business_name(sentra.produk, self._rng)
            shops = self._accounts(name) if self._rng.random() < online else ()
            yield MemberIkm(f"{stem}-{number:03d}", sentra.id_sentra, name, shops)

    def _accounts(self, nama_usaha: str) -> tuple[str, ...]:
        rng = self._rng
        wanted = rng.choices((1, 2, 3), weights=(6, 3, 1))[0]
        marketplaces: list[str] = []
        while len(marketplaces) < wanted:
            pick = rng.choices(_MARKETPLACES, cum_weights=_MARKETPLACE_WEIGHTS)[0]
            if pick not in marketplaces:
                marketplaces.append(pick)
        return tuple(
            f"{m}:{self._handles.claim(m, _handle_base(nama_usaha, rng))}" for m in marketplaces
        )

    def revision(self, original: Submission) -> Submission:
        """The same period sent again: a few figures corrected, one sentra gone, one new."""
        rng = self._rng
        kept = list(original.sentra)
        removed = kept.pop(rng.randrange(len(kept) // 2, len(kept)))
        for index in rng.sample(range(len(kept)), 3):
            kept[index] = _corrected(kept[index], rng)
        added = self.new_sentra()
        sentra = tuple(sorted([*kept, added], key=lambda s: s.id_sentra))
        members = tuple(m for m in original.members if m.id_sentra != removed.id_sentra)
        members = tuple(sorted([*members, *self._members(added)], key=lambda m: m.id_ikm))
        return replace(original, sentra=sentra, members=members)

    def late_rows(self, current: Submission, count: int) -> Submission:
        """Some of this office's sentra as they stood a period earlier."""
        picked = sorted(self._rng.sample(range(len(current.sentra)), count))
        earlier = tuple(_a_year_earlier(current.sentra[i], self._rng) for i in picked)
        return replace(current, sentra=earlier, members=())


def _sentra_name(product: str, desa: str, rng: random.Random) -> str:
    pattern = rng.choices(
        ("Sentra {p} {d}", "Sentra IKM {p} {d}", "Sentra Industri {p} {d}", "Sentra {p} Desa {d}"),
        weights=(65, 15, 10, 10),
    )[0]
    return pattern.format(p=product, d=desa)


def _business_name(product: str, rng: random.Random) -> str:
    pattern = rng.randrange(3)
    if pattern == 0:
        return f"{rng.choice(_LEGAL_FORMS)} {rng.choice(_BRANDS)}"
    if pattern == 1:
        return f"{product} {rng.choice(_OWNERS)}"
    return f"{product} {rng.choice(_BRANDS)}"


def _remark(aktif: bool, rng: random.Random) -> str:
    if not aktif and rng.random() < 0.6:
        return _INACTIVE_REMARK
    return rng.choice(_REMARKS) if rng.random() < 0.3 else ""


def _corrected(sentra: Sentra, rng: random.Random) -> Sentra:
    # Units only grow, so the member list (which names at most jumlah_ikm units) stays valid.
    units = sentra.jumlah_ikm + rng.randint(1, 6)
    return replace(
        sentra,
        jumlah_ikm=units,
        tenaga_kerja=max(units, round(sentra.tenaga_kerja * rng.uniform(1.05, 1.3))),
        nilai_produksi=int(round(sentra.nilai_produksi * rng.uniform(1.05, 1.4), -3)),
    )


def _a_year_earlier(sentra: Sentra, rng: random.Random) -> Sentra:
    surveyed = sentra.tanggal_pendataan
    if surveyed.year >= _LATE_PERIOD + 1:
        surveyed -= timedelta(days=365 + rng.randint(0, 60))
    return replace(
        sentra,
        jumlah_ikm=max(1, sentra.jumlah_ikm - rng.randint(0, 3)),
        nilai_produksi=int(round(sentra.nilai_produksi * rng.uniform(0.8, 1.0), -3)),
        tanggal_pendataan=surveyed,
        tahun_berdiri=min(sentra.tahun_berdiri, surveyed.year),
    )


def _sentra_counts(provinces: Sequence[Province], target: int) -> list[int]:
    regions = load_regions()
    regencies: dict[str, int] = defaultdict(int)
    for regency in regions.regencies.values():
        regencies[regency.province_code] += 1
    weights = [(regencies[p.code] + 10) * _ISLAND_FACTOR[p.island_group] for p in provinces]
    total = sum(weights)
    return [max(3, round(target * w / total)) for w in weights]


def _scale(name: str) -> Scale:
    if name not in SCALES:
        raise ValueError(f"unknown sample scale {name!r}; choose one of {', '.join(SCALES)}")
    return SCALES[name]


def build_registry(scale: str, seed: int) -> RegistrySample:
    """The sentra and member IKM of every sampled province, as the offices report them."""
    chosen = _scale(scale)
    regions = load_regions()
    codes = chosen.provinces or tuple(sorted(regions.provinces))
    provinces = [regions.provinces[code] for code in codes]
    handles = _Handles()
    samplers: dict[str, _ProvinceSampler] = {}
    submissions: list[Submission] = []
    for province, count in zip(provinces, _sentra_counts(provinces, chosen.sentra), strict=True):
        rng = random.Random(f"{seed}/registry/{province.code}")
        style = _OFFICE_STYLES.get(province.code) or _drawn_style(province, rng)
        sampler = _ProvinceSampler(province, style, rng, handles, chosen.member_share)
        samplers[province.code] = sampler
        submissions.append(sampler.submission(count))
    by_code = {s.province.code: s for s in submissions}
    revision = samplers[_RESUBMITTED_PROVINCE].revision(by_code[_RESUBMITTED_PROVINCE])
    late = samplers[_LATE_PROVINCE].late_rows(by_code[_LATE_PROVINCE], count=8)
    return RegistrySample(tuple(submissions), revision, late)


# --- rendering rows -------------------------------------------------------------------------


class Rupiah(int):
    """An IDR amount, so each container can print it the way its office's Excel does."""


Cell = str | int | float | date | None
Record = dict[str, Cell]


def _grouped(amount: int) -> str:
    return f"{amount:,}".replace(",", ".")


@cache
def _regency_spellings() -> dict[str, dict[RegencyForm, str]]:
    """Each regency as offices write it; the bare name only where it names one regency of its
    province (Kabupaten and Kota Malang both answer to "Malang")."""
    regencies = load_regions().regencies.values()
    bare = {r.code: _bare_name(r.name) for r in regencies}
    count: dict[tuple[str, str], int] = defaultdict(int)
    for regency in regencies:
        count[(regency.province_code, bare[regency.code])] += 1
    spellings: dict[str, dict[RegencyForm, str]] = {}
    for regency in regencies:
        name = bare[regency.code]
        abbrev = f"{'Kab.' if regency.kind == 'kabupaten' else 'Kota'} {name}"
        unique = count[(regency.province_code, name)] == 1
        spellings[regency.code] = {
            "full": " ".join(regency.name.split()),
            "abbrev": abbrev,
            "bare": name if unique else abbrev,
            "upper": abbrev.upper(),
        }
    return spellings


def _bare_name(official: str) -> str:
    words = official.split()
    for prefix in (
        ["Kabupaten", "Administrasi"],
        ["Kota", "Administrasi"],
        ["Kabupaten"],
        ["Kota"],
    ):
        if words[: len(prefix)] == prefix:
            return " ".join(words[len(prefix) :])
    return " ".join(words)


def _sentra_record(sentra: Sentra, style: RegistryStyle, periode: int, number: int) -> Record:
    quirks = random.Random(sentra.quirk_seed)
    spellings = style.province_spellings
    province = spellings[0] if quirks.random() < 0.8 else quirks.choice(spellings)

    def money(amount: int) -> Cell:
        return f"Rp {_grouped(amount)}" if quirks.random() < style.money_as_text else Rupiah(amount)

    return {
        "no": number,
        "id_sentra": sentra.id_sentra,
        "nama_sentra": sentra.nama_sentra,
        "provinsi": province,
        "kabupaten_kota": _regency_spellings()[sentra.regency.code][
            quirks.choice(style.regency_forms)
        ],
        "kecamatan": sentra.kecamatan,
        "desa_kelurahan": sentra.desa_kelurahan,
        "komoditas": sentra.komoditas,
        "kbli": int(sentra.kbli) if style.numeric_codes else sentra.kbli,
        "jumlah_ikm": sentra.jumlah_ikm,
        "tenaga_kerja": sentra.tenaga_kerja,
        "nilai_produksi": money(sentra.nilai_produksi),
        "nilai_investasi": money(sentra.nilai_investasi),
        "bahan_baku_utama": sentra.bahan_baku_utama,
        "status": style.status_words[0 if sentra.aktif else 1],
        "tahun_berdiri": sentra.tahun_berdiri,
        "tanggal_pendataan": sentra.tanggal_pendataan,
        "lintang": round(sentra.lintang, style.coordinate_decimals),
        "bujur": round(sentra.bujur, style.coordinate_decimals),
        "periode": periode,
        "keterangan": sentra.keterangan,
    }


def _member_record(member: MemberIkm, number: int) -> Record:
    return {
        "no": number,
        "id_ikm": member.id_ikm,
        "id_sentra": member.id_sentra,
        "nama_usaha": member.nama_usaha,
        "akun_marketplace": "; ".join(member.akun_marketplace),
    }


@dataclass(frozen=True)
class _Table:
    sheet: str
    title: str
    headers: list[str]
    rows: list[list[Cell]]


def _table(sheet: str, title: str, columns: Columns, records: Iterable[Record]) -> _Table:
    headers = [header for _, header in columns]
    rows = [[record[name] for name, _ in columns] for record in records]
    return _Table(sheet, title, headers, rows)


def _csv_text(value: Cell, flavour: CsvFlavour) -> str:
    # Excel's CSV export writes what the cell shows: amounts in their number format, other
    # numbers as typed, dates in the locale's short format.
    if value is None:
        return ""
    if isinstance(value, Rupiah):
        return f"{_grouped(value)},00" if flavour.decimal_comma else str(int(value))
    if isinstance(value, float):
        text = repr(value)
        return text.replace(".", ",") if flavour.decimal_comma else text
    if isinstance(value, date):
        return value.strftime(flavour.date_format)
    return str(value)


def _csv_bytes(table: _Table, flavour: CsvFlavour) -> bytes:
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, delimiter=flavour.delimiter, lineterminator=flavour.line_end)
    writer.writerow(table.headers)
    writer.writerows([_csv_text(value, flavour) for value in row] for row in table.rows)
    # Strict encoding: a character Windows-1252 lacks is a bug here, not something to mangle.
    return buffer.getvalue().encode(flavour.encoding)


def _title_rows(title: str, source: str, count: int) -> list[list[str]]:
    return {1: [[title]], 2: [[title], []], 3: [[title], [source], []]}[count]


def _xlsx_bytes(tables: Sequence[_Table], layout: XlsxLayout, office: str) -> bytes:
    from openpyxl import Workbook
    from openpyxl.writer.excel import ExcelWriter

    workbook = Workbook(write_only=True)
    workbook.properties.creator = office
    workbook.properties.lastModifiedBy = office
    workbook.properties.created = _FILE_TIME
    workbook.properties.modified = _FILE_TIME

    for table in tables:
        sheet = workbook.create_sheet(table.sheet)
        for title_row in _title_rows(table.title, f"Sumber: {office}", layout.title_rows):
            sheet.append(title_row)
        sheet.append(table.headers)
        for row in table.rows:
            sheet.append([_xlsx_cell(sheet, value) for value in row])

    buffer = io.BytesIO()
    # ExcelWriter directly: openpyxl's save() stamps "modified" with the wall clock.
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        ExcelWriter(workbook, archive).save()
    return _with_fixed_zip_times(buffer.getvalue())


def _xlsx_cell(sheet: Any, value: Cell) -> Any:
    """Amounts and dates as native cells with Indonesian-office number formats."""
    from openpyxl.cell import WriteOnlyCell

    if isinstance(value, Rupiah):
        styled = WriteOnlyCell(sheet, int(value))
        styled.number_format = "#,##0"
    elif isinstance(value, date):
        styled = WriteOnlyCell(sheet, value)
        styled.number_format = "DD/MM/YYYY"
    else:
        return value
    return styled


def _with_fixed_zip_times(data: bytes) -> bytes:
    """The same archive with every member dated ``_ZIP_TIME``: zip entries carry the time they
    were written, which would make two runs' files differ."""
    target_buffer = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(data)) as source,
        zipfile.ZipFile(target_buffer, "w", zipfile.ZIP_DEFLATED) as target,
    ):
        for entry in source.infolist():
            fixed = zipfile.ZipInfo(entry.filename, date_time=_ZIP_TIME)
            fixed.compress_type = zipfile.ZIP_DEFLATED
            fixed.external_attr = 0o644 << 16
            target.writestr(fixed, source.read(entry))
    return target_buffer.getvalue()


# --- writing --------------------------------------------------------------------------------


class _Landing:
    """The landing store, remembering what was written in which order."""

    def __init__(self, store: Storage) -> None:
        self._store = store
        self.keys: list[str] = []

    def put(self, key: str, data: bytes) -> None:
        self._store.write_bytes(key, data)
        self.keys.append(key)


def _slug(name: str, separator: str) -> str:
    return _NOT_HANDLE.sub(separator, name.casefold()).strip(separator)


def _submission_files(
    submission: Submission,
    periode: int,
    suffix: str = "",
    patch: Callable[[list[Record]], None] | None = None,
) -> Iterator[tuple[str, bytes]]:
    """The files one office sends for one period: (landing key, bytes), in sending order."""
    province, style = submission.province, submission.style
    folder = f"registry/{province.code}-{_slug(province.name, '-')}"
    stem = f"{_slug(province.name, '_')}_{periode}{suffix}"
    office = f"Dinas Perindustrian dan Perdagangan Provinsi {province.name}"
    title = f"DATA SENTRA IKM PROVINSI {province.name.upper()} TAHUN {periode}"
    records = [
        _sentra_record(s, style, periode, number)
        for number, s in enumerate(submission.sentra, start=1)
    ]
    if patch is not None:
        patch(records)
    sentra = _table("Sentra", title, style.columns("sentra"), records)
    members = _table(
        "Anggota IKM",
        f"DAFTAR ANGGOTA IKM PADA SENTRA IKM PROVINSI {province.name.upper()} TAHUN {periode}",
        style.columns("members"),
        (_member_record(m, number) for number, m in enumerate(submission.members, start=1)),
    )
    # An office sends a member list when it has one: the late rows come without.
    delivery = style.members if submission.members else "none"
    if isinstance(style.container, XlsxLayout):
        tables = [sentra, members] if delivery == "sheet" else [sentra]
        yield f"{folder}/sentra_ikm_{stem}.xlsx", _xlsx_bytes(tables, style.container, office)
    else:
        yield f"{folder}/sentra_ikm_{stem}.csv", _csv_bytes(sentra, style.container)
    if delivery == "csv":
        yield f"{folder}/anggota_ikm_{stem}.csv", _csv_bytes(members, style.member_csv)


def _break(records: list[Record]) -> None:
    """One problem per row, each in a different row, every other row left valid."""
    records[0]["provinsi"] = _UNRESOLVABLE_PROVINCE
    records[2]["jumlah_ikm"] = 0
    # Latitude and longitude swapped: a latitude of ~112 is nowhere on Earth.
    records[4]["lintang"], records[4]["bujur"] = records[4]["bujur"], records[4]["lintang"]
    records[6]["tanggal_pendataan"] = _TYPO_SURVEY_DATE


def _write_registry(landing: _Landing, sample: RegistrySample) -> None:
    for submission in sample.submissions:
        sent = [submission]
        if submission.province.code == sample.revision.province.code:
            sent.append(sample.revision)
        for version, suffix in zip(sent, ("", "_revisi"), strict=False):
            for key, data in _submission_files(version, REGISTRY_PERIOD, suffix):
                landing.put(key, data)


def _write_broken_registry(landing: _Landing, sample: RegistrySample) -> list[str]:
    """Last period's late rows from one office, with problems a validator must catch."""
    written = []
    for key, data in _submission_files(sample.late, _LATE_PERIOD, "_susulan", _break):
        landing.put(key, data)
        written.append(key)
    return written


def write_registry_samples(
    landing: Storage, sample: RegistrySample, include_errors: bool
) -> tuple[list[str], list[str]]:
    """Write the registry submissions; (every key written, the deliberately broken ones)."""
    out = _Landing(landing)
    _write_registry(out, sample)
    broken = _write_broken_registry(out, sample) if include_errors else []
    return out.keys, broken
