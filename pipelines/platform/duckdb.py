"""DuckDB connections and SQL text: the one place that opens DuckDB and quotes what goes in SQL.

Every connection refuses to download extensions: the machines running the pipeline have no
internet, and the wheel links parquet, json and icu statically.
"""

from __future__ import annotations

import datetime
import os
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import duckdb


def connect(
    path: Path, read_only: bool = False, storage_version: str | None = None
) -> duckdb.DuckDBPyConnection:
    """A DuckDB connection that never tries to download extensions.

    ``storage_version`` sets the format of a file this connection creates (an existing file
    keeps its own).
    """
    import duckdb

    config: dict[str, str | bool | int | float | list[str]] = {
        "autoinstall_known_extensions": False,
        "autoload_known_extensions": False,
    }
    if storage_version:
        config["storage_compatibility_version"] = storage_version
    return duckdb.connect(str(path), read_only=read_only, config=config)


def process_spill_folder() -> Path:
    """This process's own DuckDB spill folder for the ingest's conversion and validation.

    DuckDB names its spill files alike in every process, so two ingests spilling into one
    folder (two Airflow workers on a host) would overwrite each other's blocks.
    """
    return Path(tempfile.gettempdir()) / "sentra-duckdb" / f"ingest-{os.getpid()}"


def quote_identifier(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def sql_string(text: object) -> str:
    """A SQL string literal, for statements that take no parameters (COMMENT ON, COPY TO)."""
    return "'" + escape_string(text) + "'"


def escape_string(text: object) -> str:
    """A value as the inside of a single-quoted SQL string literal (a path, a pattern)."""
    return str(text).replace("'", "''")


# --- values written into SQL -------------------------------------------------------------------
# The marts build writes its small tables (reference lists, configuration, the publish log) as
# literals rather than binding Python values or registering Arrow tables: DuckDB's Python client
# imports pandas to bind any parameter, and pyarrow does to build any array from Python objects,
# which cost ~0.3 s of every build (tests/marts/test_incremental.py checks it stays out).


def sql_literal(value: object) -> str:
    """``value`` as a SQL literal of the type DuckDB's Python client binds it as: INTEGER or
    BIGINT for an int, DOUBLE, VARCHAR, BOOLEAN, DATE, TIMESTAMP WITH TIME ZONE for an aware
    datetime, and lists of those."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return f"{sql_string(repr(value))}::double"  # repr round-trips; 'inf' and 'nan' parse
    if isinstance(value, str):
        return sql_string(value)
    if isinstance(value, datetime.datetime):  # before date: a datetime is a date
        return f"{sql_string(value.isoformat())}::{'timestamptz' if value.tzinfo else 'timestamp'}"
    if isinstance(value, datetime.date):
        return f"{sql_string(value.isoformat())}::date"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(sql_literal(item) for item in value) + "]"
    raise TypeError(f"no SQL literal for a {type(value).__name__}: {value!r}")


def sql_rows(rows: Iterable[Sequence[object]]) -> str:
    """Rows as the list of a ``values`` clause: ``(1, 'a'), (2, 'b')``."""
    return ", ".join("(" + ", ".join(sql_literal(value) for value in row) + ")" for row in rows)


def rows_query(columns: Mapping[str, str], rows: Iterable[Sequence[object]]) -> str:
    """A query whose result is ``rows``, with the columns of ``columns`` (SQL type by name)."""
    typed = ", ".join(
        f"cast({quote_identifier(name)} as {kind}) as {quote_identifier(name)}"
        for name, kind in columns.items()
    )
    values = sql_rows(rows)
    if not values:
        nulls = ", ".join(f"null as {quote_identifier(name)}" for name in columns)
        return f"select {typed} from (select {nulls}) where false"
    names = ", ".join(quote_identifier(name) for name in columns)
    return f"select {typed} from (values {values}) as given_rows({names})"
