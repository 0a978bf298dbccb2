"""Small hand-written marketplace exports for tests, with the personal data real ones carry.

Only the columns a test needs are written (a real Shopee export has ~50): the feed reads the
columns it knows by header, wherever they stand, and ignores the rest.
"""

from __future__ import annotations

import csv
import io
import json
from typing import Any

# Invented buyers. Every value here must stay out of everything ingest writes.
SITI = {
    "username": "siti_aminah88",
    "name": "Siti Aminah",
    "phone": "081234567890",
    "address": "Jl. Melati No. 5, RT 01/RW 02, Kel. Sukamaju",
}
BUDI = {
    "username": "budi.santoso77",
    "name": "Budi Santoso",
    "phone": "+6281398765432",
    "address": "Perum Griya Asri Blok C-7, Kel. Sidomulyo",
}
DEWI = {
    "username": "dewi_lestari_12",
    "name": "Dewi Lestari",
    "phone": "(+62)85712345678",
    "address": "Gg. Mangga No. 19, RT 04/RW 03, Kel. Tegalrejo",
}
RINA = {
    "username": "rina.wulandari",
    "name": "Rina Wulandari",
    "phone": "087788990011",
    "address": "Komplek Taman Sari Blok B2 No. 4",
}
BUYERS = (SITI, BUDI, DEWI, RINA)
PERSONAL_VALUES = tuple(value for person in BUYERS for value in person.values())

SHOPEE_HEADER = [
    "No. Pesanan",
    "Status Pesanan",
    "Status Pembatalan/ Pengembalian",
    "Waktu Pesanan Dibuat",
    "Nomor Referensi SKU",
    "Nama Produk",
    "Nama Variasi",
    "Harga Awal",
    "Jumlah",
    "Total Harga Produk",
    "Username (Pembeli)",
    "Nama Penerima",
    "No. Telepon",
    "Alamat Pengiriman",
    "Provinsi",
]

# Keripik Rohani's Shopee shop: two orders in June (one line returned, one order cancelled)
# and one on the last evening of May. Amounts in the notations exports use.
SHOPEE_ROWS = [
    ["2606011ABCDE", "Selesai", "", "2026-06-01 10:15", "KR-01", "Keripik Tempe Original",
     "250 gr", "Rp 25.000", "2", "Rp 45.000", *SITI.values(), "JAWA TIMUR"],
    ["2606011ABCDE", "Selesai", "Pengembalian Dana/Barang", "2026-06-01 10:15", "KR-02",
     "Keripik Tempe Pedas", "250 gr", "Rp. 27.500,-", "1", "Rp 27.500", *SITI.values(), "Jatim"],
    ["2606021FGHIJ", "Batal", "", "2026-06-02 23:40", "KR-01", "Keripik Tempe Original",
     "250 gr", "Rp 25.000", "3", "Rp 75.000", *BUDI.values(), "DI Yogyakarta"],
    ["2605311KLMNO", "SELESAI", "", "2026-05-31 23:30", "KR-03", "Keripik Tempe Jumbo", "1 kg",
     "1.250.000", "1", "1.200.000", *RINA.values(), "Jawa Barat"],
]  # fmt: skip

TIKTOK_HEADER = [
    "Order ID",
    "Order Status",
    "Cancelation/Return Type",
    "SKU ID",
    "Product Name",
    "Variation",
    "Quantity",
    "SKU Unit Original Price",
    "SKU Subtotal After Discount",
    "Created Time",
    "Buyer Username",
    "Recipient",
    "Phone #",
    "Detail Address",
    "Province",
]
# Rohani's Tokopedia shop (TikTok Shop export): long ids end with a tab, as they do.
TIKTOK_ROWS = [
    ["576400000000000001\t", "Completed", "", "1729000000000000001\t", "Keripik Rohani",
     "Original", "2", "25000", "50000", "01/06/2026 08:00:00", *DEWI.values(), "Jawa Tengah"],
    ["576400000000000002\t", "Completed", "Return/Refund", "1729000000000000002\t",
     "Keripik Rohani Pedas", "Pedas", "1", "30000", "30000", "15/06/2026 12:00:00",
     *DEWI.values(), "Jawa Tengah"],
    ["576400000000000003\t", "Cancelled", "Cancel", "1729000000000000001\t", "Keripik Rohani",
     "Original", "1", "25000", "25000", "20/06/2026 19:30:00", *SITI.values(), "Jawa Timur"],
]  # fmt: skip


def esmart_record(
    marketplace: str,
    seller_account: str,
    order_id: str,
    created_at: str,
    quantity: int,
    unit_price: int | str,
    line_amount: int,
    person: dict[str, str],
    province: str,
    status: str = "completed",
) -> dict[str, Any]:
    return {
        "feed": "e-smart-ikm",
        "marketplace": marketplace,
        "seller_account": seller_account,
        "order_id": order_id,
        "line_id": f"{order_id}-1",
        "sku": "SKU-1",
        "product_name": "Gerabah Hias",
        "status": status,
        "created_at": created_at,
        "quantity": quantity,
        "unit_price": unit_price,
        "line_amount": line_amount,
        "buyer": {
            "id": f"buyer-{person['username']}",
            "name": person["name"],
            "phone": person["phone"],
            "address": person["address"],
            "province": province,
        },
    }


# Dinoyo Jaya's Shopee orders through the e-Smart feed (20:30 UTC on 31 May is 1 June in
# Jakarta), and a Bukalapak shop no member list names.
ESMART_RECORDS = [
    esmart_record(
        "Shopee", "Dinoyo_Jaya", "ES-1", "2026-05-31T20:30:00Z", 1, 150000, 140000, BUDI, "Jatim"
    ),
    esmart_record(
        "bukalapak", "toko_baru", "BL-7", "2026-06-10T09:00:00+07:00", 2, "Rp 50.000", 100000,
        RINA, "Bali",
    ),
]  # fmt: skip


def csv_bytes(
    header: list[str],
    rows: list[list[str]],
    bom: bool = False,
    delimiter: str = ",",
    line_end: str = "\n",
) -> bytes:
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator=line_end)
    writer.writerow(header)
    writer.writerows(rows)
    return (b"\xef\xbb\xbf" if bom else b"") + buffer.getvalue().encode("utf-8")


def shopee_csv(rows: list[list[str]] | None = None) -> bytes:
    return csv_bytes(SHOPEE_HEADER, SHOPEE_ROWS if rows is None else rows)


def tiktok_csv(rows: list[list[str]] | None = None) -> bytes:
    return csv_bytes(TIKTOK_HEADER, TIKTOK_ROWS if rows is None else rows, bom=True)


def esmart_jsonl(records: list[dict[str, Any]] | None = None) -> bytes:
    lines = [json.dumps(r, ensure_ascii=False) for r in (records or ESMART_RECORDS)]
    return ("\n".join(lines) + "\n").encode("utf-8")


def shopee_lines(count: int, start_row: int = 0) -> list[list[str]]:
    """``count`` ordinary completed Shopee lines, one order each, all in June 2026."""
    return [
        [f"2606{n:04d}XYZAB", "Selesai", "", f"2026-06-{1 + n % 28:02d} 12:00", "KR-01",
         "Keripik Tempe Original", "250 gr", "Rp 25.000", "1", "Rp 25.000", *SITI.values(),
         "Jawa Timur"]
        for n in range(start_row, start_row + count)
    ]  # fmt: skip
