"""Validate the typed tables of a run's files together: GX's per-call cost once per batch.

Each ``Batch.validate`` call costs GX close to a second of fixed work (a data source, then one
query per metric) whatever the file's size; a national run of ~600 small exports and 74 registry
files paid it once per file and suite. Here one call screens a batch of files through a union
with a column naming each row's file (``BATCH_FILE_COLUMN``): a DuckDB view over typed Parquet
files (exports, on GX's SQL engine) or concatenated pandas frames (registries, on GX's pandas
engine, as when they are validated alone). The outcome of each file is one of two:

* the file passed every check in the union: its outcome is built from the union's result with
  the file's own counts (rows, non-missing values per check) through GX's own result formatter,
  so the checks, the counts and the Data Docs page are those a call on the file alone gives;
* anything else -- a row of the file failed a check, its row count is off, or the union's
  result cannot be attributed to files (an error, more failing rows than were located): the
  file is validated alone, exactly as before. Its located rows, its cap on them
  (``LOCATED_ROWS_LIMIT``) and its "not every bad row located" rule are then per file by
  construction, and a broken file never hides another's rows.

The union is first checked for a yes or no only (GX's ``BOOLEAN_ONLY``: one aggregate query per
kind of rule, where locating rows costs two more queries per check). A yes means no row of any
file failed any check, which is what a national run's batches nearly always get; only a no pays
for the located rows that tell which files failed. A file on its own is screened the same way:
a yes spares the queries that locate nothing, a no validates it alone.

Screening may only err on the side of a failure (a false alarm costs a call on the file alone),
never miss one, so the union suite differs from the file's only where a check is a property of
the whole table, or could pass with failing rows: uniqueness becomes uniqueness within a file
(compound with the file column), which also keeps a resubmission and its predecessor, which
share their line ids, apart; a ``mostly`` is dropped (a yes must mean no failing row at all);
the row count is compared per file with each file's own parameters. Files are grouped by the other
parameters the suite reads (a landing day, the vocabularies): one union is validated with one
set of them.
See docs/validation-performance.md, "Many small files".
"""

from __future__ import annotations

import copy
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pipelines.platform.duckdb import connect, quote_identifier
from pipelines.quality.validation import (
    BATCH_FILE_COLUMN,
    DUCKDB_RESULT_FORMAT,
    LOCATED_ROWS_LIMIT,
    PANDAS_RESULT_FORMAT,
    ROW_LOCATION_COLUMNS,
    union_query,
)

if TYPE_CHECKING:
    import pandas as pd

    from pipelines.quality.validation import ValidationOutcome, Validator

ROW_COUNT = "expect_table_row_count_to_be_between"
UNIQUE = "expect_column_values_to_be_unique"
UNIQUE_IN_FILE = "expect_compound_columns_to_be_unique"
# Pair rules skip rows by ``ignore_row_if``: the rows each counts as non-missing, in SQL.
PAIR_ROWS_COUNTED = {
    "both_values_are_missing": "{a} is not null or {b} is not null",
    "either_value_is_missing": "{a} is not null and {b} is not null",
    "neither": "true",
}
# Whether every check of the union passed, and nothing else (no rows located, no counts).
SCREEN_RESULT_FORMAT: dict[str, Any] = {"result_format": "BOOLEAN_ONLY"}
# GX's null rules report no missing count (their ``_validate`` gives ``_format_map_output`` no
# non-null count); every other map rule does.
NO_MISSING_COUNT = frozenset(
    {"expect_column_values_to_not_be_null", "expect_column_values_to_be_null"}
)
# A union's located rows name their file (``BATCH_FILE_COLUMN``): a failing row tells which.
UNION_RESULT_FORMAT: dict[str, Any] = {
    **DUCKDB_RESULT_FORMAT,
    "partial_unexpected_count": LOCATED_ROWS_LIMIT,
    "unexpected_index_column_names": [BATCH_FILE_COLUMN, *ROW_LOCATION_COLUMNS],
}
FRAME_UNION_RESULT_FORMAT: dict[str, Any] = {
    **PANDAS_RESULT_FORMAT,
    "unexpected_index_column_names": [BATCH_FILE_COLUMN, *ROW_LOCATION_COLUMNS],
}
# The query GX's pandas engine gives a check without unexpected rows (its
# ``_pandas_map_condition_query`` lists the unexpected rows' index).
NO_ROWS_PANDAS_QUERY = "df.filter(items=[], axis=0)"


@dataclass(frozen=True)
class BatchFile:
    """A typed table of one file to validate, with its expectation parameters: a Parquet file
    (validated on DuckDB) or a pandas frame (validated on pandas)."""

    data: Path | pd.DataFrame
    parameters: dict[str, Any]


