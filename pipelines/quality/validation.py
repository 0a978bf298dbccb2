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
import tempfile
import threading
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

from pipelines.platform.duckdb import escape_string, process_spill_folder

if TYPE_CHECKING:
    import pandas as pd

log = logging.getLogger(__name__)

SAMPLE_SIZE = 10
# Row lineage columns every validated frame carries, so a failure points at sheet and row.
ROW_LOCATION_COLUMNS = ["source_sheet", "source_row"]

# The cap on located rows per failed check when a Parquet file is validated on DuckDB. GX's
# COMPLETE format would fetch every unexpected row and its location (millions for a broken
# national file; with the DuckDB patch they would all be buffered in memory). SUMMARY with
# this many partial rows keeps memory bounded: GX's SQL engine fetches samples, values and
# locations with ``LIMIT LOCATED_ROWS_LIMIT``, while ``unexpected_count`` stays an exact
# aggregate over the whole file. Past the cap ``unexpected_rows`` holds the first
# LOCATED_ROWS_LIMIT rows only, so ``len(unexpected_rows) < unexpected_count`` -- which the
# quarantine already reads as "not every bad row is located" (the whole file is held back).
LOCATED_ROWS_LIMIT = 1000
# Small frames (registries) are validated whole: every failing row is located.
PANDAS_RESULT_FORMAT: dict[str, Any] = {
    "result_format": "COMPLETE",
    "unexpected_index_column_names": ROW_LOCATION_COLUMNS,
}
DUCKDB_RESULT_FORMAT: dict[str, Any] = {
    "result_format": "SUMMARY",
    "partial_unexpected_count": LOCATED_ROWS_LIMIT,
    "unexpected_index_column_names": ROW_LOCATION_COLUMNS,
    # The query text GX would add to each result is not used, and it names a temporary file.
    "return_unexpected_index_query": False,
}
UNEXPECTED_ROWS = "unexpected_rows_expectation"
# The view over the Parquet file that GX's SQL engine validates.
PARQUET_VIEW = "batch"
# The column of a union of files or frames (``Validator.validate_parquet_union``,
# ``Validator.validate_frame_union``) naming each row's file.
BATCH_FILE_COLUMN = "validation_batch_file"
# The file a row of such a union was read from, as DuckDB names it while reading.
BATCH_FILE_PATH = "validation_batch_path"


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
    gx_result: Any = field(default=None, repr=False, compare=False)
    """GX's own validation result, kept to render its Data Docs page."""
    gx_document: dict[str, Any] | None = field(default=None, repr=False, compare=False)
    """``gx_result.to_json_dict()``, made once for the checks and kept for the file's Data Docs
    result: GX serialises a result through marshmallow, ~20 ms for an export's suite."""

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
    """Runs the suites in ``expectations/`` against pandas batches through GX Core.

    One validator per process holds GX's context and each suite, built once: a run of many small
    files pays GX's import and set-up once, not per file.
    """

    def __init__(self, expectations_dir: Path) -> None:
        self.expectations_dir = expectations_dir
        self._context_lock = threading.Lock()
        self._gx_context: Any = None
        self._warm_up: threading.Thread | None = None
        self._suites: dict[str, tuple[Any, dict[str, int]]] = {}

    def suite_definition(self, suite_name: str) -> dict[str, Any]:
        path = self.expectations_dir / f"{suite_name}.json"
        try:
            definition: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError as error:
            raise FileNotFoundError(
                f"expectation suite {suite_name!r} not found at {path}"
            ) from error
        return definition

    def warm_up(self) -> None:
        """Start importing GX and building its context in a background thread.

        Everything here that imports GX calls ``gx_context()`` first, which waits for the
        warm-up: GX's circular imports, run from two threads at once, fail half-initialised.

        Importing GX takes seconds of Python; the conversion a file needs first spends them in
        DuckDB, which releases the GIL, so the two overlap. Not a daemon thread: an import cut
        off at interpreter exit can crash the process.
        """
        if self._warm_up is None and self._gx_context is None:
            self._warm_up = threading.Thread(target=self._quiet_context, name="sentra-gx-warm-up")
            self._warm_up.start()

    def _quiet_context(self) -> None:
        try:
            self.gx_context()
        except Exception:  # the first real use raises it again, where it is reported
            log.debug("warming up Great Expectations failed", exc_info=True)

    def gx_context(self) -> Any:
        with self._context_lock:  # waits for a warm-up under way
            if self._gx_context is None:
                self._gx_context = new_gx_context()
            return self._gx_context

    def suite(self, suite_name: str) -> Any:
        """The suite as a GX object, built once."""
        return self._suite(suite_name)[0]

    def _suite(self, suite_name: str) -> tuple[Any, dict[str, int]]:
        """The suite as a GX object, and each check's position in the file (report order)."""
        if suite_name not in self._suites:
            import great_expectations as gx

            definition = self.suite_definition(suite_name)
            suite = gx.ExpectationSuite(
                name=definition["name"], expectations=definition["expectations"]
            )
            checks = definition["expectations"]
            order = {exp["meta"]["check"]: i for i, exp in enumerate(checks)}
            self._suites[suite_name] = (suite, order)
        return self._suites[suite_name]

    @cached_property
    def _batch_definition(self) -> Any:
        datasource = self.gx_context().data_sources.add_pandas("sentra_batches")
        asset = datasource.add_dataframe_asset("batch")
        return asset.add_batch_definition_whole_dataframe("whole_frame")

    def validate(
        self, suite_name: str, frame: pd.DataFrame, parameters: dict[str, Any] | None = None
    ) -> ValidationOutcome:
        """Validate a whole pandas frame; every failing row is located (small feeds)."""
        batch = self._batch_definition.get_batch(batch_parameters={"dataframe": frame})
        return self._validate_batch(
            suite_name, batch, parameters, PANDAS_RESULT_FORMAT, f"{len(frame)} rows"
        )

    def validate_parquet(
        self, suite_name: str, path: Path, parameters: dict[str, Any] | None = None
    ) -> ValidationOutcome:
        """Validate a typed Parquet file with GX's SQL engine on DuckDB (large feeds).

        The file must carry the row-location columns. DuckDB reads it in place through a view
        (``read_parquet``), so memory does not grow with the file and uniqueness is checked
        across the whole file. Counts are exact; located rows are capped at
        ``LOCATED_ROWS_LIMIT`` per check.
        """
        with self._duckdb_batch(create_parquet_view, Path(path)) as batch:
            outcome = self._validate_batch(
                suite_name, batch, parameters, DUCKDB_RESULT_FORMAT, str(path), in_file_order
            )
        return outcome

    def validate_parquet_union(
        self,
        suite: Any,
        paths: Sequence[Path],
        parameters: dict[str, Any],
        result_format: dict[str, Any],
    ) -> Any:
        """GX's raw result for ``suite`` over the union of ``paths`` (``BATCH_FILE_COLUMN`` says
        which file a row is from), for ``pipelines.quality.batch_validation``."""
        with self._duckdb_batch(create_union_view, *paths) as batch:
            return batch.validate(
                suite, expectation_parameters=parameters, result_format=result_format
            )

    def validate_frame_union(
        self,
        suite: Any,
        frames: Sequence[pd.DataFrame],
        parameters: dict[str, Any],
        result_format: dict[str, Any],
    ) -> Any:
        """GX's raw result for ``suite`` over the frames concatenated on GX's pandas engine
        (``BATCH_FILE_COLUMN`` says which frame a row is from), for ``batch_validation``."""
        import pandas as pd

        union = pd.concat(
            [frame.assign(**{BATCH_FILE_COLUMN: n}) for n, frame in enumerate(frames)],
            ignore_index=True,
        )
        batch = self._batch_definition.get_batch(batch_parameters={"dataframe": union})
        return batch.validate(suite, expectation_parameters=parameters, result_format=result_format)

    def validate_table(
        self, suite_name: str, data: Path | pd.DataFrame, parameters: dict[str, Any] | None = None
    ) -> ValidationOutcome:
        """A typed Parquet file on DuckDB, a pandas frame on pandas."""
        if isinstance(data, Path):
            return self.validate_parquet(suite_name, data, parameters)
        return self.validate(suite_name, data, parameters)

    @contextmanager
    def _duckdb_batch(
        self, create_view: Callable[[Path, Sequence[Path]], None], *paths: Path
    ) -> Iterator[Any]:
        """A GX batch over a DuckDB view of ``paths``, in a throwaway database and data source."""
        from pipelines.quality import gx_duckdb

        parquets = [Path(path).resolve() for path in paths]
        for path, parquet in zip(paths, parquets, strict=True):
            if not parquet.is_file():
                raise FileNotFoundError(f"cannot validate {path}: no such Parquet file")
        # The context first: it waits for a warm-up still importing GX, and importing parts of
        # GX from two threads at once meets its circular imports half-initialised.
        context = self.gx_context()
        gx_duckdb.apply()
        name = f"parquet_{uuid.uuid4().hex}"
        with tempfile.TemporaryDirectory(prefix="sentra-validate-") as folder:
            database = Path(folder) / "batch.duckdb"
            create_view(database, parquets)
            datasource = context.data_sources.add_sql(
                name=name,
                connection_string=f"duckdb:///{database}",
                # GX only reads; no extension is ever fetched from the internet.
                kwargs={"connect_args": {"read_only": True, "config": duckdb_validation_config()}},
            )
            try:
                asset = datasource.add_table_asset(name="parquet", table_name=PARQUET_VIEW)
                yield asset.add_batch_definition_whole_table("whole_file").get_batch()
            finally:
                # Both the data source and GX's execution engine pool DuckDB connections.
                datasource.get_execution_engine().close()
                datasource.get_engine().dispose()
                context.data_sources.delete(name)

    def _validate_batch(
        self,
        suite_name: str,
        batch: Any,
        parameters: dict[str, Any] | None,
        result_format: dict[str, Any],
        source: str,
        prepare: Callable[[dict[str, Any]], dict[str, Any]] | None = None,
    ) -> ValidationOutcome:
        suite, _ = self._suite(suite_name)
        gx_result = batch.validate(
            suite, expectation_parameters=parameters or {}, result_format=result_format
        )
        return self.outcome(suite_name, gx_result, source, prepare)

    def outcome(
        self,
        suite_name: str,
        gx_result: Any,
        source: str,
        prepare: Callable[[dict[str, Any]], dict[str, Any]] | None = None,
    ) -> ValidationOutcome:
        """Our outcome of GX's suite result: one check per expectation, in the suite's order."""
        _, order = self._suite(suite_name)
        result = gx_result.to_json_dict()
        checks = [check_result(prepare(item) if prepare else item) for item in result["results"]]
        checks.sort(key=lambda check: order.get(check.check, len(order)))
        outcome = ValidationOutcome(
            suite=suite_name, checks=checks, gx_result=gx_result, gx_document=result
        )
        log.info(
            "validated %s (%s): %d checks, %d critical failures, %d warnings",
            suite_name,
            source,
            len(checks),
            len(outcome.critical_failures),
            len(outcome.warnings),
        )
        return outcome


