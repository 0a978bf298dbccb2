"""The sample registry feeds: deterministic, as messy as promised, valid but for one file.

The files are read back here with a deliberately small reader that knows the sample's own
header spellings, so these tests check the generator and not the production parser.
"""

from __future__ import annotations

import csv
import io
import re
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest

from pipelines.platform.storage import open_storage
from pipelines.reference.regions import RegionResolutionError, load_regions
from pipelines.samples import landing
from pipelines.samples import registry as sample

BOM = b"\xef\xbb\xbf"
HEADER_FIELDS = {
    header: field
    for dialect in sample.REGISTRY_DIALECTS.values()
    for field, header in (*dialect.sentra, *dialect.members)
}
ID_AMOUNT = re.compile(r"\d{1,3}(?:\.\d{3})+,\d{2}")
DAY_FIRST = re.compile(r"\b\d{2}/\d{2}/\d{4}\b")

Row = dict[str, Any]


class Demo:
    """One demo run: its report and the bytes of every file it wrote."""

    def __init__(self, root: Path, report: landing.SampleReport) -> None:
        self.root = root
        self.report = report
        self.data = {key: (root / key).read_bytes() for key in report.files}

    def valid_keys(self) -> list[str]:
        return [k for k in self.report.files if k not in self.report.deliberately_broken]

    def current_keys(self) -> list[str]:
        """The valid files minus the one the resubmission replaces."""
        replaced = {k.replace("_revisi", "") for k in self.report.files if "_revisi" in k}
        return [k for k in self.valid_keys() if k not in replaced]

    def tables(self, key: str) -> dict[str, list[Row]]:
        return read_tables(key, self.data[key])

    def sentra_by_province(self) -> Iterator[tuple[str, str, list[Row]]]:
        """(key, province code from the folder, sentra rows) of every valid sentra file."""
        for key in self.valid_keys():
            rows = self.tables(key).get("sentra")
            if rows:
                yield key, key.split("/")[1][:2], rows


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Demo:
    root = tmp_path_factory.mktemp("demo")
    return Demo(root, landing.write_samples(open_storage(str(root))))


def read_tables(key: str, data: bytes) -> dict[str, list[Row]]:
    """Rows keyed by canonical field, as "sentra" and "members" tables."""
    if key.endswith(".xlsx"):
        return dict(_xlsx_tables(data))
    text = data.decode("utf-8-sig") if data.startswith(BOM) else data.decode("cp1252")
    delimiter = "," if data.startswith(BOM) else ";"
    rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))
    return {_table_kind(rows[0]): _records(rows[0], rows[1:])}


def _xlsx_tables(data: bytes) -> Iterator[tuple[str, list[Row]]]:
    from openpyxl import load_workbook

    workbook = load_workbook(io.BytesIO(data), read_only=True)
    for sheet in workbook.worksheets:
        rows = [list(row) for row in sheet.iter_rows(values_only=True)]
        at = next(i for i, row in enumerate(rows) if sum(v is not None for v in row) >= 4)
        yield _table_kind(rows[at]), _records(rows[at], rows[at + 1 :])


def _table_kind(headers: list[Any]) -> str:
    fields = {HEADER_FIELDS[h] for h in headers}
    return "sentra" if "nama_sentra" in fields else "members"


def _records(headers: list[Any], rows: list[list[Any]]) -> list[Row]:
    fields = [HEADER_FIELDS[h] for h in headers]
    return [dict(zip(fields, row, strict=True)) for row in rows]


def as_float(value: Any) -> float:
    return float(str(value).replace(",", "."))


def as_date(value: Any) -> date:
    if isinstance(value, datetime):
        return value.date()
    text = str(value)
    if DAY_FIRST.fullmatch(text):
        return datetime.strptime(text, "%d/%m/%Y").date()
    return date.fromisoformat(text)


def share(rows: list[Row], test: Callable[[Row], bool]) -> float:
    return sum(1 for row in rows if test(row)) / len(rows)


def problems(row: Row, province_code: str) -> list[str]:
    """What a validator must reject in one sentra row of a file from ``province_code``."""
    regions = load_regions()
    found = []
    try:
        province = regions.resolve_province(row["provinsi"])
        if province.code != province_code:
            found.append("province")
        regions.resolve_regency(row["kabupaten_kota"], province.code)
    except RegionResolutionError:
        found.append("province")
    if int(row["jumlah_ikm"]) < 1:
        found.append("jumlah_ikm")
    if not (-11 <= as_float(row["lintang"]) <= 6 and 95 <= as_float(row["bujur"]) <= 141):
        found.append("coordinates")
    if as_date(row["tanggal_pendataan"]) > sample.ANCHOR_DATE:
        found.append("tanggal_pendataan")
    return found


