"""Seeded sample marketplace exports: the three layouts, for the shops of the sample registry.

The shops are seller accounts that member IKM of the sample registry list
(``sample.build_registry``), so the marketplace feed joins the registry the way real data would,
apart from the unknown shops put there on purpose. A shop's orders follow its sentra's product
and commodity (prices, quantities, variants), with seasonality: Ramadan 1447 H (February-March
2026) lifts food and fashion most and the Lebaran holiday week that follows dips, 11.11 and
12.12 (Harbolnas) spike, December runs high, paydays and weekends a little. Buyers carry
realistic-looking but invented personal data (names, usernames, phones, addresses, notes) from
fixed lists, so a test can prove none of it passes ingest.

Files are written line by line to a temporary file and uploaded, so the national scale
(about 10 million order lines) never sits in memory. The same (scale, seed) writes the same
bytes: every draw comes from a ``random.Random`` seeded by the seed and a purpose.
"""

from __future__ import annotations

import bisect
import csv
import functools
import json
import math
import random
import tempfile
import zlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from itertools import accumulate
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from pipelines.samples.registry import ANCHOR_DATE, RegistrySample, Sentra

if TYPE_CHECKING:
    from pipelines.platform.storage import Storage

FIRST_ORDER_DAY = date(2025, 6, 1)
LAST_ORDER_DAY = ANCHOR_DATE - timedelta(days=2)
"""Thirteen months of orders, finished before the sample's "today"."""
RAMADAN = (date(2026, 2, 18), date(2026, 3, 20))
"""1 Ramadan 1447 H to Idul Fitri (Lebaran), 2026: the year's biggest season for food and
fashion; the week after Lebaran couriers and sellers are on holiday."""
SEASONAL_GOODS = frozenset({"Makanan", "Minuman", "Fashion"})
STATUS_SHARES = (("completed", 0.88), ("cancelled", 0.08), ("returned", 0.04))


@dataclass(frozen=True)
class MarketplaceScale:
    shopee_exports: int
    """Shops sending a Shopee-style seller-centre export (one file each)."""
    tokopedia_exports: int
    """Shops sending a Tokopedia/TikTok Shop-style export (one file each)."""
    lines_per_export: int
    """Mean order lines of one seller-centre export (13 months); shops differ a lot."""
    esmart_shops: int
    """Shops whose orders come through the e-Smart JSON-lines feed."""
    esmart_lines: int
    """Order lines of the e-Smart feed over the 13 months, all files together."""
    esmart_months_per_file: int
    """Months one e-Smart file covers (6 in the demo, to keep it quick; 1 nationally)."""
    buyers: int
    """Size of the buyer population orders draw from."""


MARKETPLACE_SCALES: dict[str, MarketplaceScale] = {
    "demo": MarketplaceScale(4, 3, 300, 40, 1_500, 6, 4_000),
    "national": MarketplaceScale(300, 300, 8_300, 20_000, 5_000_000, 1, 3_000_000),
}


@dataclass
class MarketplaceSampleReport:
    files: list[str] = field(default_factory=list)
    """Landing keys written, in write order."""
    order_lines: int = 0
    """Order lines written, every file counted (the re-export's overlap included)."""
    deliberately_broken: list[str] = field(default_factory=list)
    """Exports meant to be quarantined as a whole."""
    with_bad_lines: list[str] = field(default_factory=list)
    """Exports with a few bad lines, quarantined alone while the rest is published."""
    unknown_shops: list[str] = field(default_factory=list)
    """``marketplace:seller_account`` of shops no member list names."""


# --- buyers: invented, from fixed lists ------------------------------------------------------

