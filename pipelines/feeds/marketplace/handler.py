"""The marketplace sales feed: e-Smart IKM partner marketplaces' order-line exports.

A landed export is recognised (``layouts``), converted (``convert``) and validated; this module
is the feed's handler and declaration. Which IKM and sentra a shop belongs to is decided in the
marts (SQL), from the registry's member lists.
"""

from __future__ import annotations

import functools
import logging
import os
import tempfile
from datetime import date
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

from pipelines.feeds.contract import (
    Feed,
    FeedContext,
    FeedResult,
    LandedFile,
    PendingTable,
    PendingValidation,
    lineage_fields,
    validated_alone,
)
from pipelines.feeds.marketplace.convert import (
    STATUSES,
    ConversionContext,
    convert,
    shown,
    unreadable_cells,
)
from pipelines.feeds.marketplace.layouts import (
    JAKARTA,
    SOURCE,
    MarketplaceFormatError,
    recognise_export,
)
from pipelines.reference.regions import load_regions

if TYPE_CHECKING:
    import pyarrow as pa

    from pipelines.lake.ledger import LedgerRecord
    from pipelines.platform.settings import Settings
    from pipelines.quality.validation import ValidationOutcome

log = logging.getLogger(__name__)

DATASET = "marketplace_orders"

UNRESOLVED_PROVINCES = "unresolved_provinces"


# Older than any e-Smart partner's marketplace: an order before it is a misread date.
EARLIEST_ORDER_DATE = date(2010, 1, 1)


def process_marketplace_file(context: FeedContext, landed: LandedFile) -> FeedResult:
    """Recognise, convert and validate one landed export: typed Parquet and a verdict."""
    return validated_alone(context, prepare_marketplace_file(context, landed))


def prepare_marketplace_file(
    context: FeedContext, landed: LandedFile
) -> FeedResult | PendingValidation:
    """Recognise and convert one landed export; its validation is left to the ingest."""
    report = context.new_report()
    handle, name = tempfile.mkstemp(prefix="sentra-marketplace-", suffix=".parquet")
    os.close(handle)
    target = Path(name)
    conversion_settings = conversion_context(
        context.settings, landed, shares_cores=context.shares_cores
    )
    try:
        export = recognise_export(landed.key, landed.path)
        conversion = convert(export, conversion_settings, target)
    except MarketplaceFormatError as error:
        target.unlink(missing_ok=True)
        report.file_error = str(error)
        return FeedResult(report=report)
    except BaseException:
        target.unlink(missing_ok=True)
        raise
    log.info("%s: %s, %d order lines", landed.key, export.layout.name, conversion.rows)
    lines_by_scope = {export.scope: conversion.rows}

    def parameters() -> dict[str, Any]:
        return validation_parameters(landed, context.minimum_expected_rows(lines_by_scope))

    def finish(outcomes: list[ValidationOutcome]) -> FeedResult:
        [outcome] = outcomes
        report.failed_checks = outcome.failed
        if report.blocking_checks:
            report.cell_problems = unreadable_cells(export, conversion_settings)
        metrics: dict[str, Any] = {}
        if conversion.unresolved_provinces:
            metrics[UNRESOLVED_PROVINCES] = [shown(s) for s in conversion.unresolved_provinces]
        return FeedResult(
            files={DATASET: target},
            outcomes=[outcome],
            report=report if report.blocking_checks else None,
            rows_in=conversion.rows,
            rows_by_scope=lines_by_scope,
            metrics=metrics,
        )

    tables = (PendingTable(DATASET, target),)
    return PendingValidation(tables, parameters, frozenset(lines_by_scope), finish)


def conversion_context(
    settings: Settings, landed: LandedFile, *, shares_cores: bool
) -> ConversionContext:
    return ConversionContext(
        sql_dir=settings.sql_dir,
        pii_salt=buyer_hash_salt(settings),
        sha256=landed.sha256,
        name=landed.key,
        landed_at=landed.landed_at,
        received_at=landed.received_at,
        shares_cores=shares_cores,
    )


def buyer_hash_salt(settings: Settings) -> str:
    from pipelines.platform.settings import DEMO_PII_SALT

    salt = settings.pii_salt.get_secret_value()
    if salt == DEMO_PII_SALT:
        warn_demo_salt()
    return salt


@functools.cache
def warn_demo_salt() -> None:
    log.warning(
        "SENTRA_PII_SALT is the public demo default: buyer hashes can be recomputed by anyone "
        "who knows a buyer's username. Set a long random secret outside the demo."
    )


def validation_parameters(landed: LandedFile, min_expected_rows: int) -> dict[str, Any]:
    return {
        "province_codes": sorted(load_regions().provinces),
        "statuses": list(STATUSES),
        "earliest_order_date": EARLIEST_ORDER_DATE,
        "landed_on": landed.landed_at.astimezone(JAKARTA).date(),
        "min_expected_rows": min_expected_rows,
    }


def clean_schema(dataset: str) -> pa.Schema:
    """The schema of ``marketplace_orders`` Parquet files, lineage columns included."""
    import pyarrow as pa

    if dataset != DATASET:
        raise KeyError(f"the marketplace feed has no dataset {dataset!r}")
    text, whole = pa.string(), pa.int64()
    return pa.schema(
        [
            ("marketplace", text),
            ("seller_account", text),
            ("layout", text),
            ("order_id", text),
            ("order_line_id", text),
            ("status", text),
            ("status_source", text),
            ("ordered_at", pa.timestamp("us", tz="UTC")),
            ("order_date", pa.date32()),
            ("sku", text),
            ("product_name", text),
            ("variation", text),
            ("quantity", pa.int32()),
            ("unit_price_idr", whole),
            ("gross_idr", whole),
            ("net_idr", whole),
            ("buyer_hash", text),
            ("buyer_province_code", text),
            ("source_sheet", text),
            ("source_row", whole),
            *lineage_fields(),
        ]
    )


def shop_folder(key: str) -> str:
    """``<marketplace>/<seller_account>`` of a seller-centre export; "" for the e-Smart feed."""
    parts = PurePosixPath(key).parts
    return "/".join(parts[1:3]) if len(parts) >= 4 else ""


def shop_of(record: LedgerRecord) -> list[str]:
    """The shop an export refreshes (``<marketplace>/<seller_account>``), or the whole feed."""
    return [shop_folder(record.original_name) or "all"]


FEED = Feed(
    source=SOURCE,
    datasets=(DATASET,),
    process=process_marketplace_file,
    prepare=prepare_marketplace_file,
    # The conversion is DuckDB's: a worker thread converts the next exports while GX validates.
    prepare_in_thread=True,
    clean_schema=clean_schema,
    freshness_scopes=shop_of,
    # The same bytes in two shops' folders are two shops' exports, not one file landed twice.
    identity_scope=shop_folder,
)
