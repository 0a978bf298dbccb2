"""Province and regency resolution against the packaged Kemendagri reference data."""

from __future__ import annotations

import csv
from collections.abc import Callable
from functools import partial
from importlib.resources import files

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
Region = Province | Regency
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


def test_papua_provinces_have_their_own_bps_codes_both_ways() -> None:
    # Kemendagri code -> BPS code, as BPS renumbered Papua after the 2022 split.
    expected = {"91": "94", "92": "91", "93": "95", "94": "96", "95": "97", "96": "92"}
    papua = [p for p in ALL_PROVINCES if p.island_group == "Papua"]

    assert {p.code: p.bps_code for p in papua} == expected
    assert {REGIONS.province_by_bps_code(bps).code: bps for bps in expected.values()} == expected


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


def outcome(resolve: Callable[[], Region]) -> Region | str:
    """What a resolution gives: the region, or the error's message (so one failure hides none)."""
    try:
        return resolve()
    except RegionResolutionError as error:
        return str(error)


def test_every_official_province_name_and_code_resolves_to_its_province() -> None:
    wrong = {
        text: found
        for province in ALL_PROVINCES
        for text in (province.name, province.code)
        if (found := outcome(partial(REGIONS.resolve_province, text))) != province
    }
    assert len(ALL_PROVINCES) == 38
    assert wrong == {}


def test_every_alias_in_the_reference_table_resolves_to_its_province() -> None:
    # Read here with the csv module, not through the directory that indexes it.
    source = files("pipelines.reference").joinpath("province_aliases.csv").read_text("utf-8")
    aliases = list(csv.DictReader(source.splitlines()))
    wrong = {
        row["alias"]: found
        for row in aliases
        if (found := outcome(partial(REGIONS.resolve_province, row["alias"])))
        != REGIONS.provinces[row["province_code"]]
    }
    assert len(aliases) >= 40
    assert wrong == {}


@pytest.mark.parametrize(
    ("text", "code"),
    [
        pytest.param("Prov. Jawa Timur", "35", id="abbreviated-prefix"),
        pytest.param("Propinsi Jawa Timur", "35", id="old-spelling-of-the-prefix"),
        pytest.param("PROVINSI JAWA TENGAH", "33", id="upper-case-with-prefix"),
        pytest.param("jawa  timur", "35", id="lower-case-and-double-space"),
        pytest.param(" 35 ", "35", id="code-between-spaces"),
        pytest.param("JATIM", "35", id="alias-in-another-case"),
        pytest.param("D.I. Yogyakarta", "34", id="dotted-initials-before-a-name"),
        pytest.param("N.T.T.", "53", id="dotted-initials-only"),
        pytest.param("Daerah Khusus Ibu Kota Jakarta", "31", id="ibu-kota-as-two-words"),
        pytest.param("Kep. Bangka Belitung", "19", id="abbreviated-word-of-the-name"),
        pytest.param("Prov. Sumatra Utara", "12", id="sumatra-for-sumatera"),
        pytest.param("\uff2a\uff41\uff57\uff41 Timur", "35", id="full-width-letters"),
    ],
)
def test_spelling_variants_resolve_to_the_province(text: str, code: str) -> None:
    assert REGIONS.resolve_province(text).code == code


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


def test_every_official_regency_name_and_code_resolves_to_its_regency() -> None:
    wrong = {
        (text, regency.province_code): found
        for regency in ALL_REGENCIES
        for text in (regency.name, regency.code)
        if (found := outcome(partial(REGIONS.resolve_regency, text, regency.province_code)))
        != regency
    }
    assert len(ALL_REGENCIES) == 514
    assert wrong == {}


@pytest.mark.parametrize(
    ("text", "province", "code"),
    [
        pytest.param("3507", "35", "35.07", id="code-without-dot"),
        pytest.param("Kab. Malang", "35", "35.07", id="abbreviated-prefix"),
        pytest.param("KAB. MALANG", "35", "35.07", id="upper-case"),
        pytest.param("Kabupaten Malang ", "35", "35.07", id="trailing-space"),
        pytest.param("Kotamadya Surabaya", "35", "35.78", id="old-kotamadya-prefix"),
        pytest.param("Surabaya", "35", "35.78", id="bare-name-of-a-kota"),
        pytest.param("Sleman", "34", "34.04", id="bare-name-of-a-kabupaten"),
        pytest.param("Yogyakarta", "34", "34.71", id="bare-name-equal-to-the-province"),
        pytest.param("Kota Adm. Jakarta Selatan", "31", "31.74", id="abbreviated-administrasi"),
        pytest.param("Kota Jakarta Utara", "31", "31.72", id="administrasi-left-out"),
        pytest.param("Jakarta Selatan", "31", "31.74", id="bare-administrative-city"),
        pytest.param("Kab. Adm. Kep. Seribu", "31", "31.01", id="three-abbreviations"),
        pytest.param("Kepulauan Seribu", "31", "31.01", id="bare-administrative-regency"),
        pytest.param("Kab. Kep. Mentawai", "13", "13.09", id="abbreviated-kepulauan"),
        pytest.param("Gunung Kidul", "34", "34.03", id="one-word-written-as-two"),
        pytest.param("Kab. Gunung Kidul", "34", "34.03", id="prefix-and-two-words"),
        pytest.param("Tolitoli", "72", "72.04", id="hyphen-left-out"),
        pytest.param("Kota Baru", "63", "63.02", id="kota-in-the-name-not-a-prefix"),
    ],
)
def test_spelling_variants_resolve_to_the_regency(text: str, province: str, code: str) -> None:
    assert REGIONS.resolve_regency(text, province).code == code


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
