"""The BPS feed as the ingest sees it: ``process_bps_file`` and the ``FEED`` declaration.

Two ways in, one way through: responses landed under ``bps/`` (offline use, the demo) and
responses ``pull`` fetched from the API both reach ``process_bps_file`` as landed files, so the
raw copy by sha256, the ledger, idempotency and quarantine are the ingest's. Each response is
decoded (``decode``), its BPS regions mapped to Kemendagri province codes through the crosswalk,
and its rows validated with ``expectations/bps_imk_growth.json``.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from pipelines.feeds.bps.api import BpsResponseError
from pipelines.feeds.bps.decode import decode, release_from_landed, row_schema, to_table
from pipelines.feeds.bps.tables import DATASET, NATIONAL_CODE, SOURCE
from pipelines.feeds.contract import Feed, FeedContext, FeedResult, LandedFile, lineage_fields
from pipelines.reference.regions import load_regions

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa

log = logging.getLogger(__name__)


def process_bps_file(context: FeedContext, landed: LandedFile) -> FeedResult:
    """Read, decode and validate one BPS response: typed rows, or a report of what is wrong."""
    report = context.new_report()
    try:
        release = release_from_landed(landed.key, landed.data)
        if release is None:
            log.info("%s: BPS has no data (not-available); nothing to ingest", landed.key)
            return FeedResult()
        decoded = decode(release)
    except BpsResponseError as error:
        report.file_error = str(error)
        return FeedResult(report=report)
    table = to_table(decoded.rows)
    scope = {release.scope: table.num_rows}
    parameters = validation_parameters(context, scope)
    outcome = context.validator.validate(DATASET, validation_frame(table), parameters)
    report.cell_problems = decoded.problems
    report.failed_checks = outcome.failed
    report.rows_in = table.num_rows
    report.rows_rejected = len(report.located_rows())
    return FeedResult(
        tables={DATASET: table},
        outcomes=[outcome],
        report=report if decoded.problems or report.blocking_checks else None,
        rows_in=table.num_rows,
        rows_by_scope=scope,
    )


def validation_parameters(context: FeedContext, scope: dict[str, int]) -> dict[str, Any]:
    """Reference province codes (and national), this year, and the truncation floor."""
    return {
        "province_codes": sorted([*load_regions().provinces, NATIONAL_CODE]),
        "current_year": context.settings.reference_date().year,
        "min_expected_rows": context.minimum_expected_rows(scope),
    }


def validation_frame(table: pa.Table) -> pd.DataFrame:
    """A pandas frame with nullable dtypes, so a missing quarter or growth stays missing."""
    import pandas as pd
    import pyarrow as pa

    nullable = {pa.int64(): pd.Int64Dtype(), pa.float64(): pd.Float64Dtype()}
    frame: pd.DataFrame = table.to_pandas(types_mapper=nullable.get)
    return frame


def clean_schema(dataset: str = DATASET) -> pa.Schema:
    """The schema of ``clean/bps_imk_growth/`` Parquet files, lineage columns included."""
    import pyarrow as pa

    if dataset != DATASET:
        raise KeyError(f"the BPS feed does not produce {dataset!r}")
    return pa.schema([*row_schema(), *lineage_fields()])


FEED = Feed(
    source=SOURCE,
    datasets=(DATASET,),
    process=process_bps_file,
    clean_schema=clean_schema,
)