FIRST_NAMES = (
    "Siti", "Dewi", "Rina", "Ayu", "Fitri", "Wulan", "Indah", "Putri", "Nur", "Sri", "Yuni",
    "Ratna", "Lestari", "Maya", "Anisa", "Dian", "Eka", "Kartika", "Novi", "Ratih", "Budi",
    "Agus", "Andi", "Bambang", "Dedi", "Eko", "Fajar", "Hendra", "Irfan", "Joko", "Rizky",
    "Wahyu", "Yusuf", "Arif", "Bayu", "Dimas", "Gilang", "Hadi", "Ilham", "Made", "Komang",
    "Ketut", "Daeng", "Teuku", "Ucok", "Asep", "Ujang", "Cecep", "Nyoman", "Ahmad",
)  # fmt: skip
LAST_NAMES = (
    "Aminah", "Rahayu", "Susanti", "Wijaya", "Saputra", "Hidayat", "Kusuma", "Pratama",
    "Nugroho", "Setiawan", "Lestari", "Permata", "Wulandari", "Santoso", "Purnomo", "Siregar",
    "Nasution", "Harahap", "Simanjuntak", "Pohan", "Sinaga", "Tanjung", "Lubis", "Rangkuti",
    "Daulay", "Hasibuan", "Gunawan", "Halim", "Kurniawan", "Firmansyah", "Ramadhan", "Utami",
    "Handayani", "Maharani", "Anggraini", "Puspita", "Sari", "Syahputra", "Manurung", "Wibowo",
)  # fmt: skip
STREETS = (
    "Jl. Melati", "Jl. Kenanga", "Jl. Mawar", "Jl. Anggrek", "Jl. Merdeka", "Jl. Sudirman",
    "Jl. Diponegoro", "Jl. Gajah Mada", "Jl. Pahlawan", "Jl. Veteran", "Jl. Cempaka",
    "Jl. Flamboyan", "Jl. Kartini", "Jl. Imam Bonjol", "Jl. Ahmad Yani", "Gg. Mangga",
    "Gg. Rambutan", "Perum Griya Asri Blok", "Perum Bumi Indah Blok", "Komplek Taman Sari Blok",
)  # fmt: skip
KELURAHAN = (
    "Sukamaju", "Sidomulyo", "Karangrejo", "Sumbersari", "Tegalrejo", "Margahayu", "Cempaka Putih",
    "Kebon Jeruk", "Pasar Baru", "Tanjung Harapan", "Bukit Indah", "Suka Damai", "Mekarsari",
)  # fmt: skip
PHONE_PREFIXES = ("811", "812", "813", "821", "822", "852", "853", "857", "877", "878", "895")
EMAIL_DOMAINS = ("gmail.com", "yahoo.co.id", "gmail.com", "outlook.com")
BUYER_NOTES = (
    "Tolong dibungkus rapi ya kak",
    "Kirim secepatnya, untuk oleh-oleh",
    "Jangan lupa bubble wrap",
    "Titip di pos satpam kalau tidak ada orang",
    "Hubungi nomor ini kalau kurir sampai: {phone}",
)
# Where buyers live: Java's big provinces most, then the rest of the country, as marketplace
# buyers are spread. Weights are relative.
BUYER_PROVINCES = (
    ("31", 14), ("32", 20), ("33", 13), ("34", 4), ("35", 16), ("36", 6), ("51", 2), ("12", 4),
    ("13", 2), ("16", 2), ("18", 2), ("63", 1), ("64", 2), ("73", 3), ("71", 1), ("52", 1),
    ("61", 1), ("21", 1), ("14", 2), ("94", 1),
)  # fmt: skip
_PROVINCE_CUMULATIVE = list(accumulate(weight for _, weight in BUYER_PROVINCES))


@dataclass(frozen=True)
class Buyer:
    name: str
    username: str
    phone: str
    email: str
    address: str
    city: str
    province_code: str
    postal_code: str


