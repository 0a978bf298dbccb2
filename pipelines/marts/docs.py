"""Every published table and column described: ``schema.yml`` checked complete, written as comments.

BI tools show ``COMMENT ON`` texts next to the names (docs/marts.md), so a gap in the file is a
gap in the product: it stops the publish, listing every gap at once.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

from pipelines.marts.schema import MartsCheckError, TableSpec, schema_file
from pipelines.platform.duckdb import quote_identifier, sql_string

if TYPE_CHECKING:
    import duckdb

log = logging.getLogger(__name__)


def documentation_problems(built: dict[str, list[str]], specs: dict[str, TableSpec]) -> list[str]:
    problems: list[str] = []
    for table, columns in built.items():
        spec = specs.get(table)
        if spec is None or not spec.description:
            problems.append(f"table {table} has no description")
        described = spec.columns if spec else {}
        problems += [
            f"column {table}.{column} has no description"
            for column in columns
            if column not in described or not described[column].description
        ]
        problems += [
            f"column {table}.{column} is described but {table} has no such column"
            for column in described
            if column not in columns
        ]
    return problems


def document_tables(
    con: duckdb.DuckDBPyConnection,
    built: dict[str, list[str]],
    specs: dict[str, TableSpec],
    sql_dir: Path,
) -> None:
    """Check that every built table and column is described, then write the descriptions.

    Raises MartsCheckError listing every gap at once, so one edit of schema.yml fixes them all.
    """
    problems = documentation_problems(built, specs)
    if problems:
        raise MartsCheckError(
            f"{schema_file(sql_dir)} must describe every published table and column "
            f"({len(problems)} problems; nothing was published):\n  - " + "\n  - ".join(problems)
        )
    for name in sorted(set(specs) - set(built)):
        # Not an error: a model may be documented in the same change that adds it, ahead of it.
        log.warning("%s describes %s, which this build did not create", schema_file(sql_dir), name)
    # One transaction: committing each COMMENT on its own costs ~4 ms apiece.
    con.execute("begin transaction")
    for table in built:
        spec = specs[table]
        target = spec.quoted_name
        con.execute(f"comment on table {target} is {sql_string(spec.description)}")
        for column in spec.columns.values():
            con.execute(
                f"comment on column {target}.{quote_identifier(column.name)} "
                f"is {sql_string(column.description)}"
            )
    con.execute("commit")
