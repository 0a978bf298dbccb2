"""Great Expectations validation of typed batches, with our own readable outcome.

Suites live as JSON in ``expectations/`` (reviewed like code). Each expectation carries
``meta.check`` (a stable name), ``meta.severity`` (``critical`` blocks the batch, ``warning``
publishes and reports) and ``meta.description`` (the sentence a report shows). GX is imported
here only, inside the validator, because importing it costs seconds and hundreds of MB.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

log = logging.getLogger(__name__)

SAMPLE_SIZE = 10
# Row lineage columns every validated frame carries, so a failure points at sheet and row.
ROW_LOCATION_COLUMNS = ["source_sheet", "source_row"]


@dataclass(frozen=True)
class CheckResult:
    """The outcome of one expectation, in the words of the suite file."""

    check: str
    description: str
    severity: str
    column: str | None
    success: bool
    unexpected_count: int = 0
    element_count: int = 0
    sample_rows: list[dict[str, Any]] = field(default_factory=list)
    sample_values: list[str] = field(default_factory=list)
    error: str | None = None
    # Every failing (sheet, row), for exact rejected-row counts; not written into reports.
    unexpected_rows: tuple[tuple[Any, ...], ...] = ()


@dataclass(frozen=True)
class ValidationOutcome:
    suite: str
    checks: list[CheckResult]

    @property
    def failed(self) -> list[CheckResult]:
        return [check for check in self.checks if not check.success]

    @property
    def critical_failures(self) -> list[CheckResult]:
        return [check for check in self.failed if check.severity == "critical"]

    @property
    def warnings(self) -> list[CheckResult]:
        return [check for check in self.failed if check.severity != "critical"]

    @property
    def passed(self) -> bool:
        return not self.critical_failures


class Validator:
    """Runs the suites in ``expectations/`` against pandas batches through GX Core."""

    def __init__(self, expectations_dir: Path) -> None:
        self.expectations_dir = expectations_dir

    def suite_definition(self, suite_name: str) -> dict[str, Any]:
        path = self.expectations_dir / f"{suite_name}.json"
        try:
            definition: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError as error:
            raise FileNotFoundError(
                f"expectation suite {suite_name!r} not found at {path}"
            ) from error
        return definition

    @cached_property
    def _batch_definition(self) -> Any:
        # Anonymous usage statistics would try the network; our machines have none.
        os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
        import great_expectations as gx
        from great_expectations.data_context.types.base import ProgressBarsConfig

        # GX logs set-up chatter (temporary docs folders) at INFO; our log says what matters.
        logging.getLogger("great_expectations").setLevel(logging.WARNING)
        context = gx.get_context(mode="ephemeral")
        context.variables.progress_bars = ProgressBarsConfig(globally=False)
        asset = context.data_sources.add_pandas("sentra_batches").add_dataframe_asset("batch")
        return asset.add_batch_definition_whole_dataframe("whole_frame")

    def validate(
        self, suite_name: str, frame: pd.DataFrame, parameters: dict[str, Any] | None = None
    ) -> ValidationOutcome:
        import great_expectations as gx

        definition = self.suite_definition(suite_name)
        suite = gx.ExpectationSuite(
            name=definition["name"], expectations=definition["expectations"]
        )
        batch = self._batch_definition.get_batch(batch_parameters={"dataframe": frame})
        result = batch.validate(
            suite,
            expectation_parameters=parameters or {},
            result_format={
                "result_format": "COMPLETE",
                "unexpected_index_column_names": ROW_LOCATION_COLUMNS,
            },
        ).to_json_dict()
        checks = [check_result(item) for item in result["results"]]
        order = {exp["meta"]["check"]: i for i, exp in enumerate(definition["expectations"])}
        checks.sort(key=lambda check: order.get(check.check, len(order)))
        outcome = ValidationOutcome(suite=suite_name, checks=checks)
        log.info(
            "validated %s: %d rows, %d checks, %d critical failures, %d warnings",
            suite_name,
            len(frame),
            len(checks),
            len(outcome.critical_failures),
            len(outcome.warnings),
        )
        return outcome


    def validate_parquet(
        self, suite_name: str, path: Path, parameters: dict[str, Any] | None = None
    ) -> ValidationOutcome:
        """Validate a typed Parquet file (large feeds write Parquet first, then validate it).

        The file must carry the row-location columns. This reads it into pandas; large files
        should move to GX's SQL engine over DuckDB behind this same call.
        """
        import pandas as pd

        return self.validate(suite_name, pd.read_parquet(path), parameters)


def check_result(item: dict[str, Any]) -> CheckResult:
    config = item["expectation_config"]
    meta = config.get("meta") or {}
    details = item.get("result") or {}
    exception = item.get("exception_info") or {}
    error = exception.get("exception_message") if exception.get("raised_exception") else None
    column = config["kwargs"].get("column")
    return CheckResult(
        check=meta.get("check", config["type"]),
        description=meta.get("description", config["type"]),
        severity=meta.get("severity", "critical"),
        column=column,
        success=bool(item["success"]),
        unexpected_count=int(details.get("unexpected_count") or 0),
        element_count=int(details.get("element_count") or 0),
        sample_rows=[
            located_row(row, column)
            for row in (details.get("unexpected_index_list") or [])[:SAMPLE_SIZE]
        ],
        sample_values=[
            str(value) for value in (details.get("partial_unexpected_list") or [])[:SAMPLE_SIZE]
        ],
        error=error,
        unexpected_rows=tuple(
            tuple(json_safe(row.get(key)) for key in ROW_LOCATION_COLUMNS)
            for row in details.get("unexpected_index_list") or []
        ),
    )


def located_row(row: dict[str, Any], column: str | None) -> dict[str, Any]:
    """``{'source_sheet': 'Sentra', 'source_row': 12, 'jumlah_ikm': 0}`` with plain JSON values."""
    keys = [*ROW_LOCATION_COLUMNS, *([column] if column else [])]
    return {key: json_safe(row.get(key)) for key in keys}


def json_safe(value: Any) -> Any:
    if value is None or type(value).__name__ == "NAType":  # pandas' missing marker
        return None
    if isinstance(value, str | bool | int | float):
        return value
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    return str(value)
