"""Incremental builds give exactly the marts of a full rebuild, and fall back to one when the
carried state cannot be trusted (docs/marts.md, "Incremental builds")."""

from __future__ import annotations

import logging
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb
import pytest

from pipelines.ingest.engine import Ingestor
from pipelines.marts.incremental import state_path
from pipelines.marts.publish import build_and_publish, inputs_cache_path
from pipelines.platform.settings import Settings
from pipelines.samples.bps import SAMPLE_TABLES, bps_sample_files
from tests.marketplace_files import (
    BUDI,
    ESMART_RECORDS,
    RINA,
    SHOPEE_ROWS,
    esmart_jsonl,
    esmart_record,
    shopee_csv,
    shopee_lines,
    tiktok_csv,
)
from tests.marts_tables import marts_contents, schema_contents
from tests.registry_files import DIY_ROWS, JATIM_MEMBERS, JATIM_SENTRA, registry_csv, registry_xlsx

SHOP = "marketplace/shopee/keripik_rohani"
TOKO = "marketplace/tokopedia/rohani"
ESMART = "marketplace/esmart"
BPS = dict(bps_sample_files(20261128))
YOY_VAR = SAMPLE_TABLES[0].var
CLOCK_COLUMN_SUFFIX = "_landed_at"  # when a file landed: differs between two lakes' copies
CARRIED_STATE_TABLES = [
    "seller_accounts",
    "sales_monthly",
    "online_sales",
    "unmatched_sellers",
    "superseded_lines",
]

Event = Callable[[Settings], None]


def lands(key: str, data: bytes) -> Event:
    return lambda settings: settings.landing_store.write_bytes(key, data)


def returned(row: list[str]) -> list[str]:
    """The same Shopee line, now returned after it was completed."""
    return [row[0], row[1], "Pengembalian Dana/Barang", *row[3:]]


# Each event is one file landing; a sequence is ingested and built after every event.
NEW_EXPORT = lands(f"{TOKO}/semua pesanan.csv", tiktok_csv())
SHOP_EXPORT = lands(f"{SHOP}/Order.all.csv", shopee_csv())
# The whole of June exported again, with more orders: it supersedes the first export's lines.
RESUBMISSION = lands(f"{SHOP}/Order.all.2.csv", shopee_csv([*SHOPEE_ROWS, *shopee_lines(6)]))
# A completed line is returned after all: net sales go down.
CORRECTION = lands(
    f"{SHOP}/Order.all.3.csv", shopee_csv([returned(SHOPEE_ROWS[0]), *SHOPEE_ROWS[1:]])
)
ESMART_EXPORT = lands(f"{ESMART}/2026-06.jsonl", esmart_jsonl())
# e-Smart resends a line with a lower amount, and a line of another shop.
ESMART_RESEND = lands(
    f"{ESMART}/2026-06-resend.jsonl",
    esmart_jsonl(
        [
            esmart_record(
                "Shopee", "Dinoyo_Jaya", "ES-1", "2026-05-31T20:30:00Z", 1, 150000, 90000, BUDI, "x"
            ),
            esmart_record("Shopee", "Dinoyo_Jaya", "ES-2", "2026-06-03T09:00:00Z", 2, 5000, 9000,
                          RINA, "Bali"),
            *ESMART_RECORDS[1:],
        ]
    ),
)  # fmt: skip
JATIM = lands("registry/jatim.xlsx", registry_xlsx(JATIM_SENTRA, JATIM_MEMBERS))
# Jawa Timur submits again: the Bukalapak shop is now a member's, Rohani's Tokopedia shop is
# no longer listed, and a sentra reports lower production.
JATIM_AGAIN = lands(
    "registry/jatim-revisi.xlsx",
    registry_xlsx(
        [[*JATIM_SENTRA[0][:9], 3_000_000_000, *JATIM_SENTRA[0][10:]], JATIM_SENTRA[1]],
        [
            ["IKM-0001", "SIKM-3507-0001", "Keripik Rohani", "shopee:keripik_rohani"],
            *JATIM_MEMBERS[1:],
            ["IKM-0004", "SIKM-3507-0002", "Toko Baru", "bukalapak:toko_baru"],
        ],
    ),
)
DIY = lands("registry/diy.csv", registry_csv(DIY_ROWS))
BPS_RELEASE = lands(
    f"bps/var-{YOY_VAR}/domain-0000.json", BPS[f"bps/var-{YOY_VAR}/domain-0000.json"]
)
BPS_PROVINCE = lands(
    f"bps/var-{YOY_VAR}/domain-3400.json", BPS[f"bps/var-{YOY_VAR}/domain-3400.json"]
)

