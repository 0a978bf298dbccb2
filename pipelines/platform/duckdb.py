"""DuckDB connections and SQL text: the one place that opens DuckDB and quotes what goes in SQL.

Every connection refuses to download extensions: the machines running the pipeline have no
internet, and the wheel links parquet, json and icu statically.
"""

from __future__ import annotations

import os
import tempfile
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
