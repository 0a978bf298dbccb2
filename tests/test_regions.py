"""Province and regency resolution against the packaged Kemendagri reference data."""

from __future__ import annotations

import pytest

from pipelines.reference.regions import (
    Province,
    Regency,
    RegionDirectory,
    RegionResolutionError,
    load_regions,
    normalise_place_name,
)

REGIONS = load_regions()
ALL_PROVINCES = sorted(REGIONS.provinces.values(), key=lambda p: p.code)
ALL_REGENCIES = sorted(REGIONS.regencies.values(), key=lambda r: r.code)
ISLAND_GROUPS = {
    "Sumatera",
    "Jawa",
    "Bali-Nusa Tenggara",
    "Kalimantan",
    "Sulawesi",
    "Maluku",
    "Papua",
}


def test_all_provinces_and_regencies_load() -> None:
    assert len(REGIONS.provinces) == 38
    assert len(REGIONS.regencies) == 514
    assert {r.province_code for r in ALL_REGENCIES} == set(REGIONS.provinces)


def test_reference_names_are_trimmed() -> None:
    assert REGIONS.regencies["31.72"].name == "Kota Administrasi Jakarta Utara"
    assert all(r.name == r.name.strip() for r in ALL_REGENCIES)


def test_regency_kinds_follow_their_names() -> None:
    assert {r.kind for r in ALL_REGENCIES} == {"kabupaten", "kota"}
    assert REGIONS.regencies["35.07"] == Regency("35.07", "Kabupaten Malang", "35", "kabupaten")
    assert REGIONS.regencies["35.73"].kind == "kota"


def test_island_groups() -> None:
    assert {p.island_group for p in ALL_PROVINCES} == ISLAND_GROUPS
    assert REGIONS.provinces["21"].island_group == "Sumatera"  # Kepulauan Riau
    assert REGIONS.provinces["19"].island_group == "Sumatera"  # Bangka Belitung
    assert REGIONS.provinces["52"].island_group == "Bali-Nusa Tenggara"
    assert REGIONS.provinces["82"].island_group == "Maluku"


@pytest.mark.parametrize(
    ("kemendagri", "bps"),
    [("91", "94"), ("92", "91"), ("93", "95"), ("94", "96"), ("95", "97"), ("96", "92")],
)
def test_papua_bps_codes_differ_from_kemendagri(kemendagri: str, bps: str) -> None:
    assert REGIONS.provinces[kemendagri].bps_code == bps
    assert REGIONS.province_by_bps_code(bps).code == kemendagri


def test_bps_codes_equal_kemendagri_outside_papua() -> None:
    outside = [p for p in ALL_PROVINCES if p.island_group != "Papua"]
    assert len(outside) == 32
    assert all(p.bps_code == p.code for p in outside)


def test_province_by_bps_code_91_is_papua_barat() -> None:
    assert REGIONS.province_by_bps_code("91") == Province("92", "Papua Barat", "91", "Papua")


@pytest.mark.parametrize("bps_code", ["93", "99", ""])
def test_unknown_bps_code_is_an_error(bps_code: str) -> None:
    with pytest.raises(RegionResolutionError, match=f"BPS province code '{bps_code}'"):
        REGIONS.province_by_bps_code(bps_code)


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("DIY", "34"),
        ("D.I. Yogyakarta", "34"),
        ("DI Yogyakarta", "34"),
        ("Daerah Istimewa Yogyakarta", "34"),
        ("Yogyakarta", "34"),
        ("Jogja", "34"),
        ("Jogjakarta", "34"),
        ("Prov. Jawa Timur", "35"),
        ("Prov Jawa Timur", "35"),
        ("Propinsi Jawa Timur", "35"),
        ("JATIM", "35"),
        ("jawa  timur", "35"),
        ("Jawa Timur", "35"),
        ("35", "35"),
        (" 35 ", "35"),
        ("PROVINSI JAWA TENGAH", "33"),
        ("Jabar", "32"),
        ("Kep. Bangka Belitung", "19"),
        ("Babel", "19"),
        ("Bangka Belitung", "19"),
        ("Kepulauan Riau", "21"),
        ("Kep. Riau", "21"),
        ("Kepri", "21"),
        ("Papua Barat Daya", "96"),
        ("Papua Barat", "92"),
        ("Pabar", "92"),
        ("Papua", "91"),
        ("DKI Jakarta", "31"),
        ("D.K.I. Jakarta", "31"),
        ("DKI", "31"),
        ("Jakarta", "31"),
        ("Daerah Khusus Ibukota Jakarta", "31"),
        ("NAD", "11"),
        ("Nanggroe Aceh Darussalam", "11"),
        ("Sumut", "12"),
        ("Sumatra Utara", "12"),
        ("Sumbar", "13"),
        ("Sumsel", "16"),
        ("NTB", "52"),
        ("N.T.T.", "53"),
        ("Kalbar", "61"),
        ("Kalteng", "62"),
        ("Kalsel", "63"),
        ("Kaltim", "64"),
        ("Kaltara", "65"),
        ("Sulut", "71"),
        ("Sulteng", "72"),
        ("Sulsel", "73"),
        ("Sultra", "74"),
        ("Sulbar", "76"),
        ("Malut", "82"),
        ("\uff2a\uff41\uff57\uff41 Timur", "35"),  # full-width "Jawa", folded by NFKC
    ],
)
def test_resolve_province(text: str, code: str) -> None:
    assert REGIONS.resolve_province(text).code == code