def test_same_seed_writes_identical_bytes(demo: Demo, tmp_path: Path) -> None:
    again = landing.write_samples(open_storage(str(tmp_path)))

    assert again == demo.report
    for key in demo.report.files:
        assert (tmp_path / key).read_bytes() == demo.data[key], key


def test_another_seed_writes_other_content(demo: Demo, tmp_path: Path) -> None:
    report = landing.write_samples(open_storage(str(tmp_path)), seed=7)

    assert report.files == demo.report.files
    assert all((tmp_path / key).read_bytes() != demo.data[key] for key in report.files)


def test_demo_scale_sizes(demo: Demo) -> None:
    report = demo.report
    provinces = {key.split("/")[1][:2] for key in report.files}

    assert all(key.startswith("registry/") for key in report.files)
    assert len(provinces) == 6
    assert {"34", "35"} <= provinces
    assert 130 <= report.sentra_rows <= 170
    assert 2_500 <= report.member_rows <= 3_500


def test_report_counts_what_the_clean_registry_should_hold(demo: Demo) -> None:
    tables = [demo.tables(key) for key in demo.current_keys()]

    assert sum(len(t.get("sentra", [])) for t in tables) == demo.report.sentra_rows
    assert sum(len(t.get("members", [])) for t in tables) == demo.report.member_rows


def test_one_province_resubmits_the_same_period(demo: Demo) -> None:
    files = demo.report.files
    revised = [key for key in files if "_revisi" in key]
    assert len(revised) == 1
    original = revised[0].replace("_revisi", "")

    # Landed later, so it is the later version (tests/marts/test_scoring.py checks that it wins).
    assert files.index(original) < files.index(revised[0])
    before = {r["id_sentra"]: r for r in demo.tables(original)["sentra"]}
    after = {r["id_sentra"]: r for r in demo.tables(revised[0])["sentra"]}
    assert {r["periode"] for r in before.values()} == {r["periode"] for r in after.values()}
    assert len(after.keys() - before.keys()) == 1
    assert len(before.keys() - after.keys()) == 1
    changed = [i for i in before.keys() & after.keys() if before[i] != after[i]]
    assert 1 <= len(changed) <= 5


def test_without_errors_writes_the_same_files_minus_the_broken_one(
    demo: Demo, tmp_path: Path
) -> None:
    report = landing.write_samples(open_storage(str(tmp_path)), include_errors=False)

    assert report.deliberately_broken == []
    assert report.files == demo.valid_keys()
    assert (report.sentra_rows, report.member_rows) == (
        demo.report.sentra_rows,
        demo.report.member_rows,
    )
    for key in report.files:
        assert (tmp_path / key).read_bytes() == demo.data[key], key


def test_csv_files_are_encoded_and_delimited_as_claimed(demo: Demo) -> None:
    kinds: Counter[str] = Counter()
    for key in (k for k in demo.report.files if k.endswith(".csv")):
        data = demo.data[key]
        if data.startswith(BOM):
            header = data[3:].decode("utf-8").splitlines()[0]
            assert len(header.split(",")) >= 4, key
            kinds["utf-8-bom"] += 1
            continue
        text = data.decode("cp1252")
        if not text.isascii():
            # Windows-1252 curly quotes and dashes are single bytes that UTF-8 rejects.
            with pytest.raises(UnicodeDecodeError):
                data.decode("utf-8")
            kinds["cp1252-non-ascii"] += 1
        assert len(text.split("\r\n")[0].split(";")) >= 4, key
        assert "\r\n" in text and "\n" not in text.replace("\r\n", ""), key
        if "sentra_ikm" in key:
            assert ID_AMOUNT.search(text), key
            assert DAY_FIRST.search(text), key
            kinds["cp1252-sentra"] += 1
        kinds["cp1252-semicolon"] += 1

    assert kinds["utf-8-bom"] >= 2
    assert kinds["cp1252-semicolon"] >= 2
    assert kinds["cp1252-non-ascii"] >= 2
    assert kinds["cp1252-sentra"] >= 1


def test_xlsx_files_have_title_rows_native_cells_and_member_sheets(demo: Demo) -> None:
    from openpyxl import load_workbook

    workbooks = [k for k in demo.report.files if k.endswith(".xlsx")]
    assert workbooks
    for key in workbooks:
        workbook = load_workbook(io.BytesIO(demo.data[key]), read_only=True)
        assert workbook.sheetnames[0] == "Sentra"
        first = next(workbook["Sentra"].iter_rows(max_row=1, values_only=True))
        assert str(first[0]).startswith("DATA SENTRA IKM PROVINSI")
        rows = demo.tables(key)["sentra"]
        assert all(isinstance(r["tanggal_pendataan"], datetime) for r in rows)
        assert any(isinstance(r["nilai_produksi"], int) for r in rows)
    assert any(
        "Anggota IKM" in load_workbook(io.BytesIO(demo.data[k]), read_only=True).sheetnames
        for k in workbooks
    )


