"""A run's files validated in batches give each file what validating it alone gives.

The same landing is ingested twice into two lakes: once with batches (the default), once with a
batch of one file (each file validated alone, as before batching). Every file's outcome,
quarantine report, rejected rows, ledger record and kept Data Docs result must be the same:
for marketplace exports (Parquet on DuckDB) and for registry files (pandas frames).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from pipelines.ingest import engine
from pipelines.ingest.engine import Ingestor
from pipelines.platform.settings import Settings
from pipelines.quality import batch_validation
from pipelines.quality.validation import LOCATED_ROWS_LIMIT, Validator
from tests.clean_parquet import read_parquet
from tests.conftest import local_settings
from tests.marketplace_files import shopee_csv, shopee_lines, tiktok_csv
from tests.registry_files import (
    DIY_ROWS,
    JATIM_MEMBERS,
    JATIM_SENTRA,
    registry_csv,
    registry_xlsx,
)

SHOP = "marketplace/shopee/keripik_rohani"


def shop(name: str) -> str:
    return f"marketplace/shopee/{name}"


def landing_files() -> dict[str, bytes]:
    """Good and broken exports of one run, in landing order, and a registry file."""
    few_bad = shopee_lines(100)
    few_bad[9][1] = "Sedang Dikirim"  # one line of an unknown status: rows quarantined
    many_bad = shopee_lines(100, start_row=200)
    for line in many_bad[:5]:
        line[8] = "dua"  # quantity in words: the whole export is held back
    past_the_cap = shopee_lines(LOCATED_ROWS_LIMIT + 200, start_row=400)
    for line in past_the_cap:
        line[1] = "Sedang Dikirim"  # more bad lines than are located
    corrected = shopee_lines(60)
    corrected[0][8] = "2"  # another export with the same line ids
    return {
        f"{SHOP}/first.csv": shopee_csv(shopee_lines(60)),
        f"{shop('batik_sari')}/few-bad.csv": shopee_csv(few_bad),
        f"{shop('gerabah_kasongan')}/many-bad.csv": shopee_csv(many_bad),
        "marketplace/tokopedia/rohani/orders.csv": tiktok_csv(),
        f"{shop('tenun_ikat')}/past-the-cap.csv": shopee_csv(past_the_cap),
        f"{shop('ukir_jepara')}/same-line-ids.csv": shopee_csv(corrected),
        f"{SHOP}/not-an-export.csv": b"tanggal;jumlah\n2026-06-01;3\n",
        "registry/diy/sentra.csv": registry_csv(DIY_ROWS),
        # The shop's corrected export in the same run: validated after its predecessor settles,
        # whose rows its truncation check compares it with.
        f"{SHOP}/resubmitted.csv": shopee_csv(corrected),
    }


def ingested(
    root: Path, validator: Validator, files: dict[str, bytes]
) -> tuple[Settings, dict[str, Any]]:
    settings = local_settings(root)
    for key, data in files.items():
        settings.landing_store.write_bytes(key, data)
    ingestor = Ingestor(settings, run_id="run-1")
    ingestor._validator = validator
    return settings, {outcome.key: outcome for outcome in ingestor.run().outcomes}


def what_each_file_got(outcomes: dict[str, Any]) -> dict[str, tuple[Any, ...]]:
    return {
        key: (o.status, o.message, o.rows_in, o.rows_rejected, o.warnings)
        for key, o in outcomes.items()
    }


def lake_documents(settings: Settings) -> dict[str, Any]:
    """The lake's JSON documents and rejected rows, without what names the run's time, GX's
    batch or the lake's folder."""
    store = settings.lake_store
    documents = {}
    for obj in store.list():
        # A ledger record's name starts with the time it was written.
        key = re.sub(r"/\d{8}T[\d.]+Z_", "/", obj.key)
        if obj.key.endswith(".json"):
            text = store.read_bytes(obj.key).decode().replace(store.uri, "LAKE")
            documents[key] = without_run_details(json.loads(text))
        elif "/rejected_" in obj.key:
            documents[key] = without_run_details(read_parquet(store, [obj.key]).to_pylist())
    return documents


def kept_results(settings: Settings) -> dict[str, Any]:
    """The kept GX results whole, meta included (a registry's batch is a pandas frame, marked
    with its fingerprint), but for the time GX loaded the batch."""
    store = settings.lake_store
    results = {}
    for obj in store.list("docs/results/"):
        result = json.loads(store.read_bytes(obj.key))
        del result["meta"]["batch_markers"]["ge_load_time"]
        results[obj.key] = result
    return results


def clean_tables(settings: Settings) -> dict[str, dict[str, list[Any]]]:
    """Every clean Parquet file's rows, without the times the file landed and was taken in."""
    store = settings.lake_store
    return {
        obj.key: read_parquet(store, [obj.key])
        .drop_columns(["landed_at", "received_at"])
        .to_pydict()
        for obj in store.list("clean/")
    }