SEQUENCES = {
    "exports, a resubmission and a correction": [
        [JATIM, DIY],
        [SHOP_EXPORT],
        [NEW_EXPORT, ESMART_EXPORT],
        [RESUBMISSION],
        [CORRECTION],
        [ESMART_RESEND],
    ],
    "a province resubmits its registry, then BPS releases": [
        [JATIM, SHOP_EXPORT, NEW_EXPORT, ESMART_EXPORT],
        [JATIM_AGAIN],
        [BPS_RELEASE],
        [BPS_PROVINCE, CORRECTION],
        [DIY],
    ],
    # Two exports of one shop in one build: the earlier one's versions of its lines lose to
    # the later one's, as well as the carried ones.
    "two exports of a shop arrive together": [
        [JATIM, SHOP_EXPORT],
        [RESUBMISSION, CORRECTION],
    ],
}


def full_rebuild(settings: Settings, root: Path) -> Path:
    """The marts of a ``--force`` build on a copy of the lake, which keeps this lake's publish
    log (and so its state) as the incremental builds left it."""
    shutil.rmtree(root, ignore_errors=True)
    shutil.copytree(settings.lake, root / "lake")
    rebuilt = settings.model_copy(
        update={"lake": str(root / "lake"), "warehouse": str(root / "warehouse" / "sentra.duckdb")}
    )
    return build_and_publish(rebuilt, "full", force=True).warehouse


def built_after(
    settings: Settings, events: list[Event], run_id: str, caplog: pytest.LogCaptureFixture
) -> str:
    """Land the events, ingest them and build; what the build logged."""
    for event in events:
        event(settings)
    Ingestor(settings).run()
    caplog.clear()
    build_and_publish(settings, run_id)
    return caplog.text


@pytest.mark.parametrize("sequence", SEQUENCES.values(), ids=list(SEQUENCES))
def test_every_incremental_build_equals_a_full_rebuild(
    settings: Settings,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    sequence: list[list[Event]],
) -> None:
    caplog.set_level(logging.INFO, logger="pipelines.marts.incremental")
    for step, events in enumerate(sequence):
        log = built_after(settings, events, f"step-{step}", caplog)

        assert ("incremental build" in log) == (step > 0), log
        incremental = marts_contents(settings.warehouse_path, CLOCK_COLUMN_SUFFIX)
        assert incremental == marts_contents(
            full_rebuild(settings, tmp_path / "full"), CLOCK_COLUMN_SUFFIX
        )
        assert incremental["fct_marketplace_sales_monthly"] or step == 0
        # The next build starts from this state: it must hold what a full build's holds.
        assert carried_state(settings.warehouse_path) == carried_state(
            tmp_path / "full" / "warehouse" / "sentra.duckdb"
        )


def carried_state(warehouse: Path) -> dict[str, list[Any]]:
    """The state's carried rows: shop assignments, sales and the versions that lost."""
    return schema_contents(state_path(warehouse), "main", tables=CARRIED_STATE_TABLES)