def test_valid_files_pass_the_checks_the_validator_makes(demo: Demo) -> None:
    files = list(demo.sentra_by_province())
    found = {
        f"{key} row {number}": problems(row, province_code)
        for key, province_code, rows in files
        for number, row in enumerate(rows, start=1)
    }
    repeated = {
        key: name
        for key, _, rows in files
        for name, count in Counter((r["kabupaten_kota"], r["nama_sentra"]) for r in rows).items()
        if count > 1
    }

    assert len(found) == sum(len(rows) for _, _, rows in files) >= 100
    assert {row: problem for row, problem in found.items() if problem} == {}
    assert repeated == {}


def test_the_broken_file_has_each_problem_once_and_valid_rows_too(demo: Demo) -> None:
    [key] = demo.report.deliberately_broken
    assert key == demo.report.files[-1]
    rows = demo.tables(key)["sentra"]
    found = [problems(row, key.split("/")[1][:2]) for row in rows]

    assert sorted(p for row in found for p in row) == sorted(
        ["province", "jumlah_ikm", "coordinates", "tanggal_pendataan"]
    )
    assert all(len(row) <= 1 for row in found)
    assert sum(not row for row in found) >= 3


def test_members_link_to_their_province_sentra(demo: Demo) -> None:
    ids_by_folder: dict[str, set[str]] = {}
    members_by_folder: dict[str, list[Row]] = {}
    for key in demo.current_keys():
        folder = key.rsplit("/", 1)[0]
        tables = demo.tables(key)
        ids_by_folder.setdefault(folder, set()).update(
            r["id_sentra"] for r in tables.get("sentra", []) if r.get("id_sentra")
        )
        members_by_folder.setdefault(folder, []).extend(tables.get("members", []))
    members = [m for rows in members_by_folder.values() for m in rows]
    online = [m for m in members if m["akun_marketplace"]]

    for folder, rows in members_by_folder.items():
        assert {m["id_sentra"] for m in rows} <= ids_by_folder[folder], folder
    assert 0.4 <= len(online) / len(members) <= 0.6
    assert all(
        re.fullmatch(r"[a-z]+:[a-z0-9_.]+(; [a-z]+:[a-z0-9_.]+)*", m["akun_marketplace"])
        for m in online
    )
    handles = [a for m in online for a in m["akun_marketplace"].split("; ")]
    assert len(handles) == len(set(handles))


def test_content_is_as_messy_as_real_registries(demo: Demo) -> None:
    rows = [row for _, _, table in demo.sentra_by_province() for row in table]
    priority = {"Makanan", "Minuman", "Fashion", "Kerajinan", "Furnitur", "Kosmetik", "Herbal",
                "Perhiasan", "Logam"}  # fmt: skip

    assert 0.01 <= share(rows, lambda r: int(r["jumlah_ikm"]) < 5) <= 0.12
    assert 0.03 <= share(rows, lambda r: str(r["status"]).casefold() != "aktif") <= 0.15
    assert 0.04 <= share(rows, lambda r: as_date(r["tanggal_pendataan"]).year < 2021) <= 0.2
    assert 0.03 <= share(rows, lambda r: r["komoditas"] not in priority) <= 0.2
    assert Counter(r["komoditas"] for r in rows).most_common(1)[0][0] == "Makanan"
    assert any(str(r["nilai_produksi"]).startswith("Rp ") for r in rows)
    regencies = {str(r["kabupaten_kota"]) for r in rows}
    assert any(name.startswith("Kab. ") for name in regencies)
    assert any(name.startswith("Kabupaten ") for name in regencies)
    assert any(name.startswith("KAB. ") for name in regencies)
    assert any(not name.upper().startswith(("KAB", "KOTA")) for name in regencies)
    assert {"DIY", "JATIM"} <= {str(r["provinsi"]) for r in rows}


def test_offices_differ_in_which_columns_they_send(demo: Demo) -> None:
    fields = [set(rows[0]) for _, _, rows in demo.sentra_by_province()]

    assert 1 <= sum("periode" not in f for f in fields) < len(fields) / 2
    assert 1 <= sum("id_sentra" not in f for f in fields) <= 2


def test_every_regency_spelling_resolves_to_its_regency() -> None:
    regions = load_regions()
    spellings = sample._regency_spellings()
    wrong = {
        (form, text): found
        for code, forms in spellings.items()
        for form, text in forms.items()
        if (found := regions.resolve_regency(text, code[:2]).code) != code
    }

    assert len(spellings) == len(regions.regencies)
    assert wrong == {}


def test_an_unknown_scale_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="demo"):
        landing.write_samples(open_storage(str(tmp_path)), scale="provincial")
