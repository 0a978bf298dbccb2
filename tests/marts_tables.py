"""Every marts.* table of a published DuckDB file (or the tables of another schema, such as the
carried state's), for comparing two builds row for row."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pipelines.platform.duckdb import connect, quote_identifier


def marts_contents(warehouse: Path, ignore_suffix: str | None = None) -> dict[str, list[Any]]:
    """Each marts.* table's rows in a canonical order, without columns ending in ``ignore_suffix``
    (clock columns that differ between two lakes' copies of the same files)."""
    return schema_contents(warehouse, "marts", ignore_suffix)


def schema_contents(
    database: Path,
    schema: str,
    ignore_suffix: str | None = None,
    tables: list[str] | None = None,
) -> dict[str, list[Any]]:
    """Each table of ``schema`` (or only ``tables``), rows in a canonical order."""
    con = connect(database, read_only=True)
    try:
        names = tables or [
            name
            for (name,) in con.execute(
                "select table_name from duckdb_tables() where schema_name = ? order by 1",
                [schema],
            ).fetchall()
        ]
        contents = {}
        for table in names:
            columns = [
                quote_identifier(name)
                for (name,) in con.execute(
                    "select column_name from duckdb_columns() "
                    "where schema_name = ? and table_name = ? order by column_index",
                    [schema, table],
                ).fetchall()
                if not (ignore_suffix and name.endswith(ignore_suffix))
            ]
            query = (
                f"select {', '.join(columns)} "
                f"from {quote_identifier(schema)}.{quote_identifier(table)} order by all"
            )
            contents[table] = con.execute(query).fetchall()
        return contents
    finally:
        con.close()
