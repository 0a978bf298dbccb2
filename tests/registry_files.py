"""Small hand-written registry files for tests, in the shapes provincial offices send."""

from __future__ import annotations

import io
from datetime import date
from typing import Any

HEADER = [
    "Nama Sentra",
    "Provinsi",
    "Kab/Kota",
    "Kecamatan",
    "Komoditi",
    "KBLI",
    "Jumlah IKM (unit)",
    "Tenaga Kerja (orang)",
    "Nilai Produksi (Rp/tahun)",
    "Status",
    "Tahun Berdiri",
    "Tgl. Pendataan",
    "Lintang",
    "Bujur",
    "Tahun Data",
]

DIY_ROWS = [
    [
        "Sentra Batik Tulis Giriloyo",
        "DIY",
        "Bantul",
        "Imogiri",
        "Fashion",
        "13134",
        "45",
        "120",
        "1.234.567.890",
        "Aktif",
        "1985",
        "12/03/2024",
        "-7,93",
        "110,40",
        "2025",
    ],
    [
        "Sentra Gerabah Kasongan",
        "D.I. Yogyakarta",
        "Kab. Bantul",
        "Kasihan",
        "Kerajinan",
        "23939",
        "3",
        "10",
        "50.000.000",
        "Aktif",
        "1970",
        "01/02/2025",
        "-7,84",
        "110,34",
        "2025",
    ],
    [
        "Sentra Bakpia Pathuk",
        "Daerah Istimewa Yogyakarta",
        "Kota Yogyakarta",
        "Ngampilan",
        "Makanan",
        "10792",
        "30",
        "90",
        "2.500.000.000",
        "AKTIF",
        "1990",
        "05/05/2023",
        "-7,79",
        "110,36",
        "2025",
    ],
    [
        "Sentra Tempe Sleman",
        "DIY",
        "Sleman",
        "Depok",
        "Makanan",
        "10792",
        "12",
        "20",
        "1.000.000",
        "Tidak Aktif",
        "2000",
        "05/05/2023",
        "-7,75",
        "110,38",
        "2025",
    ],
    [
        "Sentra Perak Kotagede",
        "DIY",
        "Kota Yogyakarta",
        "Kotagede",
        "Perhiasan",
        "32111",
        "25",
        "60",
        "3.000.000.000",
        "Aktif",
        "1950",
        "10/10/2017",
        "-7,82",
        "110,40",
        "2025",
    ],
]


def registry_csv(
    rows: list[list[str]],
    header: list[str] | None = None,
    delimiter: str = ";",
    encoding: str = "cp1252",
    title: str | None = "DATA SENTRA IKM",
) -> bytes:
    """A CSV the way Indonesian-locale Excel writes it: title line, ';', Windows-1252."""
    lines = [title + delimiter * (len(HEADER) - 1), ""] if title else []
    lines += [delimiter.join(header or HEADER), *(delimiter.join(row) for row in rows)]
    return ("\r\n".join(lines) + "\r\n").encode(encoding)


def registry_xlsx(sentra: list[list[Any]], members: list[list[Any]] | None = None) -> bytes:
    """A workbook with a title row, a 'Sentra' sheet and optionally an 'Anggota IKM' sheet."""
    from openpyxl import Workbook

    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.title = "Sentra"
    sheet.append(["DATA SENTRA IKM PROVINSI JAWA TIMUR TAHUN 2025"])
    sheet.append([])
    sheet.append(["ID Sentra", *HEADER])
    for row in sentra:
        sheet.append(row)
    if members is not None:
        member_sheet = workbook.create_sheet("Anggota IKM")
        member_sheet.append(["ID IKM", "ID Sentra", "Nama Usaha", "Akun Marketplace"])
        for row in members:
            member_sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


JATIM_SENTRA = [
    [
        "SIKM-3507-0001",
        "Sentra Keripik Tempe Sanan",
        "Jawa Timur",
        "Kota Malang",
        "Blimbing",
        "Makanan",
        10794,
        60,
        150,
        4_500_000_000,
        "Aktif",
        1980,
        date(2024, 8, 1),
        -7.95,
        112.64,
        2025,
    ],
    [
        "SIKM-3507-0002",
        "Sentra Gerabah Dinoyo",
        "JATIM",
        "Kota Malang",
        "Lowokwaru",
        "Kerajinan",
        23939,
        15,
        40,
        900_000_000,
        "Aktif",
        1975,
        date(2025, 1, 15),
        -7.94,
        112.60,
        2025,
    ],
]
JATIM_MEMBERS: list[list[Any]] = [
    ["IKM-0001", "SIKM-3507-0001", "Keripik Rohani", "shopee:keripik_rohani; tokopedia:rohani"],
    ["IKM-0002", "SIKM-3507-0001", "Keripik Bu Nanik", None],
    ["IKM-0003", "SIKM-3507-0002", "Gerabah Dinoyo Jaya", "Shopee: dinoyo_jaya"],
]