def test_builds_on_an_s3_lake_give_the_marts_of_a_local_lake(
    settings: Settings, s3_settings: Settings, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """An S3 lake's clean files are downloaded and read as a local lake's are, incrementally:
    each file once, kept between builds (the carried exports are read from there)."""
    caplog.set_level(logging.INFO, logger="pipelines.marts")
    on_s3 = s3_settings.model_copy(update={"warehouse": str(tmp_path / "s3" / "s.duckdb")})
    cache = inputs_cache_path(on_s3.warehouse_path)
    stale = cache / "clean" / "marketplace_orders" / "no-longer-ingested.parquet"
    stale.parent.mkdir(parents=True)
    stale.write_bytes(b"a copy of a file no build reads any more")
    (stale.parent / ".a-download-cut-short.parquet.0a1b.tmp").write_bytes(b"half a file")
    cached_before: set[str] = set()
    for step, events in enumerate(SEQUENCES["exports, a resubmission and a correction"]):
        built_after(settings, events, f"step-{step}", caplog)
        log = built_after(on_s3, events, f"step-{step}", caplog)

        assert ("incremental build" in log) == (step > 0), log
        cached = {path.relative_to(cache).as_posix() for path in cache.rglob("*") if path.is_file()}
        assert cached == {obj.key for obj in on_s3.lake_store.list("clean/")}
        downloads = re.search(r"downloading (\d+) clean files from s3://\S+ \((\d+) already", log)
        assert downloads, log
        assert downloads.groups() == (str(len(cached - cached_before)), str(len(cached_before)))
        cached_before = cached
        assert marts_contents(on_s3.warehouse_path, CLOCK_COLUMN_SUFFIX) == marts_contents(
            settings.warehouse_path, CLOCK_COLUMN_SUFFIX
        )


def test_carried_exports_with_other_columns_are_read_together(
    settings: Settings, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Clean files written before a column existed are carried beside newer ones, the
    missing column read as NULL, and an incremental build still equals a full rebuild."""
    caplog.set_level(logging.INFO, logger="pipelines.marts.incremental")
    for event in (JATIM, SHOP_EXPORT):
        event(settings)
    Ingestor(settings).run()
    # As an older conversion wrote it: without the buyer column.
    (older,) = settings.lake_store.list("clean/marketplace_orders/")
    path = Path(settings.lake_store.uri_for(older.key))
    con = duckdb.connect()
    con.execute(
        f"copy (select * exclude (buyer_hash) from '{path}') to '{path}.older' (format parquet)"
    )
    con.close()
    os.replace(f"{path}.older", path)
    built_after(settings, [NEW_EXPORT], "full", caplog)

    log = built_after(settings, [CORRECTION], "incremental", caplog)

    assert "incremental build: 2 exports carried" in log, log
    assert marts_contents(settings.warehouse_path, CLOCK_COLUMN_SUFFIX) == marts_contents(
        full_rebuild(settings, tmp_path / "full"), CLOCK_COLUMN_SUFFIX
    )


def test_models_of_unchanged_registry_and_bps_files_are_read_from_the_state(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    """The registry and BPS models are recomputed only when their files change; the
    equality test above shows the kept rows are what a rebuild gives."""
    caplog.set_level(logging.INFO, logger="pipelines.marts")
    built_after(settings, [JATIM, SHOP_EXPORT, BPS_RELEASE], "first", caplog)

    log = built_after(settings, [CORRECTION], "correction", caplog)
    assert "reading intermediate.int_registry_members_current from marts_state" in log
    assert "reading intermediate.int_imk_growth_latest from marts_state" in log

    log = built_after(settings, [JATIM_AGAIN], "registry", caplog)
    assert "building intermediate.int_registry_members_current" in log
    assert "reading intermediate.int_imk_growth_latest from marts_state" in log

    # A state written before models were kept has no record of them: every one is rebuilt.
    con = duckdb.connect(str(state_path(settings.warehouse_path)))
    con.execute("drop table kept_models")
    con.close()
    log = built_after(settings, [DIY], "older state", caplog)
    assert "incremental build" in log
    assert "building intermediate.int_imk_growth_latest" in log


def test_the_events_move_the_marts(settings: Settings) -> None:
    """The corrections above do change the marts, so the equality is not vacuous."""
    for event in (JATIM, SHOP_EXPORT, ESMART_EXPORT):
        event(settings)
    Ingestor(settings).run()
    build_and_publish(settings, "before")
    before = marts_contents(settings.warehouse_path, CLOCK_COLUMN_SUFFIX)
    for event in (CORRECTION, ESMART_RESEND, JATIM_AGAIN):
        event(settings)
    Ingestor(settings).run()
    build_and_publish(settings, "after")
    after = marts_contents(settings.warehouse_path, CLOCK_COLUMN_SUFFIX)

    def net_sales(contents: dict[str, list[tuple[Any, ...]]]) -> dict[tuple[Any, ...], int]:
        return {row[:6]: row[13] for row in contents["fct_marketplace_sales_monthly"]}

    rohani, dinoyo = "SIKM-3507-0001", "SIKM-3507-0002"
    lowered = {
        key[0]: (net_sales(before)[key], net)
        for key, net in net_sales(after).items()
        if key in net_sales(before) and net < net_sales(before)[key]
    }
    # Rohani's June line returned after all, Dinoyo's line resent with a lower amount.
    assert set(lowered) == {rohani, dinoyo}, lowered
    assert [row[1] for row in before["marketplace_unmatched_sellers"]] == ["toko_baru"]
    assert after["marketplace_unmatched_sellers"] == []  # now a member's shop


def test_a_build_falls_back_to_a_full_one_and_says_why(
    settings: Settings, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="pipelines.marts.incremental")
    exports = iter(range(100))

    def build_after_new_export(settings: Settings, **options: Any) -> str:
        lines = shopee_lines(2, start_row=10 * next(exports))
        settings.landing_store.write_bytes(f"{SHOP}/{lines[0][0]}.csv", shopee_csv(lines))
        Ingestor(settings).run()
        caplog.clear()
        build_and_publish(settings, "run", **options)
        return caplog.text

    JATIM(settings)
    assert "full build: no state from a previous build" in build_after_new_export(settings)
    assert "incremental build: 1 exports carried, 1 new" in build_after_new_export(settings)
    assert "full build: --force asks for a full rebuild" in build_after_new_export(
        settings, force=True
    )

    state = state_path(settings.warehouse_path)
    state.write_bytes(b"not a database")
    assert "cannot be read" in build_after_new_export(settings)
    state.unlink()
    assert "no state from a previous build" in build_after_new_export(settings)

    elsewhere = settings.model_copy(update={"warehouse": str(tmp_path / "other" / "m.duckdb")})
    build_after_new_export(elsewhere)  # another warehouse publishes from the same lake
    assert "but the published version is" in build_after_new_export(settings)

    changed_sql = tmp_path / "sql"
    shutil.copytree(settings.sql_dir, changed_sql)
    model = changed_sql / "marts" / "dim_region.sql"
    model.write_text(model.read_text() + "\n-- a changed model\n")
    changed = settings.model_copy(update={"sql_dir": changed_sql})
    assert "models, macros, configuration or settings changed" in build_after_new_export(changed)
    assert "incremental build" in build_after_new_export(changed)


# Run as `sentra build` runs it, in a process of its own: whether pandas was imported is a
# property of the whole process.
BUILD_IN_A_PROCESS = """
import sys
from pipelines.app.usecases import build
from pipelines.platform.settings import Settings

result = build(Settings(), "run")
print(result.published, result.report is not None, "pandas" in sys.modules)
"""


def test_a_build_and_its_report_never_import_pandas(settings: Settings) -> None:
    """Importing pandas cost ~0.3 s of every build: DuckDB's client imports it to bind any
    parameter or read any Arrow object, and pyarrow to build an array from Python values. The
    build writes its small tables as SQL literals instead (docs/marts.md)."""
    env = {
        **os.environ,
        "SENTRA_LANDING": str(settings.landing),
        "SENTRA_LAKE": str(settings.lake),
        "SENTRA_WAREHOUSE": str(settings.warehouse),
        "SENTRA_AS_OF": str(settings.reference_date()),
    }

    def build_in_a_process() -> str:
        Ingestor(settings).run()
        command = [sys.executable, "-c", BUILD_IN_A_PROCESS]
        done = subprocess.run(command, env=env, capture_output=True, text=True, check=True)
        return done.stdout.strip()

    JATIM(settings)
    SHOP_EXPORT(settings)
    # Full, and with datasets that have no file yet (BPS), then incremental after a correction.
    assert build_in_a_process() == "True True False"
    CORRECTION(settings)
    assert build_in_a_process() == "True True False"
    assert state_path(settings.warehouse_path).exists()