@dataclass(frozen=True)
class FileCounts:
    rows: int
    non_missing: dict[str, int]
    """Per check (``meta.check``): the rows GX counts as non-missing for it in this file."""


class ParquetUnion:
    """Typed Parquet files, checked as one DuckDB view on GX's SQL engine."""

    file_format = DUCKDB_RESULT_FORMAT
    union_format = UNION_RESULT_FORMAT
    no_rows_query: str | None = None  # not asked for (``return_unexpected_index_query``)

    def validate(
        self,
        validator: Validator,
        suite: Any,
        files: Sequence[BatchFile],
        parameters: Any,
        result_format: dict[str, Any],
    ) -> Any:
        paths = [path_of(file) for file in files]
        return validator.validate_parquet_union(suite, paths, parameters, result_format)

    def count_per_file(
        self, files: Sequence[BatchFile], counted: dict[str, dict[str, Any]]
    ) -> list[FileCounts]:
        return count_per_parquet([path_of(file) for file in files], counted)

    def file_meta(self, union_result: Any, file: BatchFile) -> dict[str, Any]:
        return dict(union_result.meta)


class FrameUnion:
    """pandas frames, concatenated and checked on GX's pandas engine."""

    file_format = PANDAS_RESULT_FORMAT
    union_format = FRAME_UNION_RESULT_FORMAT
    no_rows_query: str | None = NO_ROWS_PANDAS_QUERY

    def validate(
        self,
        validator: Validator,
        suite: Any,
        files: Sequence[BatchFile],
        parameters: Any,
        result_format: dict[str, Any],
    ) -> Any:
        frames = [frame_of(file) for file in files]
        return validator.validate_frame_union(suite, frames, parameters, result_format)

    def count_per_file(
        self, files: Sequence[BatchFile], counted: dict[str, dict[str, Any]]
    ) -> list[FileCounts]:
        return [count_frame(frame_of(file), counted) for file in files]

    def file_meta(self, union_result: Any, file: BatchFile) -> dict[str, Any]:
        """The union's meta with the file's own fingerprint, as GX's pandas engine marks it."""
        from great_expectations.execution_engine.pandas_execution_engine import (
            HASH_THRESHOLD,
            hash_pandas_dataframe,
        )

        meta = copy.deepcopy(dict(union_result.meta))
        markers = meta["batch_markers"]
        markers.pop("pandas_data_fingerprint", None)
        frame = frame_of(file)
        if frame.memory_usage().sum() < HASH_THRESHOLD:
            markers["pandas_data_fingerprint"] = hash_pandas_dataframe(frame)  # type: ignore[no-untyped-call]
        return meta


def path_of(file: BatchFile) -> Path:
    assert isinstance(file.data, Path)
    return file.data


def frame_of(file: BatchFile) -> pd.DataFrame:
    assert not isinstance(file.data, Path)
    return file.data


def validate_files(
    validator: Validator, suite_name: str, files: Sequence[BatchFile]
) -> list[ValidationOutcome]:
    """Each file's outcome, as ``validator.validate_table`` gives it, in batches."""
    validator.gx_context()  # waits for a warm-up importing GX: its imports are not thread-safe
    screened: dict[int, ValidationOutcome] = {}
    definition = validator.suite_definition(suite_name)
    if batchable(definition):
        for positions in groups_sharing_parameters(definition, files):
            passed = screen(validator, suite_name, [files[i] for i in positions])
            screened |= {positions[local]: outcome for local, outcome in passed.items()}
    return [
        screened[position]
        if position in screened
        else validator.validate_table(suite_name, file.data, file.parameters)
        for position, file in enumerate(files)
    ]


def batchable(definition: dict[str, Any]) -> bool:
    """Whether every check of the suite can be told per file from a union of files.

    Row counts are compared per file; everything else must be a map rule, whose failing rows
    are located (not a rule written as SQL, whose count comes without locations).
    """
    from great_expectations.expectations.expectation import (
        ColumnMapExpectation,
        ColumnPairMapExpectation,
    )
    from great_expectations.expectations.registry import get_expectation_impl

    map_rules = (ColumnMapExpectation, ColumnPairMapExpectation)
    return all(
        expectation["type"] == ROW_COUNT
        or issubclass(get_expectation_impl(expectation["type"]), map_rules)
        for expectation in definition["expectations"]
    )


def groups_sharing_parameters(
    definition: dict[str, Any], files: Sequence[BatchFile]
) -> list[list[int]]:
    """Positions of the files whose parameters are equal but for those of per-file row counts
    (and those the suite does not read: the sentra and member suites share a file's)."""
    shared_names = set(parameter_names(definition)) - set(parameter_names(definition, ROW_COUNT))
    groups: dict[str, list[int]] = {}
    for position, file in enumerate(files):
        shared = {name: value for name, value in file.parameters.items() if name in shared_names}
        groups.setdefault(json.dumps(shared, sort_keys=True, default=str), []).append(position)
    return list(groups.values())


