"""The BPS feed against a local server speaking the BPS Web API, and landed responses."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from pipelines.app.cli import app
from pipelines.feeds.bps import feed as bps
from pipelines.ingest.engine import Ingestor
from pipelines.lake.ledger import Ledger
from pipelines.marts.build import build_and_publish
from pipelines.platform.duckdb import connect
from pipelines.platform.settings import Settings
from pipelines.samples.bps import bps_sample_files, encode
from tests.bps_server import FakeBps, responses_by_table, serving

KEY = "sekret-Key-4f1c9e0b7a"
SEED = 20261128
SAMPLE = dict(bps_sample_files(SEED))
YOY, QTQ = (table for table in bps.load_tables())
DIY_YOY = f"bps/var-{YOY.var}/domain-3400.json"
NATIONAL_YOY = f"bps/var-{YOY.var}/domain-0000.json"
NATIONAL_QTQ = f"bps/var-{QTQ.var}/domain-0000.json"


@pytest.fixture
def fake() -> Iterator[FakeBps]:
    with serving(FakeBps(key=KEY, responses=responses_by_table(SAMPLE))) as server:
        yield server


def small_tables(*domains: str, tables: tuple[bps.BpsTable, ...] = (YOY, QTQ)) -> Any:
    return tuple(table.model_copy(update={"domains": domains}) for table in tables)


def client(fake: FakeBps, **options: Any) -> bps.BpsClient:
    return bps.BpsClient(fake.base_url, KEY, **{"backoff_factor": 0.0, **options})


def release(key: str, data: bytes | None = None) -> bps.Release:
    return bps.release_from_landed(key, SAMPLE[key] if data is None else data)


def rows_by(decoded: bps.Decoded, province: str, year: int, quarter: int | None) -> dict[str, Any]:
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
    national = bps.decode(release(NATIONAL_YOY))
    diy = bps.decode(release(DIY_YOY))
    qtq = bps.decode(release(NATIONAL_QTQ))

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
    decoded = bps.decode(release(DIY_YOY))
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

    decoded = bps.decode(release(DIY_YOY, encode(doc)))

    row = rows_by(decoded, "34", 2017, 1)
    assert row["growth_pct"] is None
    assert row["source_sheet"] == f"datacontent[{cell}]"
    assert sum(r["growth_pct"] is None for r in decoded.rows) >= 1


def test_values_written_as_text_marks_and_decimal_commas() -> None:
    assert bps.cell_value("14,45") == 14.45
    assert bps.cell_value(" -2.06 ") == -2.06
    assert bps.cell_value("-") is None
    assert bps.cell_value("") is None
    assert bps.cell_value(None) is None
    with pytest.raises(ValueError, match="not a number"):
        bps.cell_value("naik")


def test_papua_codes_go_through_the_period_aware_crosswalk() -> None:
    national = bps.decode(release(NATIONAL_YOY))

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

    decoded = bps.decode(release(NATIONAL_YOY, encode(doc)))

    [issue] = decoded.problems
    assert issue.column == "vervar"
    assert "97" in issue.problem and "2020" in issue.problem


def test_national_and_regional_ids_in_both_styles() -> None:
    assert bps.bps_province_code("9999", "INDONESIA", "0000") == "00"
    assert bps.bps_province_code("3400", "DI YOGYAKARTA", "0000") == "34"
    assert bps.bps_province_code("34", "DI YOGYAKARTA", "0000") == "34"
    assert bps.bps_province_code("0", "Tidak Ada", "9400") == "94"
    with pytest.raises(LookupError, match="not a province"):
        bps.bps_province_code("3471", "KOTA YOGYAKARTA", "3400")
    with pytest.raises(bps.NotYetNumbered, match="2020"):
        bps.load_crosswalk().resolve("95", 2020)
    assert bps.load_crosswalk().resolve("95", 2024).province_code == "93"


def test_ambiguous_and_stray_keys_are_refused() -> None:
    doc = document(DIY_YOY)
    # Year 117 with period 11 and year 1171 with period 1 both give ...0117 11: one key.
    doc["tahun"] = [{"val": 117, "label": "2017"}, {"val": 1171, "label": "3071"}]
    doc["turtahun"] = [{"val": 1, "label": "Triwulan I"}, {"val": 11, "label": "Tahunan"}]
    with pytest.raises(bps.BpsResponseError, match="ambiguous"):
        bps.decode(release(DIY_YOY, encode(doc)))

    doc = document(DIY_YOY)
    doc["datacontent"]["77777"] = 1.0
    with pytest.raises(bps.BpsResponseError, match="match no combination"):
        bps.decode(release(DIY_YOY, encode(doc)))


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b'{"status":"Error","message":"Invalid or expired key"}', "answered with an error"),
        (b"<html><body>Sedang dalam pemeliharaan</body></html>", "not JSON"),
        (b'{"status":"OK","data-availability":"available"}', "no 'var' list"),
    ],
)
def test_unreadable_answers_name_table_and_domain(body: bytes, message: str) -> None:
    with pytest.raises(bps.BpsResponseError, match=message) as error:
        bps.decode(release(DIY_YOY, body))
    assert f"var {YOY.var}" in str(error.value) and "domain 3400" in str(error.value)


def test_not_available_is_a_release_without_rows() -> None:
    key = f"bps/var-{QTQ.var}/domain-9700.json"
    found = release(key)

    assert json.loads(SAMPLE[key])["data"] == ""
    assert not found.available
    assert found.table == QTQ


# --- table configuration --------------------------------------------------------------------


def test_default_domains_are_national_and_every_province() -> None:
    domains = YOY.domains

    assert domains[0] == "0000" and len(domains) == 39
    assert {"3400", "9100", "9200", "9400", "9500", "9600", "9700"} <= set(domains)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("tables:\n - {var: 1, measure: yoy, title: t, domains: [0000]}", "quoted 4-digit"),
        (
            "tables:\n - {var: 1, measure: yoy, title: t}\n - {var: 1, measure: qtq, title: u}",
            "twice",
        ),
        ("tables:\n - {var: 1, measure: mtm, title: t}", "measure"),
        ("tables:\n - {var: 1, measure: yoy, title: t, colour: red}", "colour"),
        ("tables:\n - {var: 1, measure: yoy, title: t, domains: ['9900']}", "9900"),
        ("tables: []", "at least 1"),
    ],
)
def test_a_bad_table_configuration_is_refused_clearly(
    tmp_path: Path, text: str, message: str
) -> None:
    path = tmp_path / "tables.yaml"
    path.write_text(text)

    with pytest.raises(bps.BpsConfigError, match=message):
        bps.load_tables(path)


# --- the HTTP client ------------------------------------------------------------------------


def test_domain_list_pagination_is_followed(fake: FakeBps) -> None:
    with client(fake) as api:
        domains = api.province_domains()

    assert len(domains) == 38 and "9700" in domains
    pages = [path for path in fake.requests if "/domain/type/prov" in path]
    assert len(pages) == 4
    assert "/page/4/" in pages[-1]


def test_5xx_answers_are_retried_until_the_response_comes(fake: FakeBps) -> None:
    fake.script[(str(YOY.var), "3400")] = [(503, b"busy", 0.0), (502, b"bad gateway", 0.0)]

    with client(fake) as api:
        body = api.fetch_data(YOY, "3400")

    assert body == SAMPLE[DIY_YOY]
    assert fake.data_requests(YOY.var, "3400") == 3


def test_a_persistent_5xx_fails_naming_table_and_domain(fake: FakeBps) -> None:
    fake.script[(str(YOY.var), "3400")] = [(500, b"oops", 0.0)] * 3

    with client(fake, retries=2) as api, pytest.raises(bps.BpsApiError) as error:
        api.fetch_data(YOY, "3400")

    assert "HTTP 500" in str(error.value)
    assert f"var {YOY.var}" in str(error.value) and "domain 3400" in str(error.value)
    assert KEY not in str(error.value) and "/key/***/" in str(error.value)


def test_timeouts_are_retried_then_reported_quickly(
    fake: FakeBps, caplog: pytest.LogCaptureFixture
) -> None:
    fake.script[(str(YOY.var), "3400")] = [(200, SAMPLE[DIY_YOY], 1.0)] * 2
    caplog.set_level(logging.DEBUG)
    started = time.monotonic()

    with client(fake, timeout=0.1, retries=1) as api, pytest.raises(bps.BpsApiError) as error:
        api.fetch_data(YOY, "3400")

    assert time.monotonic() - started < 1.0
    assert "no answer" in str(error.value) and "domain 3400" in str(error.value)
    assert fake.data_requests(YOY.var, "3400") == 2  # the first try and one retry
    assert KEY not in str(error.value) and KEY not in caplog.text
    assert error.value.__cause__ is None and error.value.__suppress_context__


def test_redact_hides_the_key_in_urls_and_text() -> None:
    url = f"https://webapi.bps.go.id/v1/api/list/model/data/domain/0000/var/1/key/{KEY}/"

    assert bps.redact(url) == (
        "https://webapi.bps.go.id/v1/api/list/model/data/domain/0000/var/1/key/***/"
    )
    assert bps.redact(f"key={KEY}", KEY) == "key=***"


# --- pulling through the ingest -------------------------------------------------------------


def pull(
    settings: Settings, fake: FakeBps, *domains: str, tables: tuple[bps.BpsTable, ...] = (YOY, QTQ)
) -> Any:
    """Pull ``domains`` of ``tables`` (few, to keep validation time down) from the fake."""
    releases = bps.pulled_releases(
        settings, client=client(fake), tables=small_tables(*domains, tables=tables)
    )
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
        f"bps-api/var-{t.var}/domain-{d}.json" for t in (YOY, QTQ) for d in ("3400", "9700")
    }
    assert {r.raw_key for r in records} == {f"raw/bps/{r.sha256}.json" for r in records}
    not_available = [r for r in records if r.original_name.endswith(f"{QTQ.var}/domain-9700.json")]
    assert not_available[0].rows_in == 0 and not_available[0].outputs == []


def test_a_new_release_is_a_new_record_and_wins_in_the_marts(
    settings: Settings, fake: FakeBps
) -> None:
    first = pull(settings, fake, "3400", tables=(YOY,))
    revised = document(DIY_YOY)
    revised["datacontent"]["3400105301174"] = 17.5  # BPS revises DIY 2017 Q4
    fake.responses[(str(YOY.var), "3400")] = encode(revised)

    again = pull(settings, fake, "3400", tables=(YOY,))
    build_and_publish(settings, "run-bps")

    assert [o.status for o in first.outcomes + again.outcomes] == ["ingested", "ingested"]
    assert len(Ledger(settings.lake_store).latest_records("bps")) == 2
    rows = query(
        settings.warehouse,
        "select yoy_growth_pct, yoy_source_sha256 from marts.fct_imk_growth "
        "where province_code = '34' and year = 2017 and quarter = 4",
    )
    assert rows == [(17.5, again.outcomes[0].sha256)]


def test_error_answers_and_non_json_fail_the_pull_and_land_nothing(
    settings: Settings, fake: FakeBps
) -> None:
    fake.script[(str(YOY.var), "3400")] = [(200, b"<html>Bad Gateway</html>", 0.0)]
    fake.script[(str(QTQ.var), "3400")] = [(200, b'{"status":"Error","message":"quota"}', 0.0)]

    summary = pull(settings, fake, "3400")

    assert [o.status for o in summary.outcomes] == ["failed", "failed"]
    assert summary.exit_code == 1
    assert "not JSON" in summary.outcomes[0].message
    assert "BPS answered with an error: quota" in summary.outcomes[1].message
    assert f"var {QTQ.var} (q-to-q), domain 3400" in summary.outcomes[1].message
    assert Ledger(settings.lake_store).latest_records() == []


def test_a_domain_bps_does_not_list_is_not_asked_for(settings: Settings, fake: FakeBps) -> None:
    fake.domains = ["3400"]  # as if 9700 (Papua Pegunungan) were numbered differently

    summary = pull(settings, fake, "3400", "9700", tables=(YOY,))

    assert [o.status for o in summary.outcomes] == ["ingested", "failed"]
    assert "does not list domain 9700" in summary.outcomes[1].message
    assert fake.data_requests(YOY.var, "9700") == 0


def test_a_wrong_key_never_reaches_logs_ledger_or_lake(
    settings: Settings, fake: FakeBps, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    wrong = "wrong-Key-123456789"
    fake.script[(str(YOY.var), "3400")] = [(503, b"busy", 0.0)] * 4
    ingestor = Ingestor(settings)
    api = bps.BpsClient(fake.base_url, wrong, backoff_factor=0.0, retries=1)

    summary = ingestor.ingest_pulled(
        bps.pulled_releases(settings, client=api, tables=small_tables("3400"))
    )

    assert {o.status for o in summary.outcomes} == {"failed"}
    everything = caplog.text + "".join(o.message for o in summary.outcomes)
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
    assert f"BPS table var {YOY.var}, domain 3400" in outcome.message
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


def test_the_cli_pulls_builds_and_pulls_again_without_change(
    fake: FakeBps, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
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
    runner = CliRunner()

    pulled = runner.invoke(app, ["ingest", "bps"])
    built = runner.invoke(app, ["build"])
    again = runner.invoke(app, ["ingest", "bps"])

    assert pulled.exit_code == 0, pulled.output
    assert built.exit_code == 0, built.output
    assert again.exit_code == 0 and "ingested" not in again.output.split("Ingest run")[1]
    assert fake.data_requests(YOY.var, "3400") == 2
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
    assert national == [(5.34, 0.66, "nasional", YOY.var)]
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

    columns = [c[0] for c in query(settings.warehouse, "describe marts.fct_imk_growth")]
    assert query(settings.warehouse, "select count(*) from marts.fct_imk_growth") == [(0,)]
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
    assert changed == [key for key in SAMPLE if not key.endswith(f"{QTQ.var}/domain-9700.json")]


def test_the_sample_has_the_messes_of_real_responses() -> None:
    national = document(NATIONAL_YOY)
    decoded = bps.decode(release(NATIONAL_YOY))
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
