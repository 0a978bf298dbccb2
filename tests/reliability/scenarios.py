"""Tiny ingests that take every path a file can take, each run on a fresh lake."""

from __future__ import annotations

import copy
import functools
import hashlib
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pipelines.ingest.engine import Ingestor, IngestSummary
from pipelines.platform.settings import EXPECTATIONS_DIR, Settings
from pipelines.quality.validation import ValidationOutcome, Validator
from tests.conftest import local_settings
from tests.marketplace_files import shopee_csv, shopee_lines
from tests.registry_files import DIY_ROWS, registry_csv

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow

# When a file landed and when it was received differ between two runs of the same bytes.
CLOCK_COLUMNS = ("landed_at", "received_at")


def without_clocks(table: pyarrow.Table) -> pyarrow.Table:
    return table.drop_columns([name for name in CLOCK_COLUMNS if name in table.column_names])


def _bad_registry() -> bytes:
    rows = [list(row) for row in DIY_ROWS]
    rows[1][1] = "Jawa Tenggara"  # no such provinsi
    return registry_csv(rows)


def _one_bad_order_line() -> bytes:
    orders = shopee_lines(50)
    orders[9][1] = "Sedang Dikirim"  # 1 of 50 lines: under the marketplace's 2 % threshold
    return shopee_csv(orders)


SHOP = "marketplace/shopee/keripik_rohani"

# One file per way an ingest can end; each scenario lands one of them. "batch" lands two shops'
# exports, validated together: one passes the union, one (a bad line) is validated alone.
SCENARIOS: dict[str, list[tuple[str, Callable[[], bytes]]]] = {
    "ingested": [("registry/diy.csv", lambda: registry_csv(DIY_ROWS))],
    "rows-quarantined": [(f"{SHOP}/Order.all.csv", _one_bad_order_line)],
    "quarantined": [("registry/bad.csv", _bad_registry)],
    "batch": [
        ("marketplace/shopee/batik_sari/Order.all.csv", lambda: shopee_csv(shopee_lines(40))),
        (f"{SHOP}/Order.all.csv", _one_bad_order_line),
    ],
}


def land(settings: Settings, scenario: str) -> None:
    for key, data in SCENARIOS[scenario]:
        settings.landing_store.write_bytes(key, data())


class ReplayingValidator(Validator):
    """GX validation, replayed for a batch it has validated before.

    These tests are about writes, not checks, and run the same few files hundreds of times:
    the first validation of each batch is real, the repeats return its outcome.
    """

    def __init__(self) -> None:
        super().__init__(EXPECTATIONS_DIR)
        self._outcomes: dict[tuple[str, bytes, str], ValidationOutcome] = {}

    def validate(
        self, suite_name: str, frame: pd.DataFrame, parameters: dict[str, Any] | None = None
    ) -> ValidationOutcome:
        batch = hashlib.sha256(repr(frame.to_dict("list")).encode()).digest()
        return self._replayed(
            (suite_name, batch, repr(parameters)),
            lambda: super(ReplayingValidator, self).validate(suite_name, frame, parameters),
        )

    def validate_parquet(
        self, suite_name: str, path: Path, parameters: dict[str, Any] | None = None
    ) -> ValidationOutcome:
        import pyarrow.parquet as pq

        # The batch without its clock columns, which differ between two runs of the same file.
        rows = without_clocks(pq.read_table(path)).to_pylist()
        return self._replayed(
            (suite_name, hashlib.sha256(repr(rows).encode()).digest(), repr(parameters)),
            lambda: super(ReplayingValidator, self).validate_parquet(suite_name, path, parameters),
        )

    def _replayed(
        self, key: tuple[str, bytes, str], validate: Callable[[], ValidationOutcome]
    ) -> ValidationOutcome:
        if key not in self._outcomes:
            self._outcomes[key] = validate()
        return copy.deepcopy(self._outcomes[key])


@functools.cache
def shared_validator() -> Validator:
    # One per test process: building a GX context costs seconds, validating a batch one.
    return ReplayingValidator()


def ingest(settings: Settings, run_id: str) -> IngestSummary:
    ingestor = Ingestor(settings, run_id)
    ingestor._validator = shared_validator()
    return ingestor.run()


def fresh_lake(root: Path, scenario: str) -> Settings:
    settings = local_settings(root)
    land(settings, scenario)
    return settings