@pytest.mark.parametrize("province", ALL_PROVINCES, ids=lambda p: p.code)
def test_every_official_province_name_resolves_to_itself(province: Province) -> None:
    assert REGIONS.resolve_province(province.name) == province
    assert REGIONS.resolve_province(province.code) == province


@pytest.mark.parametrize("text", ["", "   ", None])
def test_empty_province_is_an_error(text: str | None) -> None:
    with pytest.raises(RegionResolutionError, match="province is empty"):
        REGIONS.resolve_province(text)


def test_unknown_province_name_quotes_it_and_suggests() -> None:
    with pytest.raises(RegionResolutionError) as error:
        REGIONS.resolve_province("Jawa Timr")
    message = str(error.value)
    assert "'Jawa Timr'" in message
    assert "Jawa Timur (35)" in message
    assert "province_aliases.csv" in message


@pytest.mark.parametrize("code", ["99", "00", "10"])
def test_unknown_province_code_is_an_error(code: str) -> None:
    with pytest.raises(RegionResolutionError, match=f"province code '{code}'"):
        REGIONS.resolve_province(code)


def test_bps_papua_code_is_not_read_as_kemendagri_code() -> None:
    # "97" is BPS Papua Pegunungan; as a Kemendagri code it is nothing.
    with pytest.raises(RegionResolutionError):
        REGIONS.resolve_province("97")


@pytest.mark.parametrize(
    ("text", "province", "code"),
    [
        ("35.07", "35", "35.07"),
        ("3507", "35", "35.07"),
        ("Kabupaten Malang", "35", "35.07"),
        ("Kota Malang", "35", "35.73"),
        ("Kab. Malang", "35", "35.07"),
        ("Kab Malang", "35", "35.07"),
        ("Kabupaten Malang ", "35", "35.07"),
        ("KAB. MALANG", "35", "35.07"),
        ("Kota Adm. Jakarta Selatan", "31", "31.74"),
        ("Jakarta Selatan", "31", "31.74"),
        ("Kota Administrasi Jakarta Utara", "31", "31.72"),
        ("Kota Jakarta Utara", "31", "31.72"),
        ("Kab. Adm. Kep. Seribu", "31", "31.01"),
        ("Kepulauan Seribu", "31", "31.01"),
        ("Sleman", "34", "34.04"),
        ("Gunung Kidul", "34", "34.03"),
        ("Gunungkidul", "34", "34.03"),
        ("Kab. Gunung Kidul", "34", "34.03"),
        ("Kota Yogyakarta", "34", "34.71"),
        ("Yogyakarta", "34", "34.71"),
        ("Toli-Toli", "72", "72.04"),
        ("Tolitoli", "72", "72.04"),
        ("Kota Baru", "63", "63.02"),  # Kabupaten Kotabaru, not a "Kota" prefix
        ("Kab. Kep. Mentawai", "13", "13.09"),
        ("Kotamadya Surabaya", "35", "35.78"),
        ("Surabaya", "35", "35.78"),
        ("Batu", "35", "35.79"),
    ],
)
def test_resolve_regency(text: str, province: str, code: str) -> None:
    assert REGIONS.resolve_regency(text, province).code == code


@pytest.mark.parametrize("regency", ALL_REGENCIES, ids=lambda r: r.code)
def test_every_official_regency_name_resolves_to_itself(regency: Regency) -> None:
    assert REGIONS.resolve_regency(regency.name, regency.province_code) == regency


