"""Every marts.* table of a published DuckDB file, for comparing two builds row for row."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pipelines.platform.duckdb import connect, quote_identifier


def marts_contents(warehouse: Path, ignore_suffix: str | None = None) -> dict[str, list[Any]]:
    """Each marts.* table's rows in a canonical order, without columns ending in ``ignore_suffix``
    (clock columns that differ between two lakes' copies of the same files)."""
    con = connect(warehouse, read_only=True)
    try:
        tables = [
            name
            for (name,) in con.execute(
                "select table_name from duckdb_tables() where schema_name = 'marts' order by 1"
            ).fetchall()
        ]
        contents = {}
        for table in tables:
            columns = [
                quote_identifier(name)
                for (name,) in con.execute(
                    "select column_name from duckdb_columns() "
                    "where schema_name = 'marts' and table_name = ? order by column_index",
                    [table],
                ).fetchall()
                if not (ignore_suffix and name.endswith(ignore_suffix))
            ]
            query = f"select {', '.join(columns)} from marts.{quote_identifier(table)} order by all"
            contents[table] = con.execute(query).fetchall()
        return contents
    finally:
        con.close()
