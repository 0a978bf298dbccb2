"""A run's files validated in batches give each file what validating it alone gives.

The same landing is ingested twice into two lakes: once with batches (the default), once with a
batch of one file (each file validated alone, as before batching). Every file's outcome,
quarantine report, rejected rows, ledger record and kept Data Docs result must be the same.
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
from tests.conftest import local_settings
from tests.marketplace_files import shopee_csv, shopee_lines, tiktok_csv
from tests.registry_files import DIY_ROWS, registry_csv

EXPECTATIONS_DIR = Path(__file__).resolve().parents[2] / "expectations"
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


@pytest.fixture(scope="module")
def validator() -> Validator:
    return Validator(EXPECTATIONS_DIR)


def ingested(root: Path, validator: Validator) -> tuple[Settings, dict[str, Any]]:
    settings = local_settings(root)
    for key, data in landing_files().items():
        settings.landing_store.write_bytes(key, data)
    ingestor = Ingestor(settings, run_id="run-1")
    ingestor._validator = validator
    return settings, {outcome.key: outcome for outcome in ingestor.run().outcomes}


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
            documents[key] = without_run_details(store.read_parquet([obj.key]).to_pylist())
    return documents


def clean_rows(settings: Settings, sha256: str) -> dict[str, list[Any]]:
    key = f"clean/marketplace_orders/{sha256}.parquet"
    return settings.lake_store.read_parquet([key]).to_pydict()


def without_run_details(document: Any) -> Any:
    unstable = {"landed_at", "received_at", "claimed_at", "batch_id", "meta", "id", "recorded_at"}
    if isinstance(document, dict):
        return {k: without_run_details(v) for k, v in document.items() if k not in unstable}
    if isinstance(document, list):
        return [without_run_details(item) for item in document]
    return document


def test_each_file_of_a_batch_gets_what_validating_it_alone_gives(
    tmp_path: Path, validator: Validator, monkeypatch: pytest.MonkeyPatch
) -> None:
    unions: list[int] = []
    screen = batch_validation.screen
    monkeypatch.setattr(
        batch_validation,
        "screen",
        lambda *args: unions.append(len(args[2])) or screen(*args),
    )
    batched_settings, batched = ingested(tmp_path / "batched", validator)
    monkeypatch.setattr(engine, "MAX_BATCH_FILES", 1)
    alone_settings, alone = ingested(tmp_path / "alone", validator)

    # One union of the six exports converted before the resubmission (which waits for its
    # predecessor, then is validated alone); the unreadable one fails conversion.
    assert unions == [6]
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
    for key, outcome in batched.items():
        assert (outcome.status, outcome.message, outcome.rows_in, outcome.rows_rejected) == (
            alone[key].status,
            alone[key].message,
            alone[key].rows_in,
            alone[key].rows_rejected,
        )
    batched_documents = lake_documents(batched_settings)
    assert sum(key.startswith("docs/results/") for key in batched_documents) == 8
    assert sum("/rejected_" in key for key in batched_documents) == 3
    assert batched_documents == lake_documents(alone_settings)
