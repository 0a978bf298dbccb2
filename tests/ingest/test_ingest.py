"""Ingest: raw copies, ledger, idempotency by content, quarantine, supersession in the marts."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pipelines.ingest.engine import Ingestor
from pipelines.lake.ledger import Ledger
from pipelines.marts.publish import build_and_publish
from pipelines.platform.duckdb import connect
from pipelines.platform.settings import Settings
from pipelines.platform.storage import LocalStorage, Storage
from tests.registry_files import DIY_ROWS, JATIM_MEMBERS, JATIM_SENTRA, registry_csv, registry_xlsx


def land(settings: Settings, key: str, data: bytes) -> None:
    settings.landing_store.write_bytes(key, data)


def lake_snapshot(settings: Settings) -> dict[str, bytes]:
    store = settings.lake_store
    return {obj.key: store.read_bytes(obj.key) for obj in store.list()}


def mart_counts(settings: Settings) -> dict[str, int]:
    con = connect(settings.warehouse_path, read_only=True)
    try:
        return {
            table: con.execute(f"select count(*) from marts.{table}").fetchone()[0]  # type: ignore[index]
            for table in ("dim_sentra", "sentra_revitalisation_score")
        }
    finally:
        con.close()


def test_the_same_bytes_three_times_change_nothing(settings: Settings) -> None:
    land(settings, "registry/diy/sentra.csv", registry_csv(DIY_ROWS))
    first = Ingestor(settings).run()
    build_and_publish(settings, "run-1")
    snapshot, counts = lake_snapshot(settings), mart_counts(settings)

    for attempt in (2, 3):
        # The same bytes again, once more under another name.
        land(settings, f"registry/diy/copy-{attempt}.csv", registry_csv(DIY_ROWS))
        again = Ingestor(settings).run()
        result = build_and_publish(settings, f"run-{attempt}")
        assert [o.status for o in again.outcomes] == ["skipped"] * attempt
        assert not result.published
        assert lake_snapshot(settings) == snapshot
        assert mart_counts(settings) == counts

    assert [o.status for o in first.outcomes] == ["ingested"]
    assert counts == {"dim_sentra": 5, "sentra_revitalisation_score": 5}
    kinds = {key.split("/")[0] for key in snapshot}
    assert kinds == {"raw", "clean", "ledger", "claims", "publishes", "docs"}


def test_ledger_records_what_happened(settings: Settings) -> None:
    land(settings, "registry/jatim.xlsx", registry_xlsx(JATIM_SENTRA, JATIM_MEMBERS))
    summary = Ingestor(settings, run_id="run-ledger").run()

    [record] = Ledger(settings.lake_store).latest_records()
    assert summary.exit_code == 0
    assert record.status == "ingested"
    assert record.original_name == "registry/jatim.xlsx"
    assert (record.rows_in, record.rows_valid, record.rows_rejected) == (5, 5, 0)
    assert record.run_id == "run-ledger"
    assert record.size == len(settings.landing_store.read_bytes("registry/jatim.xlsx"))
    assert settings.lake_store.read_bytes(
        record.raw_key or ""
    ) == settings.landing_store.read_bytes("registry/jatim.xlsx")
    assert sorted(record.outputs) == [
        f"clean/registry_members/{record.sha256}.parquet",
        f"clean/registry_sentra/{record.sha256}.parquet",
    ]


def test_a_bad_file_is_quarantined_with_a_located_report_and_the_rest_carry_on(
    settings: Settings,
) -> None:
    bad = [list(row) for row in DIY_ROWS]
    bad[1][1] = "Jawa Tenggara"
    bad[2][6] = "0"
    bad[3][12] = "48,5"
    land(settings, "registry/bad.csv", registry_csv(bad))
    land(settings, "registry/jatim.xlsx", registry_xlsx(JATIM_SENTRA, JATIM_MEMBERS))

    summary = Ingestor(settings).run()

    statuses = {o.key: o.status for o in summary.outcomes}
    assert statuses == {"registry/bad.csv": "quarantined", "registry/jatim.xlsx": "ingested"}
    assert summary.exit_code == 1
    bad_outcome = next(o for o in summary.outcomes if o.key == "registry/bad.csv")
    report = json.loads(Path(bad_outcome.report_key or "").read_bytes())
    assert report["file"] == "registry/bad.csv"
    assert report["rows_in"] == 5 and report["rows_rejected"] == 3
    assert [(p["row"], p["column"]) for p in report["cell_problems"]] == [(5, "Provinsi")]
    failed = {check["check"]: check for check in report["failed_checks"]}
    assert failed["jumlah_ikm_range"]["unexpected_count"] == 1
    assert failed["jumlah_ikm_range"]["sample_rows"][0]["source_row"] == 6
    assert failed["lintang_in_indonesia"]["sample_rows"][0]["lintang"] == 48.5
    markdown = Path(bad_outcome.report_key or "").with_suffix(".md").read_text()
    assert "row 5, column 'Provinsi'" in markdown and "jumlah_ikm_range" in markdown
    # Quarantined data never reaches the marts; the good file does.
    build_and_publish(settings, "run-q")
    assert mart_counts(settings)["dim_sentra"] == 2
    # The raw copy is kept.
    assert settings.lake_store.exists(f"raw/registry/{bad_outcome.sha256}.csv")
    # Quarantined is settled: landing it again changes nothing.
    assert [o.status for o in Ingestor(settings).run().outcomes] == ["skipped", "skipped"]


def test_a_resubmission_supersedes_the_earlier_version_and_both_raw_copies_stay(
    settings: Settings,
) -> None:
    land(settings, "registry/diy.csv", registry_csv(DIY_ROWS))
    Ingestor(settings).run()
    revised = [list(row) for row in DIY_ROWS[:-1]]  # one sentra dropped
    revised[0][6] = "50"  # Giriloyo grew
    land(settings, "registry/diy_revisi.csv", registry_csv(revised))
    Ingestor(settings).run()
    build_and_publish(settings, "run-r")

    con = connect(settings.warehouse_path, read_only=True)
    try:
        rows = con.execute(
            "select nama_sentra, jumlah_ikm, registry_source_name "
            "from marts.dim_sentra order by nama_sentra"
        ).fetchall()
    finally:
        con.close()
    assert len(rows) == 4
    assert ("Sentra Batik Tulis Giriloyo", 50, "registry/diy_revisi.csv") in rows
    assert {row[2] for row in rows} == {"registry/diy_revisi.csv"}
    assert len(settings.lake_store.list("raw/registry/")) == 2


def test_an_internal_error_is_recorded_as_failed_and_retried(
    settings: Settings, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    land(settings, "registry/diy.csv", registry_csv(DIY_ROWS))

    def explode(self: Ingestor, landed: object) -> None:
        raise RuntimeError("disk on fire")

    with monkeypatch.context() as patch:
        patch.setattr(Ingestor, "process", explode)
        failed = Ingestor(settings).run()
    assert [o.status for o in failed.outcomes] == ["failed"]
    assert "disk on fire" in failed.outcomes[0].message
    assert failed.exit_code == 1

    retried = Ingestor(settings).run()
    assert [o.status for o in retried.outcomes] == ["ingested"]
    statuses = sorted(e.status for e in Ledger(settings.lake_store).entries())
    assert statuses == ["failed", "ingested"]


def test_ingest_and_build_on_s3(s3_settings: Settings) -> None:
    land(s3_settings, "registry/diy dir/sentra.csv", registry_csv(DIY_ROWS))
    land(s3_settings, "registry/jatim.xlsx", registry_xlsx(JATIM_SENTRA, JATIM_MEMBERS))

    summary = Ingestor(s3_settings).run()
    result = build_and_publish(s3_settings, "run-s3")

    assert [o.status for o in summary.outcomes] == ["ingested", "ingested"]
    assert result.published
    assert result.record.row_counts["dim_sentra"] == 7
    assert s3_settings.lake_store.uri.startswith("s3://")
    assert len(s3_settings.lake_store.list("ledger/")) == 2


def test_data_docs_are_rendered_once_after_the_run_and_resolve(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pipelines.quality import data_docs

    land(settings, "registry/diy/sentra.csv", registry_csv(DIY_ROWS))
    land(settings, "registry/jatim.xlsx", registry_xlsx(JATIM_SENTRA, JATIM_MEMBERS))
    settled_before_rendering: list[int] = []
    ledger = Ledger(settings.lake_store)
    write_page = data_docs.write_validation_page

    def watched(store: Storage, key: str, gx_result: object) -> None:
        settled_before_rendering.append(len(ledger.latest_records()))
        write_page(store, key, gx_result)

    monkeypatch.setattr(data_docs, "write_validation_page", watched)
    summary = Ingestor(settings).run()

    # Both files settled before the first page was rendered: no page is on a file's path.
    assert settled_before_rendering and set(settled_before_rendering) == {2}
    for outcome in summary.outcomes:
        assert outcome.data_docs
        for page in outcome.data_docs:
            assert "Great Expectations" in Path(page).read_text(encoding="utf-8")
    index = settings.lake_store.read_bytes("docs/index.html").decode()
    assert "registry/diy/sentra.csv" in index and "registry/jatim.xlsx" in index


def test_nothing_is_published_when_the_raw_copy_fails(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    land(settings, "registry/diy.csv", registry_csv(DIY_ROWS))
    upload = LocalStorage.upload_file

    def raw_copy_fails(store: LocalStorage, path: Path, key: str) -> None:
        if key.startswith("raw/"):
            raise OSError("raw store full")
        upload(store, path, key)

    with monkeypatch.context() as patch:
        patch.setattr(LocalStorage, "upload_file", raw_copy_fails)
        [failed] = Ingestor(settings).run().outcomes

    # The file was converted and validated meanwhile, but nothing went out without its bytes.
    assert failed.status == "failed" and "raw store full" in failed.message
    assert not settings.lake_store.list("clean/") and not settings.lake_store.list("raw/")
    [retried] = Ingestor(settings).run().outcomes
    assert retried.status == "ingested" and settings.lake_store.list("raw/")