# The lines of one order share their buyer and times: remembering the last few orders' saves
# most of the formatting, which is what a national sample's 10 million lines spend time on.
@functools.lru_cache(maxsize=1024)
def buyer(number: int) -> Buyer:
    """Buyer ``number`` of the population, always the same person: derived, never stored, so a
    national sample's millions of buyers cost no memory."""
    first = FIRST_NAMES[number % len(FIRST_NAMES)]
    last = LAST_NAMES[(number // len(FIRST_NAMES)) % len(LAST_NAMES)]
    mixed = (number * 2_654_435_761) % 4_294_967_296  # Knuth's multiplicative hash
    phone = f"0{PHONE_PREFIXES[mixed % len(PHONE_PREFIXES)]}{(mixed // 11) % 100_000_000:08d}"
    province = BUYER_PROVINCES[
        bisect.bisect_right(_PROVINCE_CUMULATIVE, mixed % _PROVINCE_CUMULATIVE[-1])
    ][0]
    street = STREETS[(mixed // 7) % len(STREETS)]
    kelurahan = KELURAHAN[(mixed // 13) % len(KELURAHAN)]
    return Buyer(
        name=f"{first} {last}",
        username=f"{first.lower()}{'._'[number % 2]}{last.lower()}{number % 1000}",
        phone=phone,
        email=f"{first.lower()}.{last.lower()}{number % 10_000}@{EMAIL_DOMAINS[mixed % 4]}",
        address=(
            f"{street} No. {1 + mixed % 149}, RT {1 + mixed % 12:02d}/RW {1 + mixed % 9:02d}, "
            f"Kel. {kelurahan}"
        ),
        city=f"Kota {kelurahan}" if mixed % 3 == 0 else f"Kab. {kelurahan}",
        province_code=province,
        postal_code=f"{10_000 + mixed % 89_999}",
    )


# --- shops and what they sell --------------------------------------------------------------

# Price range of one item in rupiah, and how many items one order line usually holds.
_PRICES: dict[str, tuple[int, int, int]] = {
    "Makanan": (12_000, 85_000, 4),
    "Minuman": (18_000, 95_000, 3),
    "Fashion": (85_000, 1_500_000, 2),
    "Kerajinan": (30_000, 650_000, 2),
    "Furnitur": (450_000, 6_500_000, 1),
    "Kosmetik": (20_000, 160_000, 3),
    "Herbal": (18_000, 125_000, 3),
    "Perhiasan": (250_000, 4_500_000, 1),
    "Logam": (45_000, 850_000, 2),
}
_BULK_PRICES = (3_000, 25_000, 40)  # building materials sell per piece, in bulk
_VARIANTS: dict[str, tuple[str, ...]] = {
    "Makanan": ("Original 250 gr", "Pedas 250 gr", "Balado 500 gr", "Keju 250 gr", "1 kg"),
    "Minuman": ("Botol 250 ml", "Botol 500 ml", "Sachet isi 10", "Kemasan 1 liter"),
    "Fashion": ("M", "L", "XL", "Motif Parang", "Motif Kawung", "Motif Mega Mendung"),
    "Kerajinan": ("Kecil", "Sedang", "Besar", "Set isi 3"),
    "Kosmetik": ("50 gr", "100 gr", "Paket hemat"),
    "Herbal": ("Botol 250 ml", "Serbuk 100 gr", "Kapsul isi 60"),
}


@dataclass(frozen=True)
class Listing:
    sku: str
    product: str
    variation: str
    price: int


@dataclass(frozen=True)
class Shop:
    """A member IKM's shop on one marketplace, with what it sells."""

    marketplace: str
    handle: str
    sentra: Sentra
    """The sentra of the member IKM: its product and commodity decide the listings."""
    listings: tuple[Listing, ...]
    items_per_line: int
    """Mean items on one order line: food sells by the bag, furniture one at a time."""
    seasonal: bool
    """Whether Ramadan lifts this shop most (food, drinks, fashion)."""

    @property
    def account(self) -> str:
        return f"{self.marketplace}:{self.handle}"


def make_shop(marketplace: str, handle: str, sentra: Sentra, rng: random.Random) -> Shop:
    low, high, items = _PRICES.get(sentra.komoditas, _BULK_PRICES)
    variants = _VARIANTS.get(sentra.komoditas, ("",))
    prefix = "".join(word[0] for word in sentra.produk.split()).upper()
    listings = []
    for number in range(1, rng.randint(2, 6) + 1):
        # Log-uniform prices: most items are cheap, a few are the shop's showpieces.
        price = int(round(math.exp(rng.uniform(math.log(low), math.log(high))), -3)) or 1_000
        variation = rng.choice(variants)
        name = f"{sentra.produk} {rng.choice(('Asli', 'Premium', 'Khas', 'Oleh-oleh', ''))}"
        listings.append(Listing(f"{prefix}-{number:03d}", " ".join(name.split()), variation, price))
    return Shop(
        marketplace, handle, sentra, tuple(listings), items, sentra.komoditas in SEASONAL_GOODS
    )


# --- orders --------------------------------------------------------------------------------


@dataclass(frozen=True)
class OrderLine:
    shop: Shop
    order_id: str
    line_number: int
    listing: Listing
    quantity: int
    paid_per_item: int
    status: str
    """completed, cancelled, returned, or 'shipping' (still on its way: a bad line)."""
    ordered_at: datetime
    """Local time, Asia/Jakarta."""
    buyer: int
    shipping_fee: int
    order_total: int

    @property
    def gross(self) -> int:
        return self.listing.price * self.quantity

    @property
    def paid(self) -> int:
        return self.paid_per_item * self.quantity


def day_weight(day: date, seasonal: bool) -> float:
    """How busy a day is, relative to an ordinary weekday in June 2025."""
    weight = 1.0 + 0.015 * ((day - FIRST_ORDER_DAY).days / 30)  # online sales keep growing
    if RAMADAN[0] <= day < RAMADAN[1]:
        weight *= 1.9 if seasonal else 1.25
        if (RAMADAN[1] - day).days <= 14:  # the last fortnight: Lebaran shopping
            weight *= 1.3
    elif RAMADAN[1] <= day < RAMADAN[1] + timedelta(days=8):
        weight *= 0.55  # cuti bersama: couriers and sellers are home for Lebaran
    if day.month == 12:
        weight *= 1.3
    if (day.month, day.day) in {(11, 11), (12, 12)}:
        weight *= 3.0  # Harbolnas
    if day.day >= 25 or day.day <= 2:
        weight *= 1.15  # payday
    if day.weekday() >= 5:
        weight *= 1.1
    return weight


@dataclass(frozen=True)
class Calendar:
    """The order days of a period with cumulative weights, for fast seasonal draws."""

    days: tuple[date, ...]
    cumulative: dict[bool, list[float]]

    @classmethod
    def of(cls, first: date, last: date) -> Calendar:
        days = tuple(first + timedelta(days=n) for n in range((last - first).days + 1))
        cumulative = {
            seasonal: list(accumulate(day_weight(day, seasonal) for day in days))
            for seasonal in (False, True)
        }
        return cls(days, cumulative)

    def draw(self, rng: random.Random, seasonal: bool) -> date:
        weights = self.cumulative[seasonal]
        return self.days[bisect.bisect_right(weights, rng.random() * weights[-1])]

    def share(self, seasonal: bool) -> float:
        """This period's share of a whole sample year's orders, for splitting a shop's lines."""
        return self.cumulative[seasonal][-1]


# Evenings are busiest; nights quiet.
_HOUR_WEIGHTS = list(
    accumulate((2, 1, 1, 1, 1, 1, 2, 3, 4, 5, 6, 6, 7, 6, 5, 5, 6, 6, 7, 9, 10, 10, 8, 4))
)


class OrderMaker:
    """Draws one shop's orders; ids are unique per marketplace across the whole sample."""

    def __init__(self, rng: random.Random, buyers: int, id_style: Callable[[int, date], str]):
        self.rng = rng
        self.buyers = buyers
        self.id_style = id_style
        self.sequence = 0

    def orders(self, shop: Shop, lines: int, calendar: Calendar) -> Iterator[OrderLine]:
        written = 0
        while written < lines:
            order = self.order(shop, calendar)
            written += len(order)
            yield from order

    def order(self, shop: Shop, calendar: Calendar) -> list[OrderLine]:
        rng = self.rng
        day = calendar.draw(rng, shop.seasonal)
        hour = bisect.bisect_right(_HOUR_WEIGHTS, rng.random() * _HOUR_WEIGHTS[-1])
        ordered_at = datetime(day.year, day.month, day.day, hour, rng.randrange(60))
        ordered_at += timedelta(seconds=rng.randrange(60))
        self.sequence += 1
        order_id = self.id_style(self.sequence, day)
        status = pick_status(rng.random())
        listings = rng.sample(shop.listings, min(len(shop.listings), rng.choice((1, 1, 1, 2, 3))))
        discount = rng.choice((0, 0, 0, 5, 10, 15))
        quantities = [max(1, round(rng.expovariate(1 / shop.items_per_line))) for _ in listings]
        paid = [round(listing.price * (100 - discount) / 100, -2) for listing in listings]
        shipping = rng.choice((0, 9_000, 12_000, 15_000, 22_000))
        total = sum(p * q for p, q in zip(paid, quantities, strict=True)) + shipping
        customer = rng.randrange(self.buyers)
        return [
            OrderLine(
                shop, order_id, number, listing, quantity, int(price), status, ordered_at,
                customer, shipping, int(total),
            )
            for number, (listing, quantity, price) in enumerate(
                zip(listings, quantities, paid, strict=True), start=1
            )
        ]  # fmt: skip


def pick_status(draw: float) -> str:
    for status, share in STATUS_SHARES:
        if draw < share:
            return status
        draw -= share
    return STATUS_SHARES[0][0]


def base36(number: int, width: int) -> str:
    digits = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    text = ""
    while number:
        number, digit = divmod(number, 36)
        text = digits[digit] + text
    return text.rjust(width, "0")


def shopee_order_id(offset: int) -> Callable[[int, date], str]:
    return lambda sequence, day: f"{day:%y%m%d}{base36(offset + sequence, 8)}"


def tiktok_order_id(offset: int) -> Callable[[int, date], str]:
    return lambda sequence, day: f"57{day:%y%m%d}{offset + sequence:010d}"


def esmart_order_id(marketplace: str) -> Callable[[int, date], str]:
    prefix = {"bukalapak": "BL", "blibli": "BLI", "ralali": "RL"}.get(marketplace, "ES")
    return lambda sequence, day: f"{prefix}{day:%y%m%d}{sequence:08d}"


# --- rendering: the three layouts ----------------------------------------------------------


def rupiah(amount: int) -> str:
    return "Rp " + f"{amount:,}".replace(",", ".")


SHOPEE_HEADERS = (
    "No. Pesanan", "Status Pesanan", "Alasan Pembatalan", "Status Pembatalan/ Pengembalian",
    "No. Resi", "Opsi Pengiriman", "Pesanan Harus Dikirimkan Sebelum (Menghindari keterlambatan)",
    "Waktu Pesanan Dibuat", "Waktu Pembayaran Dilakukan", "Metode Pembayaran", "SKU Induk",
    "Nama Produk", "Nomor Referensi SKU", "Nama Variasi", "Harga Awal", "Harga Setelah Diskon",
    "Jumlah", "Total Harga Produk", "Total Diskon", "Ongkos Kirim Dibayar oleh Pembeli",
    "Total Pembayaran", "Username (Pembeli)", "Nama Penerima", "No. Telepon",
    "Alamat Pengiriman", "Kota/Kabupaten", "Provinsi", "Catatan dari Pembeli",
    "Waktu Pesanan Selesai",
)  # fmt: skip
_SHOPEE_STATUS = {
    "completed": ("Selesai", ""),
    "cancelled": ("Batal", ""),
    "returned": ("Selesai", "Pengembalian Dana/Barang"),
    "shipping": ("Sedang Dikirim", ""),
}
_COURIERS = ("SPX Standard", "J&T Express", "JNE Reguler", "SiCepat REG", "AnterAja Reguler")
_PAYMENTS = ("ShopeePay", "COD", "Transfer Bank", "SPayLater", "Kartu Kredit/Debit")


def province_spelling(code: str, style: str) -> str:
    from pipelines.reference.regions import load_regions

    name = load_regions().provinces[code].name
    if style == "upper":
        return {"34": "DI YOGYAKARTA", "31": "DKI JAKARTA"}.get(code, name.upper())
    return name


@functools.lru_cache(maxsize=1024)
def shopee_times(ordered_at: datetime) -> tuple[str, str, str, str]:
    """Ship-by, ordered, paid and finished times of an order, as Shopee writes them."""
    ship_by, paid, finished = (
        ordered_at + timedelta(days=2),
        ordered_at + timedelta(minutes=7),
        ordered_at + timedelta(days=4),
    )
    stamp = "%Y-%m-%d %H:%M"
    return f"{ship_by:{stamp}}", f"{ordered_at:{stamp}}", f"{paid:{stamp}}", f"{finished:{stamp}}"


def shopee_row(line: OrderLine) -> list[str]:
    person = buyer(line.buyer)
    status, returned = _SHOPEE_STATUS[line.status]
    finished = line.status in ("completed", "returned")
    mixed = line.buyer  # order-level choices: the same on every line of the order
    note = BUYER_NOTES[mixed % len(BUYER_NOTES)].format(phone=person.phone) if mixed % 5 else ""
    return [
        line.order_id,
        status,
        "Perlu mengubah alamat pengiriman" if line.status == "cancelled" else "",
        returned,
        "" if line.status == "cancelled" else f"SPXID0{zlib.crc32(line.order_id.encode()):011d}",
        _COURIERS[mixed % len(_COURIERS)],
        *shopee_times(line.ordered_at)[:3],
        _PAYMENTS[mixed % len(_PAYMENTS)],
        line.listing.sku.rsplit("-", 1)[0],
        line.listing.product,
        line.listing.sku,
        line.listing.variation,
        rupiah(line.listing.price),
        rupiah(line.paid_per_item),
        str(line.quantity),
        rupiah(line.paid),
        rupiah(line.gross - line.paid),
        rupiah(line.shipping_fee),
        rupiah(line.order_total),
        person.username,
        person.name,
        person.phone,
        person.address,
        person.city,
        province_spelling(person.province_code, "upper"),
        note,
        shopee_times(line.ordered_at)[3] if finished else "",
    ]


TIKTOK_HEADERS = (
    "Order ID", "Order Status", "Order Substatus", "Cancelation/Return Type",
    "Normal or Pre-order", "SKU ID", "Seller SKU", "Product Name", "Variation", "Quantity",
    "Sku Quantity of return", "SKU Unit Original Price", "SKU Subtotal Before Discount",
    "SKU Platform Discount", "SKU Seller Discount", "SKU Subtotal After Discount",
    "Shipping Fee After Discount", "Order Amount", "Created Time", "Paid Time",
    "Cancelled Time", "Tracking ID", "Buyer Message", "Buyer Username", "Recipient", "Phone #",
    "Zipcode", "Country", "Province", "Regency and City", "Districts", "Villages",
    "Detail Address", "Additional address information", "Payment Method", "Weight(kg)",
)  # fmt: skip
_TIKTOK_STATUS = {
    "completed": ("Completed", "Completed", ""),
    "cancelled": ("Cancelled", "Cancelled", "Cancel"),
    "returned": ("Completed", "Completed", "Return/Refund"),
    "shipping": ("Shipped", "In transit", ""),
}
# TikTok Shop-style exports end long numbers with a tab so spreadsheets keep them as text.
_TAB = "\t"


def tiktok_row(line: OrderLine) -> list[str]:
    person = buyer(line.buyer)
    status, substatus, kind = _TIKTOK_STATUS[line.status]
    stamp = "%d/%m/%Y %H:%M:%S"
    sku_id = f"17{zlib.crc32(line.listing.sku.encode() + line.shop.handle.encode()):017d}"
    return [
        line.order_id + _TAB,
        status,
        substatus,
        kind,
        "Normal",
        sku_id + _TAB,
        line.listing.sku,
        line.listing.product,
        line.listing.variation,
        str(line.quantity),
        "1" if line.status == "returned" else "0",
        str(line.listing.price),
        str(line.gross),
        "0",
        str(line.gross - line.paid),
        str(line.paid),
        str(line.shipping_fee),
        str(line.order_total),
        f"{line.ordered_at:{stamp}}",
        f"{line.ordered_at + timedelta(minutes=3):{stamp}}",
        f"{line.ordered_at + timedelta(hours=5):{stamp}}" if line.status == "cancelled" else "",
        "" if line.status == "cancelled" else f"JX{zlib.crc32(line.order_id.encode()):010d}",
        BUYER_NOTES[line.buyer % len(BUYER_NOTES)].format(phone=person.phone),
        person.username,
        person.name,
        "(+62)" + person.phone[1:],
        person.postal_code,
        "Indonesia",
        province_spelling(person.province_code, "title"),
        person.city,
        f"Kec. {person.address.rsplit('Kel. ', 1)[-1]}",
        person.address.rsplit("Kel. ", 1)[-1],
        person.address,
        "",
        "COD" if line.buyer % 4 == 0 else "GoPay",
        f"{0.25 * line.quantity:.2f}",
    ]


_ESMART_STATUS = {"completed": "completed", "cancelled": "cancelled", "returned": "returned"}
# Partners send times in their own convention: with a +07:00 offset, or in UTC.
_UTC_PARTNERS = frozenset({"blibli", "ralali"})


def esmart_record(line: OrderLine) -> dict[str, Any]:
    person = buyer(line.buyer)
    marketplace = line.shop.marketplace
    if marketplace in _UTC_PARTNERS:
        created = f"{line.ordered_at - timedelta(hours=7):%Y-%m-%dT%H:%M:%S}Z"
    else:
        created = f"{line.ordered_at:%Y-%m-%dT%H:%M:%S}+07:00"
    # One partner sends prices as formatted text, the others as numbers.
    price: int | str = rupiah(line.listing.price) if marketplace == "ralali" else line.listing.price
    return {
        "feed": "e-smart-ikm",
        "marketplace": marketplace,
        "seller_account": line.shop.handle,
        "order_id": line.order_id,
        "line_id": f"{line.order_id}-{line.line_number}",
        "sku": line.listing.sku,
        "product_name": line.listing.product,
        "variant": line.listing.variation or None,
        "status": _ESMART_STATUS[line.status],
        "created_at": created,
        "quantity": line.quantity,
        "unit_price": price,
        "line_amount": line.paid,
        "order_amount": line.order_total,
        "currency": "IDR",
        "buyer": {
            "id": f"{marketplace[:2]}-{line.buyer:07d}",
            "name": person.name,
            "phone": person.phone,
            "email": person.email,
            "address": person.address,
            "city": person.city,
            "province": province_spelling(person.province_code, "title"),
            "postal_code": person.postal_code,
        },
    }


@dataclass(frozen=True)
class CsvStyle:
    headers: Sequence[str]
    row: Callable[[OrderLine], list[str]]
    encoding: str
    line_end: str


SHOPEE = CsvStyle(SHOPEE_HEADERS, shopee_row, "utf-8", "\n")
TIKTOK = CsvStyle(TIKTOK_HEADERS, tiktok_row, "utf-8-sig", "\r\n")


def write_csv(stream: TextIO, style: CsvStyle, lines: Iterable[OrderLine]) -> int:
    writer = csv.writer(stream, lineterminator=style.line_end)
    writer.writerow(style.headers)
    count = 0
    for line in lines:
        writer.writerow(style.row(line))
        count += 1
    return count


def write_jsonl(stream: TextIO, lines: Iterable[OrderLine]) -> int:
    count = 0
    for line in lines:
        stream.write(json.dumps(esmart_record(line), ensure_ascii=False) + "\n")
        count += 1
    return count


# --- messes real exports have ----------------------------------------------------------------


def still_shipping(lines: list[OrderLine]) -> list[OrderLine]:
    """Two lines exported before their orders finished ("Sedang Dikirim"): under 2% of any
    export the sample writes, so the policy quarantines them alone."""
    from dataclasses import replace

    shipping = {len(lines) // 3, 2 * len(lines) // 3}
    return [
        replace(line, status="shipping") if number in shipping else line
        for number, line in enumerate(lines)
    ]


def unquoted_address(rows: Iterable[list[str]]) -> Iterator[list[str]]:
    """A file someone "fixed" by hand: one address lost its quotes, so its comma splits it."""
    for number, row in enumerate(rows, start=1):
        yield [*row[:-4], *row[-4].split(", ", 1), *row[-3:]] if number == 7 else row


# --- writing the sample ----------------------------------------------------------------------


class MarketplaceLanding:
    """Writes exports to a temporary file, then uploads: memory stays flat at any size."""

    def __init__(self, store: Storage) -> None:
        self.store = store
        self.report = MarketplaceSampleReport()

    def write(self, key: str, encoding: str, render: Callable[[TextIO], int]) -> None:
        with tempfile.TemporaryDirectory(prefix="sentra-sample-") as folder:
            path = Path(folder) / "export"
            with path.open("w", encoding=encoding, newline="") as stream:
                count = render(stream)
            self.store.upload_file(path, key)
        self.report.files.append(key)
        self.report.order_lines += count

    def csv_export(self, key: str, style: CsvStyle, lines: Iterable[OrderLine]) -> None:
        self.write(key, style.encoding, lambda stream: write_csv(stream, style, lines))

    def jsonl_export(self, key: str, lines: Iterable[OrderLine]) -> None:
        self.write(key, "utf-8", lambda stream: write_jsonl(stream, lines))


def shops_of(
    registry: RegistrySample, marketplaces: Sequence[str], rng: random.Random
) -> dict[str, list[Shop]]:
    """The registry's current member shops per marketplace, in a seeded random order."""
    sentra = {s.id_sentra: s for sub in registry.current() for s in sub.sentra}
    shops: dict[str, list[Shop]] = {marketplace: [] for marketplace in marketplaces}
    for submission in registry.current():
        for member in submission.members:
            for account in member.akun_marketplace:
                marketplace, _, handle = account.partition(":")
                if marketplace in shops and sentra[member.id_sentra].aktif:
                    shops[marketplace].append(
                        make_shop(marketplace, handle, sentra[member.id_sentra], rng)
                    )
    for listed in shops.values():
        rng.shuffle(listed)
    return shops


def unknown_shop(
    marketplace: str, handle: str, registry: RegistrySample, rng: random.Random
) -> Shop:
    """A shop no member list names (not registered yet), selling like a real sentra member."""
    sentra = next(s for sub in registry.current() for s in sub.sentra if s.aktif)
    return make_shop(marketplace, handle, sentra, rng)


def shop_lines(mean: int, rng: random.Random) -> int:
    # Shops differ a lot: a few sell most, as on every marketplace.
    return max(20, round(mean * rng.lognormvariate(0, 0.6) / math.exp(0.18)))


def write_marketplace_samples(
    landing: Storage,
    registry: RegistrySample,
    scale: str | MarketplaceScale = "demo",
    seed: int = 20261128,
    include_errors: bool = True,
) -> MarketplaceSampleReport:
    """Write every marketplace export of ``scale`` under ``marketplace/`` in the landing store.

    ``scale`` names one of ``MARKETPLACE_SCALES`` or gives its own sizes (tests use tiny ones).
    """
    chosen = MARKETPLACE_SCALES[scale] if isinstance(scale, str) else scale
    rng = random.Random(f"{seed}/marketplace/shops")
    shops = shops_of(registry, ("shopee", "tokopedia", "bukalapak", "blibli", "ralali"), rng)
    out = MarketplaceLanding(landing)
    year = Calendar.of(FIRST_ORDER_DAY, LAST_ORDER_DAY)
    write_seller_centre(out, shops, chosen, year, seed, include_errors)
    if include_errors:
        write_unknown_shop(out, registry, chosen, year, seed)
    write_esmart(out, shops, chosen, seed, registry, include_errors)
    return out.report


@dataclass(frozen=True)
class SellerCentre:
    """How one marketplace's seller centre exports: layout, file names, order ids."""

    marketplace: str
    style: CsvStyle
    file_name: str
    order_ids: Callable[[int], Callable[[int, date], str]]


SELLER_CENTRES = (
    SellerCentre("shopee", SHOPEE, "Order.all.{period}.csv", shopee_order_id),
    SellerCentre("tokopedia", TIKTOK, "Semua pesanan-{period}.csv", tiktok_order_id),
)


def write_seller_centre(
    out: MarketplaceLanding,
    shops: dict[str, list[Shop]],
    scale: MarketplaceScale,
    year: Calendar,
    seed: int,
    include_errors: bool,
) -> None:
    """One 13-month export per shop; a few with the messes of real exports:

    the first Shopee shop exports its last quarter again later (some orders returned since);
    the second exported before every order had arrived (a few lines still "Sedang Dikirim");
    the first Tokopedia shop's file carries Shopee's file name (only content tells layouts
    apart); the second Tokopedia shop's file was edited by hand and is damaged.
    """
    period = f"{FIRST_ORDER_DAY:%Y%m%d}_{LAST_ORDER_DAY:%Y%m%d}"
    counts = {"shopee": scale.shopee_exports, "tokopedia": scale.tokopedia_exports}
    for centre in SELLER_CENTRES:
        rng = random.Random(f"{seed}/marketplace/{centre.marketplace}")
        maker = OrderMaker(rng, scale.buyers, centre.order_ids(0))
        for number, shop in enumerate(shops[centre.marketplace][: counts[centre.marketplace]]):
            lines = list(maker.orders(shop, shop_lines(scale.lines_per_export, rng), year))
            name = centre.file_name.format(period=period)
            mess = (centre.marketplace, number) if include_errors else None
            if (centre.marketplace, number) == ("tokopedia", 0):
                name = SELLER_CENTRES[0].file_name.format(period=period)
            key = f"marketplace/{centre.marketplace}/{shop.handle}/{name}"
            if mess == ("tokopedia", 1):
                write_damaged(out, key, lines)
                continue
            if mess == ("shopee", 1):
                lines = still_shipping(lines)
                out.report.with_bad_lines.append(key)
            out.csv_export(key, centre.style, lines)
            if (centre.marketplace, number) == ("shopee", 0):
                write_re_export(out, f"marketplace/shopee/{shop.handle}", lines, rng)


def write_re_export(
    out: MarketplaceLanding, folder: str, lines: list[OrderLine], rng: random.Random
) -> None:
    """The shop exports its last quarter again later: a few orders were returned meanwhile."""
    from dataclasses import replace

    since = LAST_ORDER_DAY - timedelta(days=90)
    recent = [line for line in lines if line.ordered_at.date() >= since]
    completed = sorted({line.order_id for line in recent if line.status == "completed"})
    returned = set(rng.sample(completed, min(3, len(completed))))
    again = [
        replace(line, status="returned") if line.order_id in returned else line for line in recent
    ]
    key = f"{folder}/Order.all.{since:%Y%m%d}_{LAST_ORDER_DAY:%Y%m%d}.csv"
    out.csv_export(key, SHOPEE, again)


def write_damaged(out: MarketplaceLanding, key: str, lines: list[OrderLine]) -> None:
    def render(stream: TextIO) -> int:
        writer = csv.writer(stream, lineterminator=TIKTOK.line_end)
        writer.writerow(TIKTOK.headers)
        for row in unquoted_address(TIKTOK.row(line) for line in lines):
            if len(row) > len(TIKTOK.headers):
                # The hand-edit saved this line without any quoting.
                stream.write(",".join(row) + TIKTOK.line_end)
            else:
                writer.writerow(row)
        return len(lines)

    out.write(key, TIKTOK.encoding, render)
    out.report.deliberately_broken.append(key)


def write_unknown_shop(
    out: MarketplaceLanding,
    registry: RegistrySample,
    scale: MarketplaceScale,
    year: Calendar,
    seed: int,
) -> None:
    rng = random.Random(f"{seed}/marketplace/unknown")
    shop = unknown_shop("shopee", "dapur_mama_ina", registry, rng)
    maker = OrderMaker(rng, scale.buyers, shopee_order_id(900_000_000))
    lines = maker.orders(shop, max(20, scale.lines_per_export // 4), year)
    period = f"{FIRST_ORDER_DAY:%Y%m%d}_{LAST_ORDER_DAY:%Y%m%d}"
    out.csv_export(f"marketplace/shopee/{shop.handle}/Order.all.{period}.csv", SHOPEE, lines)
    out.report.unknown_shops.append(shop.account)


def write_esmart(
    out: MarketplaceLanding,
    shops: dict[str, list[Shop]],
    scale: MarketplaceScale,
    seed: int,
    registry: RegistrySample,
    include_errors: bool,
) -> None:
    """The e-Smart feed: one file per period, every partner's shops interleaved by time."""
    rng = random.Random(f"{seed}/marketplace/esmart")
    partners = [shop for name in ("bukalapak", "blibli", "ralali") for shop in shops[name]]
    chosen = partners[: scale.esmart_shops]
    if include_errors:
        stranger = unknown_shop("bukalapak", "kerajinan_nusa_indah", registry, rng)
        chosen.append(stranger)
        out.report.unknown_shops.append(stranger.account)
    makers = {
        name: OrderMaker(rng, scale.buyers, esmart_order_id(name))
        for name in ("bukalapak", "blibli", "ralali")
    }
    year = Calendar.of(FIRST_ORDER_DAY, LAST_ORDER_DAY)
    per_shop = [shop_lines(scale.esmart_lines // max(1, len(chosen)), rng) for shop in chosen]
    for first, last in periods(scale.esmart_months_per_file):
        calendar = Calendar.of(first, last)

        def period_lines(calendar: Calendar = calendar) -> Iterator[OrderLine]:
            # Shop after shop, as partners compile the feed: nothing is held in memory.
            for shop, total in zip(chosen, per_shop, strict=True):
                share = calendar.share(shop.seasonal) / year.share(shop.seasonal)
                maker = makers[shop.marketplace]
                yield from maker.orders(shop, max(1, round(total * share)), calendar)

        out.jsonl_export(
            f"marketplace/esmart/esmart_orders_{first:%Y%m}_{last:%Y%m}.jsonl", period_lines()
        )


def periods(months: int) -> Iterator[tuple[date, date]]:
    """Consecutive periods of ``months`` months; a shorter tail joins the period before it."""
    starts = [FIRST_ORDER_DAY]
    while (following := month_after(starts[-1], months)) <= LAST_ORDER_DAY:
        starts.append(following)
    if len(starts) > 1 and month_after(starts[-1], months) > month_after(LAST_ORDER_DAY, 1):
        starts.pop()
    ends = [start - timedelta(days=1) for start in starts[1:]] + [LAST_ORDER_DAY]
    yield from zip(starts, ends, strict=True)


def month_after(day: date, months: int) -> date:
    """The first day of the month ``months`` after ``day``'s."""
    year, month = divmod(day.month - 1 + months, 12)
    return date(day.year + year, month + 1, 1)
