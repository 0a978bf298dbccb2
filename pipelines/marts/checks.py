"""The data tests of ``schema.yml``, run on the freshly built file before it is published.

dbt's four generic tests, with dbt's meaning: each selects the rows that break it and passes
when there are none. ``unique``, ``accepted_values`` and ``relationships`` ignore nulls, as in
dbt; ``not_null`` is the test for those. A failure stops the publish and names the table, the
column, the test and a few offending values, so the previous file keeps serving.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from pipelines.marts.schema import DataTest, MartsCheckError, TableSpec, schema_file
from pipelines.platform.duckdb import quote_identifier, sql_literal

if TYPE_CHECKING:
    import duckdb

EXAMPLES_SHOWN = 5


@dataclass(frozen=True)
class DataTestFailure:
    table: str
    column: str
    test: DataTest
    failing: int  # rows (values, for unique) that break the test
    examples: list[object]

    def __str__(self) -> str:
        what = {
            "not_null": f"{self.failing} rows are null",
            "unique": f"{self.failing} values occur more than once",
            "accepted_values": f"{self.failing} rows hold a value not in {list(self.test.values)}",
            "relationships": f"{self.failing} rows hold a value not found in "
            f"{self.test.to}.{self.test.field}",
        }[self.test.kind]
        shown = ", ".join(repr(value) for value in self.examples)
        examples = "" if self.test.kind == "not_null" else f", e.g. {shown}"
        return f"{self.table}.{self.column}: {self.test.kind} failed: {what}{examples}"


def run_data_tests(
    con: duckdb.DuckDBPyConnection,
    built: dict[str, list[str]],
    specs: dict[str, TableSpec],
    sql_dir: Path,
) -> None:
    """Run every test of every built table; raise MartsCheckError listing all that failed."""
    failures = data_test_failures(con, built, specs)
    if failures:
        raise MartsCheckError(
            f"the data tests of {schema_file(sql_dir)} failed ({len(failures)}; nothing was "
            f"published):\n  - " + "\n  - ".join(str(failure) for failure in failures)
        )


def data_test_failures(
    con: duckdb.DuckDBPyConnection, built: dict[str, list[str]], specs: dict[str, TableSpec]
) -> list[DataTestFailure]:
    """The failures of the tests declared for the built tables (``built_tables``), in order."""
    return [
        failure
        for table in built
        for column in specs[table].columns.values()
        for test in column.tests
        if (failure := run_test(con, specs[table], column.name, test, specs)) is not None
    ]


def run_test(
    con: duckdb.DuckDBPyConnection,
    table: TableSpec,
    column: str,
    test: DataTest,
    specs: dict[str, TableSpec],
) -> DataTestFailure | None:
    row = con.execute(
        f"""
        with failures as ({failing_rows_sql(table, column, test, specs)})
        select count(*), list(distinct value order by value)[1:{EXAMPLES_SHOWN}] from failures"""
    ).fetchone()
    if row is None or row[0] == 0:
        return None
    return DataTestFailure(table.qualified_name, column, test, int(row[0]), list(row[1]))


def failing_rows_sql(
    table: TableSpec, column: str, test: DataTest, specs: dict[str, TableSpec]
) -> str:
    """A query selecting, as ``value``, every row (``unique``: value) that breaks the test."""
    source = table.quoted_name
    value = quote_identifier(column)
    if test.kind == "not_null":
        return f"select {value} as value from {source} where {value} is null"
    if test.kind == "unique":
        return (
            f"select {value} as value from {source} where {value} is not null "
            f"group by {value} having count(*) > 1"
        )
    if test.kind == "accepted_values":
        accepted = ", ".join(sql_literal(item) for item in test.values)
        return (
            f"select {value} as value from {source} "
            f"where {value} is not null and {value} not in ({accepted})"
        )
    parents = [spec for spec in specs.values() if spec.name == test.to]
    parent = parents[0].quoted_name if parents else f"marts.{quote_identifier(test.to)}"
    return (
        f"select child.{value} as value from {source} as child "
        f"where child.{value} is not null and not exists ("
        f"select 1 from {parent} as parent "
        f"where parent.{quote_identifier(test.field)} = child.{value})"
    )