def clean_rows(settings: Settings, sha256: str) -> dict[str, list[Any]]:
    key = f"clean/marketplace_orders/{sha256}.parquet"
    return read_parquet(settings.lake_store, [key]).to_pydict()


def without_run_details(document: Any) -> Any:
    unstable = {"landed_at", "received_at", "claimed_at", "batch_id", "meta", "id", "recorded_at"}
    if isinstance(document, dict):
        return {k: without_run_details(v) for k, v in document.items() if k not in unstable}
    if isinstance(document, list):
        return [without_run_details(item) for item in document]
    return document


def validate_each_file_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every file validated in a GX call on it alone, as before batching and screening."""
    monkeypatch.setattr(engine, "MAX_BATCH_FILES", 1)
    monkeypatch.setattr(batch_validation, "screen", lambda *args: {})


def test_each_file_of_a_batch_gets_what_validating_it_alone_gives(
    tmp_path: Path, validator: Validator, monkeypatch: pytest.MonkeyPatch
) -> None:
    unions: list[tuple[str, int]] = []
    screen = batch_validation.screen
    monkeypatch.setattr(
        batch_validation,
        "screen",
        lambda *args: unions.append((args[1], len(args[2]))) or screen(*args),
    )
    batched_settings, batched = ingested(tmp_path / "batched", validator, landing_files())
    validate_each_file_alone(monkeypatch)
    alone_settings, alone = ingested(tmp_path / "alone", validator, landing_files())

    # One union of the six exports converted before the resubmission (which waits for its
    # predecessor, then is screened on its own); the unreadable one fails conversion. The
    # registry file is screened on its own.
    assert sorted(unions) == [
        ("marketplace_orders", 1),
        ("marketplace_orders", 6),
        ("registry_sentra", 1),
    ]
    assert {key: o.status for key, o in batched.items()} == {
        f"{SHOP}/first.csv": "ingested",
        f"{shop('batik_sari')}/few-bad.csv": "ingested",
        f"{shop('gerabah_kasongan')}/many-bad.csv": "quarantined",
        "marketplace/tokopedia/rohani/orders.csv": "ingested",
        f"{shop('tenun_ikat')}/past-the-cap.csv": "quarantined",
        f"{shop('ukir_jepara')}/same-line-ids.csv": "ingested",
        f"{SHOP}/not-an-export.csv": "quarantined",
        "registry/diy/sentra.csv": "ingested",
        f"{SHOP}/resubmitted.csv": "ingested",
    }
    assert batched[f"{shop('batik_sari')}/few-bad.csv"].rows_rejected == 1
    line_ids = [
        set(clean_rows(batched_settings, batched[key].sha256)["order_line_id"])
        for key in (f"{SHOP}/first.csv", f"{shop('ukir_jepara')}/same-line-ids.csv")
    ]
    assert line_ids[0] == line_ids[1]
    assert what_each_file_got(batched) == what_each_file_got(alone)
    batched_documents = lake_documents(batched_settings)
    assert sum(key.startswith("docs/results/") for key in batched_documents) == 8
    assert sum("/rejected_" in key for key in batched_documents) == 3
    assert batched_documents == lake_documents(alone_settings)


def sentra_rows(province: str, regencies: list[str]) -> list[list[str]]:
    """``DIY_ROWS`` moved to another province, one regency per row."""
    return [
        [row[0], province, regency, *row[3:]]
        for row, regency in zip(DIY_ROWS, regencies, strict=False)
    ]


def members_csv(rows: list[list[str]]) -> bytes:
    lines = ["ID IKM;ID Sentra;Nama Usaha;Akun Marketplace", *(";".join(row) for row in rows)]
    return "\r\n".join(lines).encode()


def registry_landing() -> dict[str, bytes]:
    """Registry files of one run, in landing order: good ones, bad ones, resubmissions."""
    jateng = sentra_rows("Jawa Tengah", ["Kota Semarang", "Kabupaten Semarang"] * 3)
    jateng[1][7] = ""  # tenaga kerja not given: missing values in a file that passes
    jateng[2][5] = ""
    jateng_2024 = [[*row[:14], "2024"] for row in jateng[:1]]
    bali = sentra_rows("Bali", ["Kabupaten Gianyar"] * 5)
    bali = [[f"{row[0]} {n}", *row[1:]] for n, row in enumerate(bali)]
    future = [list(row) for row in DIY_ROWS]
    future[3][11] = "01/01/2099"  # surveyed in the future: a row-level failure
    more_members = [list(row) for row in JATIM_SENTRA]
    more_members[1][7] = 1  # lists two member IKM: the members-per-sentra warning
    one_more = [*JATIM_MEMBERS, ["IKM-0004", "SIKM-3507-0002", "Gerabah Dinoyo Lagi", None]]
    sumbar = sentra_rows("Sumatera Barat", ["Kota Padang"] * 5)
    sumbar[2][6] = "0"  # no IKM unit: a row-level failure, in a batch of files that pass
    return {
        "registry/diy/sentra.csv": registry_csv(DIY_ROWS),
        "registry/sumbar/sentra.csv": registry_csv(sumbar),
        "registry/jateng/sentra.csv": registry_csv(jateng),
        "registry/jatim/sentra.xlsx": registry_xlsx(JATIM_SENTRA, JATIM_MEMBERS),
        "registry/bali/sentra.csv": registry_csv(bali),
        "registry/ntb/header-only.csv": registry_csv([]),  # no sentra: zero rows, no province
        # A member IKM listed twice: a row-level failure of the member suite.
        "registry/jatim/anggota.csv": members_csv([["IKM-0100", "SIKM-3507-0001", "Baru", ""]] * 2),
        "registry/diy/sentra-copy.csv": registry_csv(DIY_ROWS),  # the same bytes again
        # DIY again, one sentra of five: truncated against the file above (table-level check).
        "registry/diy/partial.csv": registry_csv(DIY_ROWS[:1]),
        # An earlier period of a province in the same run: not compared with the newer file.
        "registry/jateng/2024.csv": registry_csv(jateng_2024),
        "registry/sulsel/not-a-registry.csv": b"tanggal;jumlah\n2026-06-01;3\n",
        "registry/bali/resubmitted.csv": registry_csv(bali[:4]),  # passes against its first
        "registry/diy/future.csv": registry_csv(future),
        "registry/jatim/members.xlsx": registry_xlsx(more_members, one_more),
    }


def test_each_registry_file_of_a_batch_gets_what_validating_it_alone_gives(
    tmp_path: Path, validator: Validator, monkeypatch: pytest.MonkeyPatch
) -> None:
    unions: list[tuple[str, int]] = []
    screen = batch_validation.screen
    monkeypatch.setattr(
        batch_validation,
        "screen",
        lambda *args: unions.append((args[1], len(args[2]))) or screen(*args),
    )
    validate = validator.validate
    validated_alone: list[str] = []
    monkeypatch.setattr(
        validator,
        "validate",
        lambda suite, *args: validated_alone.append(suite) or validate(suite, *args),
    )
    landing = registry_landing()  # once: a workbook's bytes carry the time it was written
    batched_settings, batched = ingested(tmp_path / "batched", validator, landing)
    # The files with a failure, each in a call of its own (a batch's only member table passes
    # its screening on its own).
    assert sorted(validated_alone) == ["registry_members"] + ["registry_sentra"] * 4
    validate_each_file_alone(monkeypatch)
    alone_settings, alone = ingested(tmp_path / "alone", validator, landing)

    # The first seven files wait together (six with sentra, two with members) until the copy
    # settles them (the same bytes); then three until DIY's second resubmission settles its
    # first (the same province); the last two (one with members, screened on its own) at the end.
    assert unions == [
        ("registry_sentra", 6),
        ("registry_members", 2),
        ("registry_sentra", 3),
        ("registry_sentra", 2),
        ("registry_members", 1),
    ]
    assert {key: o.status for key, o in batched.items()} == {
        "registry/diy/sentra.csv": "ingested",
        "registry/sumbar/sentra.csv": "quarantined",
        "registry/jateng/sentra.csv": "ingested",
        "registry/jatim/sentra.xlsx": "ingested",
        "registry/bali/sentra.csv": "ingested",
        "registry/ntb/header-only.csv": "ingested",
        "registry/jatim/anggota.csv": "quarantined",
        "registry/diy/sentra-copy.csv": "skipped",
        "registry/diy/partial.csv": "quarantined",
        "registry/jateng/2024.csv": "ingested",
        "registry/sulsel/not-a-registry.csv": "quarantined",
        "registry/bali/resubmitted.csv": "ingested",
        "registry/diy/future.csv": "quarantined",
        "registry/jatim/members.xlsx": "ingested",
    }
    assert "not_truncated" in batched["registry/diy/partial.csv"].message
    assert "members_within_jumlah_ikm" in batched["registry/jatim/members.xlsx"].warnings[0]
    assert what_each_file_got(batched) == what_each_file_got(alone)
    batched_documents = lake_documents(batched_settings)
    assert sum(key.startswith("docs/results/") for key in batched_documents) == 14
    assert batched_documents == lake_documents(alone_settings)
    assert kept_results(batched_settings) == kept_results(alone_settings)
    assert clean_tables(batched_settings) == clean_tables(alone_settings)
