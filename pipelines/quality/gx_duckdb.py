"""Let Great Expectations' SQL execution engine read query results from DuckDB.

The upstream bug
----------------
GX 1.x runs every metric query through ``SqlAlchemyExecutionEngine.execute_query``::

    with self.get_connection() as connection:       # engine.connect() ... close()
        result = self._execute_query_with_recovery(connection, query)
    return result                                  # the caller calls .fetchall() *here*

The rows are fetched after the connection is closed. Drivers whose cursors already hold the
rows (psycopg2, sqlite3) get away with it. duckdb_engine's cursor is the DuckDB connection
itself, which holds one pending result; closing the SQLAlchemy connection rolls back the
transaction it began, and a DuckDB rollback discards that pending result, so every fetch comes
back empty. GX then fails in ``resolve_metric_bundle`` with ``IndexError: list
index out of range`` on ``res[0]`` and reports every expectation as failed with an empty
result. Reported upstream as great_expectations issue #11579 ("resolve_metric_bundle raises
IndexError with duckdb-engine (empty results)", closed) and #10738 ("Enable Duckdb sqlalchemy
data source"); the proposed fix, PR #11635, only turns the IndexError into a clearer error,
it does not return the rows. Still present in great-expectations 1.24.1.

The fix
-------
We wrap ``SqlAlchemyExecutionEngine._execute_query_with_recovery`` -- the one function both
``execute_query`` and ``execute_query_in_transaction`` call *inside* the connection block --
so that on the duckdb dialect a row-returning result is buffered (``Result.freeze()``) before
the connection closes. Callers get a ``Result`` with the same ``fetchall``/``fetchone``/
``fetchmany``/``scalar`` methods. Other dialects and statements without rows (GX's temp-table
inserts) pass through untouched.

Buffering holds every row a query returns. GX's queries are aggregates or carry a ``LIMIT`` of
``partial_unexpected_count`` rows unless the result format is COMPLETE, so the validator runs
DuckDB batches with SUMMARY (see ``pipelines.quality.validation``); with COMPLETE, a query for
unexpected rows would buffer all of them. One exception: ``UnexpectedRowsExpectation`` runs its
SQL without a ``LIMIT`` and reads only ``fetchmany(200)`` of it, so here it buffers every row its
query returns -- keep such queries selective and narrow (the location columns only).

Removing it
-----------
When a GX release returns rows on duckdb (``tests/quality/test_validation.py`` has a test that runs
the unpatched engine and expects the bug; it will start failing), delete this module and the
``apply()`` call in ``pipelines/quality/validation.py``. If GX renames the wrapped function,
``apply()`` raises instead of silently doing nothing: check whether upstream fixed the bug first.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

# Set on the engine class once patched, so applying twice never wraps the wrapper.
_MARKER = "_sentra_duckdb_buffered_results"
_PATCHED_FUNCTION = "_execute_query_with_recovery"
DUCKDB_DIALECT = "duckdb"


def apply() -> None:
    """Patch GX's SQL engine to buffer DuckDB results; safe to call any number of times."""
    from great_expectations.execution_engine.sqlalchemy_execution_engine import (
        SqlAlchemyExecutionEngine,
    )

    if getattr(SqlAlchemyExecutionEngine, _MARKER, False):
        return
    original = getattr(SqlAlchemyExecutionEngine, _PATCHED_FUNCTION, None)
    if original is None:
        raise RuntimeError(
            f"great_expectations no longer has SqlAlchemyExecutionEngine.{_PATCHED_FUNCTION}; "
            "check whether the DuckDB empty-result bug is fixed upstream and remove "
            "pipelines/quality/gx_duckdb.py, or port the patch"
        )
    setattr(SqlAlchemyExecutionEngine, _PATCHED_FUNCTION, staticmethod(_buffered(original)))
    setattr(SqlAlchemyExecutionEngine, _MARKER, True)


def is_applied() -> bool:
    from great_expectations.execution_engine.sqlalchemy_execution_engine import (
        SqlAlchemyExecutionEngine,
    )

    return bool(getattr(SqlAlchemyExecutionEngine, _MARKER, False))


def _buffered(execute: Callable[[Any, Any], Any]) -> Callable[[Any, Any], Any]:
    def execute_and_buffer(connection: Any, query: Any) -> Any:
        result = execute(connection, query)
        if connection.dialect.name != DUCKDB_DIALECT or not result.returns_rows:
            return result
        # freeze() reads every row now, while the DuckDB connection is still open; calling
        # the frozen result gives back an ordinary Result over those buffered rows.
        return result.freeze()()

    execute_and_buffer.__wrapped__ = execute  # type: ignore[attr-defined]
    return execute_and_buffer