def preload_validation() -> None:
    """Import what validating a file and rendering its Data Docs need, in a process that forks.

    Only for a parent of task processes (see ``pipelines.quality.worker_preload``); each
    validator still builds its own GX context, which takes a fraction of a second.
    """
    import_great_expectations()
    import duckdb  # noqa: F401
    import pyarrow  # noqa: F401
    from great_expectations.render.renderer.page_renderer import (  # noqa: F401
        ValidationResultsPageRenderer,
    )

    from pipelines.quality import gx_duckdb

    gx_duckdb.apply()


def import_great_expectations() -> ModuleType:
    """GX, imported without usage statistics and without INFO lines in our log.

    Anonymous usage statistics would try the network; our machines have none. While importing,
    GX logs each class it registers at INFO (hundreds of lines under ``sentra -v``, or per
    Celery worker), and one of its modules sets its own logger to INFO for its set-up chatter
    (temporary docs folders): our log says what matters.
    """
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    logging.getLogger("great_expectations").setLevel(logging.WARNING)
    import great_expectations

    for name, logger in list(logging.root.manager.loggerDict.items()):
        if name.startswith("great_expectations.") and isinstance(logger, logging.Logger):
            logger.setLevel(logging.NOTSET)  # WARNING, from "great_expectations"
    return great_expectations