def parameter_names(definition: dict[str, Any], expectation_type: str | None = None) -> list[str]:
    """The parameters the suite's expectations (of one type, if given) read."""
    return [
        value["$PARAMETER"]
        for expectation in definition["expectations"]
        if expectation_type in (None, expectation["type"])
        for value in expectation["kwargs"].values()
        if isinstance(value, dict) and "$PARAMETER" in value
    ]


def screen(
    validator: Validator, suite_name: str, files: Sequence[BatchFile]
) -> dict[int, ValidationOutcome]:
    """The outcomes of the files (by position) that pass every check in one union of them."""
    import great_expectations as gx

    engine = ParquetUnion() if isinstance(files[0].data, Path) else FrameUnion()
    definition = validator.suite_definition(suite_name)
    suite = gx.ExpectationSuite(
        name=definition["name"],
        expectations=[
            union_expectation(expectation)
            for expectation in definition["expectations"]
            if expectation["type"] != ROW_COUNT
        ],
    )
    parameters = files[0].parameters
    union_result = engine.validate(validator, suite, files, parameters, SCREEN_RESULT_FORMAT)
    failing: set[int] | None = set()
    if not union_result.success:
        if len(files) == 1:
            return {}  # validated alone: locating its rows here would be the same work
        union_result = engine.validate(validator, suite, files, parameters, engine.union_format)
        failing = files_failing(union_result)
    if failing is None:
        return {}
    counts = engine.count_per_file(files, counted_checks(definition))
    outcomes = {}
    for position, file in enumerate(files):
        configurations = file_configurations(
            validator.suite(suite_name), file.parameters, union_result.batch_id
        )
        if position in failing or not row_counts_pass(configurations, counts[position].rows):
            continue
        meta = engine.file_meta(union_result, file)
        passed = passed_result(union_result, configurations, counts[position], engine, meta)
        outcomes[position] = validator.outcome(suite_name, passed, f"file {position} of a batch")
    return outcomes


def union_expectation(expectation: dict[str, Any]) -> dict[str, Any]:
    """The expectation as checked on a union of files: uniqueness holds within each file, and
    every row must pass (a ``mostly`` would let a union pass with failing rows)."""
    kwargs = {name: value for name, value in expectation["kwargs"].items() if name != "mostly"}
    if expectation["type"] != UNIQUE:
        return {**expectation, "kwargs": kwargs}
    return {
        **expectation,
        "type": UNIQUE_IN_FILE,
        "kwargs": {"column_list": [BATCH_FILE_COLUMN, kwargs["column"]]},
    }


def files_failing(union_result: Any) -> set[int] | None:
    """Positions of the files with a failing row; None when the result cannot tell them all."""
    failing: set[int] = set()
    for item in union_result.to_json_dict()["results"]:
        details = item.get("result") or {}
        # COMPLETE (pandas) lists every located row; SUMMARY (DuckDB) up to its cap.
        located = (
            details.get("unexpected_index_list")
            or details.get("partial_unexpected_index_list")
            or []
        )
        unexpected = int(details.get("unexpected_count") or 0)
        raised = item.get("exception_info", {}).get("raised_exception")
        if raised or unexpected > len(located) or (not item["success"] and not located):
            return None
        failing |= {int(row[BATCH_FILE_COLUMN]) for row in located}
    return failing