@pytest.mark.parametrize(
    ("bare", "province", "kabupaten", "kota"),
    [
        ("Malang", "35", "35.07", "35.73"),
        ("Kediri", "35", "35.06", "35.71"),
        ("Blitar", "35", "35.05", "35.72"),
        ("Bandung", "32", "32.04", "32.73"),
        ("Sorong", "96", "96.01", "96.71"),
    ],
)
def test_bare_name_of_kabupaten_and_kota_is_ambiguous(
    bare: str, province: str, kabupaten: str, kota: str
) -> None:
    with pytest.raises(RegionResolutionError) as error:
        REGIONS.resolve_regency(bare, province)
    message = str(error.value)
    assert "ambiguous" in message
    assert f"Kabupaten {bare} ({kabupaten})" in message
    assert f"Kota {bare} ({kota})" in message
    assert f"'Kab. {bare}'" in message
    assert f"'Kota {bare}'" in message


def test_ambiguity_is_reported_every_time_not_cached_away() -> None:
    for _ in range(3):
        with pytest.raises(RegionResolutionError, match="ambiguous"):
            REGIONS.resolve_regency("Malang", "35")


def test_regency_code_of_another_province_names_both() -> None:
    with pytest.raises(RegionResolutionError) as error:
        REGIONS.resolve_regency("35.07", "34")
    message = str(error.value)
    assert "'35.07'" in message
    assert "Jawa Timur (35)" in message
    assert "Daerah Istimewa Yogyakarta (34)" in message


def test_regency_name_of_another_province_points_there() -> None:
    with pytest.raises(RegionResolutionError, match=r"Kabupaten Sleman \(34\.04\)"):
        REGIONS.resolve_regency("Sleman", "35")


def test_wrong_prefix_is_an_error_with_the_right_one_suggested() -> None:
    with pytest.raises(RegionResolutionError, match=r"did you mean Kabupaten Sleman \(34\.04\)"):
        REGIONS.resolve_regency("Kota Sleman", "34")


def test_misspelt_regency_gets_closest_names() -> None:
    with pytest.raises(RegionResolutionError, match=r"'Slemn'.*closest: Kabupaten Sleman"):
        REGIONS.resolve_regency("Slemn", "34")


@pytest.mark.parametrize("text", ["35.99", "35.1", "351", "35.07.01"])
def test_malformed_or_unknown_regency_code_is_an_error(text: str) -> None:
    with pytest.raises(RegionResolutionError, match=f"regency code '{text}'"):
        REGIONS.resolve_regency(text, "35")


@pytest.mark.parametrize("text", ["", "  ", None])
def test_empty_regency_is_an_error(text: str | None) -> None:
    with pytest.raises(RegionResolutionError, match="regency is empty"):
        REGIONS.resolve_regency(text, "35")


def test_regency_in_unknown_province_is_an_error() -> None:
    with pytest.raises(RegionResolutionError, match="province code 'Jatim'"):
        REGIONS.resolve_regency("Kab. Malang", "Jatim")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("D.I. Yogyakarta", "di yogyakarta"),
        ("Daerah Istimewa Yogyakarta", "di yogyakarta"),
        ("D.K.I. Jakarta", "dki jakarta"),
        ("Daerah Khusus Ibukota Jakarta", "dki jakarta"),
        ("Kab. Kep.  Seribu", "kabupaten kepulauan seribu"),
        ("Kota Adm. Jakarta-Selatan", "kota administrasi jakarta selatan"),
        ("Prov. JAWA\u00a0TIMUR", "provinsi jawa timur"),
    ],
)
def test_normalise_place_name(text: str, expected: str) -> None:
    assert normalise_place_name(text) == expected


def test_load_regions_is_cached() -> None:
    assert load_regions() is REGIONS


def test_alias_that_would_mean_two_provinces_is_refused() -> None:
    provinces = [
        Province("33", "Jawa Tengah", "33", "Jawa"),
        Province("35", "Jawa Timur", "35", "Jawa"),
    ]
    with pytest.raises(ValueError, match="both Jawa Tengah and Jawa Timur"):
        RegionDirectory(provinces, [], [("Jawa Tengah", "35")])


def test_alias_to_unknown_code_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown code '99'"):
        RegionDirectory([], [], [("Atlantis", "99")])