def new_gx_context() -> Any:
    """An ephemeral GX context: nothing on disk, no progress bars, no usage statistics."""
    gx = import_great_expectations()
    from great_expectations.data_context.types.base import ProgressBarsConfig

    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    return context


# DuckDB settings for validation connections: never reach for the network.
DUCKDB_OFFLINE: dict[str, str | bool | int | float | list[str]] = {
    "autoinstall_known_extensions": False,
    "autoload_known_extensions": False,
}


# The exact uniqueness check over a whole export is a hash table of every order line id: without
# a limit DuckDB grows it (and its Parquet buffers) towards 80% of the machine, nearly 1 GiB at
# 5 million lines. Held to this, it spills to disk instead and the ingest's memory stays flat:
# 256 MB kept a whole `sentra ingest` at 0.76 GB from 1 M to 5 M lines, in the same time as
# 512 MB, which let it grow by 0.2 GB (docs/benchmarks.md).
VALIDATION_MEMORY_LIMIT = "256MB"


def duckdb_validation_config() -> dict[str, str | bool | int | float | list[str]]:
    """The offline settings, plus a memory limit and a spill folder for GX's queries."""
    return {
        **DUCKDB_OFFLINE,
        "memory_limit": VALIDATION_MEMORY_LIMIT,
        "temp_directory": str(process_spill_folder()),
    }