def counted_checks(definition: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The arguments of each check (by ``meta.check``) whose non-missing rows GX counts."""
    return {
        expectation["meta"]["check"]: expectation["kwargs"]
        for expectation in definition["expectations"]
        if expectation["type"] != ROW_COUNT
    }


def count_per_parquet(
    paths: Sequence[Path], counted: dict[str, dict[str, Any]]
) -> list[FileCounts]:
    """Each file's rows, and per check the rows GX counts as non-missing, in one query."""
    columns = ", ".join(
        f"count(*) filter (where {non_missing_condition(kwargs)}) as {quote_identifier(check)}"
        for check, kwargs in counted.items()
    )
    con = connect(Path(":memory:"))
    try:
        rows = con.execute(
            f"select {BATCH_FILE_COLUMN}, count(*), {columns} from ({union_query(paths)}) "
            f"group by {BATCH_FILE_COLUMN}"
        ).fetchall()
    finally:
        con.close()
    by_file = {
        int(row[0]): FileCounts(int(row[1]), dict(zip(counted, map(int, row[2:]), strict=True)))
        for row in rows
    }
    empty = FileCounts(0, dict.fromkeys(counted, 0))
    return [by_file.get(position, empty) for position in range(len(paths))]


def non_missing_condition(kwargs: dict[str, Any]) -> str:
    if "column" in kwargs:
        return f"{quote_identifier(kwargs['column'])} is not null"
    condition = PAIR_ROWS_COUNTED[kwargs.get("ignore_row_if", "both_values_are_missing")]
    return condition.format(
        a=quote_identifier(kwargs["column_A"]), b=quote_identifier(kwargs["column_B"])
    )


def count_frame(frame: pd.DataFrame, counted: dict[str, dict[str, Any]]) -> FileCounts:
    """A frame's rows, and per check the rows GX's pandas engine counts as non-missing."""
    non_missing = {}
    for check, kwargs in counted.items():
        if "column" in kwargs:
            present = frame[kwargs["column"]].notna()
        else:
            a, b = frame[kwargs["column_A"]].notna(), frame[kwargs["column_B"]].notna()
            rule = kwargs.get("ignore_row_if", "both_values_are_missing")
            present = {
                "both_values_are_missing": a | b,
                "either_value_is_missing": a & b,
                "neither": a | ~a,
            }[rule]
        non_missing[check] = int(present.sum())
    return FileCounts(len(frame), non_missing)


def file_configurations(suite: Any, parameters: dict[str, Any], batch_id: str) -> list[Any]:
    """The suite's configurations as GX evaluates them for one file: parameters filled in, the
    batch named, in GX's order (grouped by column, as ``process_expectations_for_validation``),
    as its expectation objects give them back (with their arguments' types: a year bound is a
    float)."""
    by_column: dict[str, list[Any]] = {}
    for expectation in suite.expectation_configurations:
        configuration = copy.deepcopy(expectation)
        configuration.process_suite_parameters(suite_parameters=parameters)
        configuration.kwargs["batch_id"] = batch_id
        configuration = configuration.to_domain_obj().configuration
        column = configuration.kwargs.get("column")
        by_column.setdefault(column if isinstance(column, str) else "", []).append(configuration)
    return [configuration for group in by_column.values() for configuration in group]


def row_counts_pass(configurations: list[Any], rows: int) -> bool:
    for configuration in configurations:
        if configuration.type == ROW_COUNT:
            low, high = configuration.kwargs.get("min_value"), configuration.kwargs.get("max_value")
            if (low is not None and rows < low) or (high is not None and rows > high):
                return False
    return True


def passed_result(
    union_result: Any,
    configurations: list[Any],
    counts: FileCounts,
    engine: ParquetUnion | FrameUnion,
    meta: dict[str, Any],
) -> Any:
    """The suite result a call on the file alone gives when every check passes."""
    from great_expectations.core.expectation_validation_result import (
        ExpectationSuiteValidationResult,
        ExpectationValidationResult,
    )
    from great_expectations.expectations.expectation import _format_map_output
    from great_expectations.expectations.expectation_configuration import parse_result_format
    from great_expectations.validator.validation_statistics import calc_validation_statistics

    union_items = {item.expectation_config.meta["check"]: item for item in union_result.results}
    results = []
    for configuration in configurations:
        check = configuration.meta["check"]
        if configuration.type == ROW_COUNT:
            details: dict[str, Any] = {"observed_value": counts.rows}
            exception_info = {
                "raised_exception": False,
                "exception_traceback": None,
                "exception_message": None,
            }
        else:
            union_item = union_items[check]
            counts_missing = configuration.type not in NO_MISSING_COUNT
            details = _format_map_output(
                result_format=parse_result_format(engine.file_format),
                success=True,
                element_count=counts.rows,
                nonnull_count=counts.non_missing[check] if counts_missing else None,
                unexpected_count=0,
                unexpected_list=[],
                unexpected_index_list=[],
                unexpected_index_query=engine.no_rows_query,
                unexpected_index_column_names=ROW_LOCATION_COLUMNS,
            )["result"]
            exception_info = union_item.exception_info
        results.append(
            ExpectationValidationResult(
                success=True,
                expectation_config=configuration,
                result=details,
                exception_info=exception_info,
            )
        )
    statistics = calc_validation_statistics(results)
    return ExpectationSuiteValidationResult(
        success=statistics.success,
        results=results,
        suite_name=union_result.suite_name,
        statistics={
            "evaluated_expectations": statistics.evaluated_expectations,
            "successful_expectations": statistics.successful_expectations,
            "unsuccessful_expectations": statistics.unsuccessful_expectations,
            "success_percent": statistics.success_percent,
        },
        meta=meta,
        batch_id=union_result.batch_id,
    )
