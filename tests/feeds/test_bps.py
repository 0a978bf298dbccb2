"""The BPS feed against a local server speaking the BPS Web API, and landed responses."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from pipelines.app.cli import app
from pipelines.feeds.bps import api, decode, discovery, tables
from pipelines.feeds.bps import pull as pull_module
from pipelines.feeds.bps.client import BpsApiError, BpsClient
from pipelines.ingest.engine import Ingestor
from pipelines.lake.ledger import Ledger
from pipelines.marts.publish import build_and_publish
from pipelines.platform.duckdb import connect
from pipelines.platform.settings import Settings
from pipelines.samples.bps import SAMPLE_TABLES, bps_sample_files, encode
from tests.bps_server import FIXTURES, FakeBps, responses_by_table, serving

KEY = "sekret-Key-4f1c9e0b7a"
SEED = 20261128
SAMPLE = dict(bps_sample_files(SEED))
CONFIG = tables.load_config()
YOY, QTQ = CONFIG.tables
YOY_VAR, QTQ_VAR = (table.var for table in SAMPLE_TABLES)
DIY_YOY = f"bps/var-{YOY_VAR}/domain-3400.json"
NATIONAL_YOY = f"bps/var-{YOY_VAR}/domain-0000.json"
NATIONAL_QTQ = f"bps/var-{QTQ_VAR}/domain-0000.json"
DIY_WHERE = tables.describe(YOY_VAR, "yoy", "3400")


@pytest.fixture
def fake() -> Iterator[FakeBps]:
    with serving(FakeBps(key=KEY, responses=responses_by_table(SAMPLE))) as server:
        yield server


def small_config(
    *domains: str, measures: tuple[tables.BpsTable, ...] = (YOY, QTQ), **pins: Any
) -> tables.TableConfig:
    """The configured tables with ``domains`` pinned (few, to keep validation time down)."""
    pinned = tuple(table.model_copy(update={"domains": domains, **pins}) for table in measures)
    return CONFIG.model_copy(update={"tables": pinned})


def client(fake: FakeBps, key: str = KEY, **options: Any) -> BpsClient:
    return BpsClient(fake.base_url, key, **{"backoff_factor": 0.0, **options})


def release(key: str, data: bytes | None = None) -> decode.Release:
    found = decode.release_from_landed(key, SAMPLE[key] if data is None else data)
    assert found is not None
    return found


def rows_by(
    decoded: decode.Decoded, province: str, year: int, quarter: int | None
) -> dict[str, Any]:
    [row] = [
        r
        for r in decoded.rows
        if (r.get("province_code"), r["year"], r["quarter"]) == (province, year, quarter)
    ]
    return row


def document(key: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(SAMPLE[key])
    return loaded


def query(warehouse: Path, sql: str) -> list[tuple[Any, ...]]:
    con = connect(warehouse, read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def lake_bytes(settings: Settings) -> dict[str, bytes]:
    store = settings.lake_store
    return {obj.key: store.read_bytes(obj.key) for obj in store.list()}


# --- decoding the real format ---------------------------------------------------------------


def test_decodes_published_figures_from_variable_length_keys() -> None:
    national = decode.decode(release(NATIONAL_YOY))
    diy = decode.decode(release(DIY_YOY))
    qtq = decode.decode(release(NATIONAL_QTQ))

    assert rows_by(national, "00", 2017, 4)["growth_pct"] == 4.59
    assert rows_by(national, "34", 2017, 4)["growth_pct"] == 17.28
    assert rows_by(diy, "34", 2017, 4)["growth_pct"] == 17.28
    assert rows_by(qtq, "00", 2017, 3)["growth_pct"] == 0.66
    # 9999 + 1053 + 0 + 117 + 4 and 3400 + ... + 13: lengths vary within one response.
    assert rows_by(national, "00", 2017, 4)["source_sheet"] == "datacontent[9999105301174]"
    assert rows_by(diy, "34", 2017, None)["source_sheet"] == "datacontent[34001053011713]"
    assert rows_by(qtq, "34", 2017, 4)["source_sheet"] == "datacontent[341054011734]"
    assert not national.problems and not diy.problems and not qtq.problems


def test_periods_come_from_turtahun_labels_and_html_is_stripped() -> None:
    decoded = decode.decode(release(DIY_YOY))
    labels = {(r["quarter"], r["period_label"]) for r in decoded.rows}

    assert labels == {
        (1, "Triwulan I"),
        (2, "Triwulan II"),
        (3, "Triwulan III"),
        (4, "Triwulan IV"),
        (None, "Tahunan"),
    }
    assert {r["region_label"] for r in decoded.rows} == {"DI YOGYAKARTA"}
    assert b"<b>DI YOGYAKARTA<\\/b>" in SAMPLE[DIY_YOY]


def test_a_missing_cell_is_missing_not_zero() -> None:
    doc = document(DIY_YOY)
    cell = "3400105301171"
    del doc["datacontent"][cell]

    decoded = decode.decode(release(DIY_YOY, encode(doc)))

    row = rows_by(decoded, "34", 2017, 1)
    assert row["growth_pct"] is None
    assert row["source_sheet"] == f"datacontent[{cell}]"
    assert sum(r["growth_pct"] is None for r in decoded.rows) >= 1


def test_values_written_as_text_marks_and_decimal_commas() -> None:
    assert decode.cell_value("14,45") == 14.45
    assert decode.cell_value(" -2.06 ") == -2.06
    assert decode.cell_value("-") is None
    assert decode.cell_value("") is None
    assert decode.cell_value(None) is None
    with pytest.raises(ValueError, match="not a number"):
        decode.cell_value("naik")


def test_papua_codes_go_through_the_period_aware_crosswalk() -> None:
    national = decode.decode(release(NATIONAL_YOY))

    papua_2022 = rows_by(national, "91", 2022, 4)
    papua_2023 = rows_by(national, "91", 2023, 4)
    pegunungan = [r for r in national.rows if r.get("province_code") == "95"]
    assert papua_2022["bps_province_code"] == "94"
    assert "before the 2022 split" in papua_2022["territory_note"]
    assert papua_2023["territory_note"] is None
    assert rows_by(national, "92", 2020, 1)["bps_province_code"] == "91"  # BPS 91 = Papua Barat
    assert {r["bps_province_code"] for r in pegunungan} == {"97"}
    # Papua Pegunungan did not exist in BPS numbering before 2023: no rows, not null rows.
    assert min(r["year"] for r in pegunungan) == 2023


def test_a_figure_for_a_province_before_it_existed_is_a_problem() -> None:
    doc = document(NATIONAL_YOY)
    doc["datacontent"]["9700105301201"] = 3.1  # Papua Pegunungan, 2020 Q1

    decoded = decode.decode(release(NATIONAL_YOY, encode(doc)))

    [issue] = decoded.problems
    assert issue.column == "vervar"
    assert "97" in issue.problem and "2020" in issue.problem


def test_national_and_regional_ids_in_both_styles() -> None:
    assert decode.bps_province_code("9999", "INDONESIA", "0000") == "00"
    assert decode.bps_province_code("3400", "DI YOGYAKARTA", "0000") == "34"
    assert decode.bps_province_code("34", "DI YOGYAKARTA", "0000") == "34"
    assert decode.bps_province_code("0", "Tidak Ada", "9400") == "94"
    with pytest.raises(LookupError, match="not a province"):
        decode.bps_province_code("3471", "KOTA YOGYAKARTA", "3400")
    with pytest.raises(tables.NotYetNumbered, match="2020"):
        tables.load_crosswalk().resolve("95", 2020)
    assert tables.load_crosswalk().resolve("95", 2024).province_code == "93"


def test_ambiguous_and_stray_keys_are_refused() -> None:
    doc = document(DIY_YOY)
    # Year 117 with period 11 and year 1171 with period 1 both give ...0117 11: one key.
    doc["tahun"] = [{"val": 117, "label": "2017"}, {"val": 1171, "label": "3071"}]
    doc["turtahun"] = [{"val": 1, "label": "Triwulan I"}, {"val": 11, "label": "Tahunan"}]
    with pytest.raises(api.BpsResponseError, match="ambiguous"):
        decode.decode(release(DIY_YOY, encode(doc)))

    doc = document(DIY_YOY)
    doc["datacontent"]["77777"] = 1.0
    with pytest.raises(api.BpsResponseError, match="match no combination"):
        decode.decode(release(DIY_YOY, encode(doc)))


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b'{"status":"Error","message":"Invalid or expired key"}', "answered with an error"),
        (b"<html><body>Sedang dalam pemeliharaan</body></html>", "not JSON"),
        (b'{"status":"OK","data-availability":"available"}', "no 'var' list"),
        (
            b'{"status":"OK","var":[{"val":1053,"label":"Indeks Produksi IMK Menurut Provinsi"}]}',
            "fits none of the tables",
        ),
    ],
)
def test_unreadable_answers_name_table_and_domain(body: bytes, message: str) -> None:
    with pytest.raises(api.BpsResponseError, match=message) as error:
        decode.decode(release(DIY_YOY, body))
    assert f"var {YOY_VAR}" in str(error.value) and "domain 3400" in str(error.value)


def test_not_available_is_no_release() -> None:
    key = f"bps/var-{QTQ_VAR}/domain-9700.json"

    assert json.loads(SAMPLE[key])["data"] == ""
    assert decode.release_from_landed(key, SAMPLE[key]) is None


def test_a_response_in_the_documented_format_decodes_to_its_figures() -> None:
    data = (FIXTURES / "data-var-1053-domain-0000.json").read_bytes()
    found = decode.release_from_landed("bps-api/var-1053/domain-0000.json", data)
    assert found is not None
    decoded = decode.decode(found)
    by_cell = {
        (r["bps_province_code"], r["year"], r["quarter"]): (r["province_code"], r["growth_pct"])
        for r in decoded.rows
    }

    assert found.table == YOY and not decoded.problems
    assert by_cell[("00", 2023, 4)] == ("00", 4.4)
    assert by_cell[("94", 2022, 3)] == ("91", 10.4)  # BPS 94 is Kemendagri's Papua (91)
    assert by_cell[("91", 2023, 3)] == ("92", 0.95)  # BPS 91 is Papua Barat (92)
    assert by_cell[("92", 2023, 4)] == ("96", 7.01)  # Papua Barat Daya
    assert by_cell[("97", 2023, 3)] == ("95", 15.2)  # Papua Pegunungan
    assert by_cell[("11", 2023, 4)] == ("11", None)  # no cell: missing, not zero
    assert ("97", 2022, 3) not in by_cell  # no province yet: no row
    assert len(decoded.rows) == 2 * 2 * 4 + 2 * 2


def test_a_region_label_naming_another_province_than_the_crosswalk_is_a_problem() -> None:
    doc = document(NATIONAL_YOY)
    [papua] = [item for item in doc["vervar"] if item["val"] == 9400]
    papua["label"] = "PAPUA BARAT"  # as if BPS 94 were Papua Barat, not Papua

    decoded = decode.decode(release(NATIONAL_YOY, encode(doc)))

    assert decoded.problems
    assert {p.sheet[len("datacontent[") :][:4] for p in decoded.problems} == {"9400"}
    assert all("bps_province_crosswalk.csv maps BPS code 94" in p.problem for p in decoded.problems)


# --- table configuration --------------------------------------------------------------------

TABLE = "tables:\n - {measure: yoy, title_contains: [a]"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (f"search: {{subject: s}}\n{TABLE}, domains: [0000]}}", "quoted 4-digit"),
        (f"search: {{subject: s}}\n{TABLE}}}\n - {{measure: yoy, title_contains: [b]}}", "twice"),
        (
            f"search: {{subject: s}}\n{TABLE}, var: 7}}\n"
            " - {measure: qtq, title_contains: [b], var: 7}",
            "pinned for two",
        ),
        ("search: {subject: s}\ntables:\n - {measure: mtm, title_contains: [a]}", "measure"),
        (f"search: {{subject: s}}\n{TABLE}, colour: red}}", "colour"),
        (f"search: {{subject: s}}\n{TABLE}, domains: ['9900']}}", "9900"),
        ("search: {subject: s}\ntables:\n - {measure: yoy, title_contains: []}", "at least 1"),
        (f"{TABLE}}}", "search"),
    ],
)
def test_a_bad_table_configuration_is_refused_clearly(
    tmp_path: Path, text: str, message: str
) -> None:
    path = tmp_path / "tables.yaml"
    path.write_text(text)

    with pytest.raises(tables.BpsConfigError, match=message):
        tables.load_config(path)


def test_titles_match_without_case_html_or_punctuation() -> None:
    assert YOY.matches(
        "PERTUMBUHAN PRODUKSI IMK... Mikro dan Kecil, menurut Provinsi <b>(Y-on-Y)</b>"
    )
    assert not YOY.matches("Pertumbuhan Produksi Mikro dan Kecil Menurut Provinsi (Q-to-Q)")
    # Phrases are whole words: "provinsi" is not found inside "provinsinya".
    assert not YOY.matches("Pertumbuhan Produksi Mikro dan Kecil Provinsinya (y-on-y)")


# --- discovery ------------------------------------------------------------------------------


def test_tables_are_found_by_title_and_domains_mapped_by_name(fake: FakeBps) -> None:
    with client(fake) as bps:
        found = discovery.discover(bps, CONFIG)

    assert [(t.table.measure, t.var) for t in found.tables] == [("yoy", 1053), ("qtq", 1054)]
    assert found.tables[0].title.endswith("Menurut Provinsi (Y-on-Y)")  # the HTML is gone
    assert (found.subject_id, found.subject) == (170, "Industri Mikro dan Kecil")
    kemendagri = {p.domain: p.province_code for p in found.provinces}
    assert len(kemendagri) == 38 and found.tables[0].domains == ("0000", *sorted(kemendagri))
    papua = {d: kemendagri[d] for d in ("9100", "9200", "9400", "9500", "9600", "9700")}
    assert papua == {
        "9100": "92",
        "9200": "96",
        "9400": "91",
        "9500": "93",
        "9600": "94",
        "9700": "95",
    }
    assert kemendagri["3400"] == "34" and kemendagri["1900"] == "19"  # "Kep. Bangka Belitung"


def test_a_pinned_var_chooses_among_fitting_titles(fake: FakeBps) -> None:
    fake.variables.append({**fake.variables[0], "var_id": 2001})

    with client(fake) as bps:
        found = discovery.discover(bps, small_config(measures=(YOY,), var=2001))

    assert [t.var for t in found.tables] == [2001]


@pytest.mark.parametrize(
    ("change", "pins", "message", "named"),
    [
        ("drop q-to-q", {}, "q-to-q table .* is not in subject", ["1053", "1055", "1057"]),
        ("second y-on-y", {}, "y-on-y table .* is ambiguous", ["1053", "2001"]),
        ("none", {"var": 1055}, "pins var 1055", ["1053"]),
        (
            "no subject",
            {},
            "no subject of BPS domain 0000 is titled",
            ["Industri Besar dan Sedang"],
        ),
    ],
)
def test_a_missing_ambiguous_or_contradicted_table_stops_the_pull_naming_candidates(
    settings: Settings,
    fake: FakeBps,
    change: str,
    pins: dict[str, Any],
    message: str,
    named: list[str],
) -> None:
    if change == "drop q-to-q":
        fake.variables = [v for v in fake.variables if v["var_id"] != 1054]
    if change == "second y-on-y":
        fake.variables.append({**fake.variables[0], "var_id": 2001})
    if change == "no subject":
        fake.subjects = [s for s in fake.subjects if s["sub_id"] != 170]
    pinned = tuple(table.model_copy(update=pins) for table in (YOY, QTQ)) if pins else None
    config = CONFIG.model_copy(update={"tables": pinned}) if pinned else CONFIG

    with pytest.raises(discovery.BpsDiscoveryError, match=message) as error:
        list(pull_module.pulled_releases(settings, client=client(fake), config=config))

    assert all(name in str(error.value) for name in named)
    assert not [path for path in fake.requests if "/list/model/data/" in path]


@pytest.mark.parametrize(
    ("names", "repeated", "message"),
    [
        # BPS calling 9100 Papua and 9400 Papua Barat contradicts the crosswalk (94 is Papua).
        ({"9100": "Papua", "9400": "Papua Barat"}, None, "domain 9100 is 'Papua', Kemendagri 91"),
        ({"9100": "Irian Jaya Tengah"}, None, "9100 as 'Irian Jaya Tengah', which names no"),
        ({}, "<b>Papua Barat Daya</b>", "9200 .* and 9200 .* both name Papua Barat Daya"),
    ],
)
def test_province_domains_a_name_cannot_place_stop_discovery(
    fake: FakeBps, names: dict[str, str], repeated: str | None, message: str
) -> None:
    for item in fake.domains:
        item["domain_name"] = names.get(item["domain_id"], item["domain_name"])
    if repeated:  # the same domain on two pages, under another spelling
        fake.domains.append({"domain_id": "9200", "domain_name": repeated, "domain_url": ""})

    with client(fake) as bps, pytest.raises(discovery.BpsDiscoveryError, match=message):
        discovery.province_domains(bps)


# --- the HTTP client ------------------------------------------------------------------------


def test_list_pagination_is_followed(fake: FakeBps) -> None:
    with client(fake) as bps:
        domains = {found.domain for found in discovery.province_domains(bps)}

    assert len(domains) == 38 and "9700" in domains
    pages = [path for path in fake.requests if "/domain/type/prov" in path]
    assert len(pages) == 4
    assert "/page/4/" in pages[-1]


def test_5xx_answers_are_retried_until_the_response_comes(fake: FakeBps) -> None:
    fake.script[(str(YOY_VAR), "3400")] = [(503, b"busy", 0.0), (502, b"bad gateway", 0.0)]

    with client(fake) as bps:
        body = bps.fetch_data("3400", YOY_VAR, None, DIY_WHERE)

    assert body == SAMPLE[DIY_YOY]
    assert fake.data_requests(YOY_VAR, "3400") == 3


def test_a_persistent_5xx_fails_naming_table_and_domain(fake: FakeBps) -> None:
    fake.script[(str(YOY_VAR), "3400")] = [(500, b"oops", 0.0)] * 3

    with client(fake, retries=2) as bps, pytest.raises(BpsApiError) as error:
        bps.fetch_data("3400", YOY_VAR, None, DIY_WHERE)

    assert "HTTP 500" in str(error.value)
    assert f"var {YOY_VAR}" in str(error.value) and "domain 3400" in str(error.value)
    assert KEY not in str(error.value) and "/key/***/" in str(error.value)


def test_timeouts_are_retried_then_reported(
    fake: FakeBps, caplog: pytest.LogCaptureFixture
) -> None:
    fake.script[(str(YOY_VAR), "3400")] = [(200, SAMPLE[DIY_YOY], 1.0)] * 2
    caplog.set_level(logging.DEBUG)

    with client(fake, timeout=0.1, retries=1) as bps, pytest.raises(BpsApiError) as error:
        bps.fetch_data("3400", YOY_VAR, None, DIY_WHERE)

    assert "no answer" in str(error.value) and "domain 3400" in str(error.value)
    assert fake.data_requests(YOY_VAR, "3400") == 2  # the first try and one retry
    assert KEY not in str(error.value) and KEY not in caplog.text
    assert error.value.__cause__ is None and error.value.__suppress_context__


def test_redact_hides_the_key_in_urls_and_text() -> None:
    url = f"https://webapi.bps.go.id/v1/api/list/model/data/domain/0000/var/1/key/{KEY}/"

    assert api.redact(url) == (
        "https://webapi.bps.go.id/v1/api/list/model/data/domain/0000/var/1/key/***/"
    )
    assert api.redact(f"key={KEY}", KEY) == "key=***"


# --- pulling through the ingest -------------------------------------------------------------


def pull(
    settings: Settings,
    fake: FakeBps,
    *domains: str,
    measures: tuple[tables.BpsTable, ...] = (YOY, QTQ),
) -> Any:
    """Pull ``domains`` of the ``measures`` tables from the fake, through the ingest."""
    config = small_config(*domains, measures=measures)
    releases = pull_module.pulled_releases(settings, client=client(fake), config=config)
    return Ingestor(settings).ingest_pulled(releases)


def test_pulling_twice_changes_nothing(settings: Settings, fake: FakeBps) -> None:
    first = pull(settings, fake, "3400", "9700")
    snapshot = lake_bytes(settings)
    second = pull(settings, fake, "3400", "9700")

    assert [o.status for o in first.outcomes] == ["ingested"] * 4
    assert [o.status for o in second.outcomes] == ["skipped"] * 4
    assert lake_bytes(settings) == snapshot
    records = Ledger(settings.lake_store).latest_records("bps")
    assert len(records) == 4 and {r.status for r in records} == {"ingested"}
    assert {r.original_name for r in records} == {
        f"bps-api/var-{var}/domain-{d}.json" for var in (YOY_VAR, QTQ_VAR) for d in ("3400", "9700")
    }
    assert {r.raw_key for r in records} == {f"raw/bps/{r.sha256}.json" for r in records}
    not_available = [r for r in records if r.original_name.endswith(f"{QTQ_VAR}/domain-9700.json")]
    assert not_available[0].rows_in == 0 and not_available[0].outputs == []


def test_a_new_release_is_a_new_record_and_wins_in_the_marts(
    settings: Settings, fake: FakeBps
) -> None:
    first = pull(settings, fake, "3400", measures=(YOY,))
    revised = document(DIY_YOY)
    revised["datacontent"]["3400105301174"] = 17.5  # BPS revises DIY 2017 Q4
    fake.responses[(str(YOY_VAR), "3400")] = encode(revised)

    again = pull(settings, fake, "3400", measures=(YOY,))
    build_and_publish(settings, "run-bps")

    assert [o.status for o in first.outcomes + again.outcomes] == ["ingested", "ingested"]
    assert len(Ledger(settings.lake_store).latest_records("bps")) == 2
    rows = query(
        settings.warehouse_path,
        "select yoy_growth_pct, yoy_source_sha256 from marts.fct_imk_growth "
        "where province_code = '34' and year = 2017 and quarter = 4",
    )
    assert rows == [(17.5, again.outcomes[0].sha256)]


def test_error_answers_and_non_json_fail_the_pull_and_land_nothing(
    settings: Settings, fake: FakeBps
) -> None:
    fake.script[(str(YOY_VAR), "3400")] = [(200, b"<html>Bad Gateway</html>", 0.0)]
    fake.script[(str(QTQ_VAR), "3400")] = [(200, b'{"status":"Error","message":"quota"}', 0.0)]

    summary = pull(settings, fake, "3400")

    assert [o.status for o in summary.outcomes] == ["failed", "failed"]
    assert summary.exit_code == 1
    assert "not JSON" in summary.outcomes[0].message
    assert "BPS answered with an error: quota" in summary.outcomes[1].message
    assert f"var {QTQ_VAR} (q-to-q), domain 3400" in summary.outcomes[1].message
    assert Ledger(settings.lake_store).latest_records() == []


def test_a_pinned_domain_bps_does_not_list_stops_the_pull(
    settings: Settings, fake: FakeBps
) -> None:
    # As if BPS numbered Papua Pegunungan otherwise than 9700.
    fake.domains = [d for d in fake.domains if d["domain_id"] != "9700"]

    with pytest.raises(discovery.BpsDiscoveryError, match="pins domains 9700, which BPS does"):
        pull(settings, fake, "3400", "9700", measures=(YOY,))

    assert not [path for path in fake.requests if "/list/model/data/" in path]


def test_a_wrong_key_never_reaches_logs_ledger_or_lake(
    settings: Settings, fake: FakeBps, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    wrong = "wrong-Key-123456789"
    releases = pull_module.pulled_releases(
        settings, client=client(fake, wrong), config=small_config("3400")
    )

    with pytest.raises(api.BpsResponseError, match="Invalid or expired key") as error:
        Ingestor(settings).ingest_pulled(releases)

    everything = caplog.text + str(error.value)
    everything += "".join(data.decode("latin-1") for data in lake_bytes(settings).values())
    assert wrong not in everything
    assert "/key/***/" in caplog.text  # urllib3 did log the URLs, redacted


# --- landed responses through the normal ingest ---------------------------------------------


def land(settings: Settings, key: str, data: bytes) -> None:
    settings.landing_store.write_bytes(key, data)


def test_a_landed_error_answer_is_quarantined_with_a_readable_report(settings: Settings) -> None:
    land(settings, DIY_YOY, b'{"status":"Error","message":"Invalid or expired key"}')

    [outcome] = Ingestor(settings).run().outcomes

    assert outcome.status == "quarantined"
    assert f"BPS table var {YOY_VAR}, domain 3400" in outcome.message
    [record] = Ledger(settings.lake_store).latest_records("bps")
    report = json.loads(settings.lake_store.read_bytes(record.report_key or ""))
    assert "Invalid or expired key" in report["file_error"]


def test_implausible_and_duplicate_figures_are_quarantined(settings: Settings) -> None:
    doc = document(DIY_YOY)
    doc["datacontent"]["3400105301174"] = 512.0
    # The same province twice, once as 3400 and once as 34: two figures per period.
    doc["vervar"].append({"val": 34, "label": "DI YOGYAKARTA"})
    doc["datacontent"]["34105301174"] = 17.28
    land(settings, DIY_YOY, encode(doc))

    [outcome] = Ingestor(settings).run().outcomes

    assert outcome.status == "quarantined"
    assert "growth_plausible (1 rows)" in outcome.message
    assert "one_figure_per_period" in outcome.message


def use_fake_from_the_cli(fake: FakeBps, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    for name, value in {
        "SENTRA_LANDING": "data/landing",
        "SENTRA_LAKE": "data/lake",
        "SENTRA_WAREHOUSE": "data/warehouse/sentra.duckdb",
        "SENTRA_AS_OF": "2026-06-30",
        "SENTRA_BPS_API_URL": fake.base_url,
        "SENTRA_BPS_API_KEY": KEY,
    }.items():
        monkeypatch.setenv(name, value)


def test_sentra_bps_tables_shows_ids_titles_and_kemendagri_codes(
    fake: FakeBps, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_fake_from_the_cli(fake, tmp_path, monkeypatch)

    result = CliRunner().invoke(app, ["bps", "tables"])

    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert [line.split("│")[2].strip() for line in lines if "│ y-on-y" in line] == ["1053"]
    assert "(Y-on-Y)" in result.output and "<b>" not in result.output  # titles wrap in cells
    [papua] = [line for line in lines if "│ 9400" in line]
    assert papua.split("│")[3].strip() == "91"  # BPS 9400 Papua is Kemendagri 91
    assert not [path for path in fake.requests if "/list/model/data/" in path]


def test_sentra_bps_tables_names_the_candidates_of_a_missing_table(
    fake: FakeBps, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_fake_from_the_cli(fake, tmp_path, monkeypatch)
    fake.variables = [v for v in fake.variables if v["var_id"] != 1054]

    result = CliRunner().invoke(app, ["bps", "tables"])

    assert result.exit_code == 2
    assert "q-to-q table" in result.output and "1055" in result.output


def test_the_cli_pulls_builds_and_pulls_again_without_change(
    fake: FakeBps, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_fake_from_the_cli(fake, tmp_path, monkeypatch)
    runner = CliRunner()

    pulled = runner.invoke(app, ["ingest", "bps"])
    built = runner.invoke(app, ["build"])
    again = runner.invoke(app, ["ingest", "bps"])

    assert pulled.exit_code == 0, pulled.output
    assert built.exit_code == 0, built.output
    assert again.exit_code == 0 and "ingested" not in again.output.split("Ingest run")[1]
    assert fake.data_requests(YOY_VAR, "3400") == 2
    warehouse = tmp_path / "data" / "warehouse" / "sentra.duckdb"
    national = query(
        warehouse,
        "select yoy_growth_pct, qtq_growth_pct, region_level, yoy_bps_var_id "
        "from marts.fct_imk_growth where province_code = '00' and year = 2017 and quarter = 3",
    )
    provinces = query(
        warehouse,
        "select count(distinct province_code) from marts.fct_imk_growth "
        "where region_level = 'provinsi'",
    )
    assert national == [(5.34, 0.66, "nasional", YOY_VAR)]
    assert provinces == [(38,)]
    lake = tmp_path / "data" / "lake"
    assert not any(KEY.encode() in path.read_bytes() for path in lake.rglob("*") if path.is_file())


def test_cli_refuses_a_pull_without_a_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("SENTRA_BPS_API_KEY", raising=False)

    result = CliRunner().invoke(app, ["ingest", "bps"])

    assert result.exit_code == 2
    assert "SENTRA_BPS_API_KEY is not set" in result.output


def test_marts_build_without_any_bps_data(settings: Settings) -> None:
    build_and_publish(settings, "run-empty")

    columns = [c[0] for c in query(settings.warehouse_path, "describe marts.fct_imk_growth")]
    assert query(settings.warehouse_path, "select count(*) from marts.fct_imk_growth") == [(0,)]
    assert columns[:8] == [
        "province_code",
        "province_name",
        "region_level",
        "bps_province_code",
        "year",
        "quarter",
        "yoy_growth_pct",
        "qtq_growth_pct",
    ]


# --- the sample -----------------------------------------------------------------------------


def test_the_sample_is_deterministic_and_seeded() -> None:
    again = dict(bps_sample_files(SEED))
    other = dict(bps_sample_files(7))

    assert again == SAMPLE
    assert other.keys() == SAMPLE.keys()
    changed = [key for key in SAMPLE if other[key] != SAMPLE[key]]
    # Only the not-available answer is the same whatever the seed.
    assert changed == [key for key in SAMPLE if not key.endswith(f"{QTQ_VAR}/domain-9700.json")]


def test_the_sample_has_the_messes_of_real_responses() -> None:
    national = document(NATIONAL_YOY)
    decoded = decode.decode(release(NATIONAL_YOY))
    growth = [r["growth_pct"] for r in decoded.rows if r["region_level"] == "provinsi"]
    nation = [r["growth_pct"] for r in decoded.rows if r["region_level"] == "nasional"]

    assert set(national) == {
        "status", "data-availability", "var", "turvar", "labelvervar", "vervar", "tahun",
        "turtahun", "datacontent",
    }  # fmt: skip
    assert any("<b>" in item["label"] for item in national["vervar"])
    assert 0 < growth.count(None) < len(growth) * 0.05  # a few empty cells
    assert all(-5 <= value <= 10 for value in nation if value is not None)
    assert min(g for g in growth if g is not None) < -5 and max(g for g in growth if g) > 10
    assert len({r["province_code"] for r in decoded.rows}) == 39