def create_parquet_view(database: Path, parquets: Sequence[Path]) -> None:
    """A DuckDB database holding only ``PARQUET_VIEW``, a view that reads a file in place."""
    [parquet] = parquets
    create_view(database, f"select * from read_parquet('{escape_string(parquet)}')")


def create_union_view(database: Path, parquets: Sequence[Path]) -> None:
    """``PARQUET_VIEW`` over many files, each row with its file's position in ``parquets``."""
    create_view(database, union_query(parquets))


def union_query(parquets: Sequence[Path]) -> str:
    """The rows of every file, ``BATCH_FILE_COLUMN`` saying which (its position in ``parquets``).

    One scan of the list, not a ``union all`` of one scan per file: GX plans each of its queries
    on this view, and a 32-way union made a national batch's yes-or-no call 0.46 s instead of
    0.35 s.
    """
    listed = ", ".join(f"'{escape_string(parquet)}'" for parquet in parquets)
    return (
        f"select * exclude ({BATCH_FILE_PATH}), "
        f"cast(list_position([{listed}], {BATCH_FILE_PATH}) - 1 as integer) as {BATCH_FILE_COLUMN} "
        f"from read_parquet([{listed}], filename = '{BATCH_FILE_PATH}', union_by_name = true)"
    )


def create_view(database: Path, query: str) -> None:
    import duckdb

    con = duckdb.connect(str(database), config=DUCKDB_OFFLINE)
    try:
        con.execute(f"create view {PARQUET_VIEW} as {query}")
    finally:
        con.close()


def check_result(item: dict[str, Any]) -> CheckResult:
    config = item["expectation_config"]
    meta = config.get("meta") or {}
    details = item.get("result") or {}
    column = config["kwargs"].get("column")
    # COMPLETE (pandas) lists every located row; SUMMARY (DuckDB) the first LOCATED_ROWS_LIMIT.
    located = (
        details.get("unexpected_index_list") or details.get("partial_unexpected_index_list") or []
    )
    return CheckResult(
        check=meta.get("check", config["type"]),
        description=meta.get("description", config["type"]),
        severity=meta.get("severity", "critical"),
        column=column,
        success=bool(item["success"]),
        # UnexpectedRowsExpectation (how regex rules are expressed on DuckDB, where GX's regex
        # expectations are not supported) reports its count of rows as the observed value, and
        # no located rows below COMPLETE.
        unexpected_count=int(
            details.get("unexpected_count")
            or (details.get("observed_value") if config["type"] == UNEXPECTED_ROWS else 0)
            or 0
        ),
        element_count=int(details.get("element_count") or 0),
        sample_rows=[located_row(row, column) for row in located[:SAMPLE_SIZE]],
        sample_values=[
            str(value) for value in (details.get("partial_unexpected_list") or [])[:SAMPLE_SIZE]
        ],
        error=exception_message(item),
        unexpected_rows=tuple(
            tuple(json_safe(row.get(key)) for key in ROW_LOCATION_COLUMNS) for row in located
        ),
    )


def exception_message(item: dict[str, Any]) -> str | None:
    """What went wrong while checking, or None.

    GX reports an expectation's own exception flat (``raised_exception``, ``exception_message``),
    but a metric that failed to resolve (a missing column, a failed SQL query) as one such
    entry per metric id.
    """
    info = item.get("exception_info") or {}
    entries = [info] if "raised_exception" in info else list(info.values())
    messages = [
        str(entry.get("exception_message"))
        for entry in entries
        if isinstance(entry, dict) and entry.get("raised_exception")
    ]
    return "; ".join(dict.fromkeys(messages)) or None


def in_file_order(item: dict[str, Any]) -> dict[str, Any]:
    """A SQL-engine result with its located rows, and their values, in file order.

    DuckDB returns the rows of a ``LIMIT`` query in whatever order its threads and hash joins
    produce them (duplicates come out of a join), so the pandas path's order -- file order --
    is restored here; GX fetches values and locations in separate queries, so the sample
    values are taken from the sorted rows to keep the two in step.
    """
    details = item.get("result") or {}
    located = details.get("partial_unexpected_index_list")
    if not located:
        return item
    rows = sorted(located, key=location_key)
    column = item["expectation_config"]["kwargs"].get("column")
    ordered = {**details, "partial_unexpected_index_list": rows}
    if column and all(column in row for row in rows):
        ordered["partial_unexpected_list"] = [row[column] for row in rows]
    return {**item, "result": ordered}


def location_key(row: dict[str, Any]) -> tuple[tuple[bool, Any], ...]:
    # Missing locations sort last without comparing None with a value.
    return tuple(
        (row.get(key) is None, row.get(key) if row.get(key) is not None else 0)
        for key in ROW_LOCATION_COLUMNS
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
