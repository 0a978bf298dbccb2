"""What the published tables promise: ``sql/marts/schema.yml`` read and its structure checked.

The file is dbt's properties file: a description of every table and column (written into the
file as comments by ``docs``) and, under a column's ``data_tests:`` (or ``tests:``, dbt's older
key), the data tests the freshly built file must pass before it is published (run by
``checks``). A wrong file stops the publish like a failed check: nothing is published.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pipelines.platform.duckdb import quote_identifier

if TYPE_CHECKING:
    import duckdb

SCHEMA_FILE = "schema.yml"  # in <sql>/marts/
DOCUMENTED_SCHEMAS = ("marts", "meta")
# The generic tests and the parameters each takes. dbt's test configs (where, severity, ...)
# are refused rather than ignored: a test that silently checks less than it says is worse.
TEST_PARAMETERS: dict[str, frozenset[str]] = {
    "unique": frozenset(),
    "not_null": frozenset(),
    "accepted_values": frozenset({"values"}),
    "relationships": frozenset({"to", "field"}),
}
TEST_KINDS = tuple(TEST_PARAMETERS)
REF = re.compile(r"""^ref\(\s*['"](\w+)['"]\s*\)$""")  # dbt's ref('model')


class MartsCheckError(RuntimeError):
    """The freshly built marts failed a publish check; nothing was published."""


@dataclass(frozen=True)
class DataTest:
    """One dbt data test of a column: ``unique``, ``not_null``, ``accepted_values`` (``values``)
    or ``relationships`` (``to``, the model every value must be found in, and its ``field``)."""

    kind: str
    values: tuple[object, ...] = ()
    to: str = ""
    field: str = ""


@dataclass(frozen=True)
class ColumnSpec:
    name: str
    description: str
    tests: tuple[DataTest, ...] = field(default=())


@dataclass(frozen=True)
class TableSpec:
    schema: str
    name: str
    description: str
    columns: dict[str, ColumnSpec]

    @property
    def qualified_name(self) -> str:
        return f"{self.schema}.{self.name}"

    @property
    def quoted_name(self) -> str:
        return f"{quote_identifier(self.schema)}.{quote_identifier(self.name)}"


def schema_file(sql_dir: Path) -> Path:
    return sql_dir / "marts" / SCHEMA_FILE


def load_table_specs(sql_dir: Path) -> dict[str, TableSpec]:
    """The tables of ``schema.yml`` by qualified name, structure checked."""
    import yaml

    path = schema_file(sql_dir)
    try:
        # The C loader when PyYAML has it: the pure-Python one takes ~0.4 s for this file.
        loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
        parsed = yaml.load(path.read_text(encoding="utf-8"), Loader=loader)
    except FileNotFoundError:
        raise MartsCheckError(
            f"{path} is missing: every published table and column needs a description there"
        ) from None
    except yaml.YAMLError as error:
        raise MartsCheckError(f"{path} is not valid YAML: {error}") from None
    models = parsed.get("models") if isinstance(parsed, dict) else None
    if not isinstance(models, list):
        raise MartsCheckError(f"{path}: expected a top-level 'models:' list of tables")
    specs: dict[str, TableSpec] = {}
    for number, entry in enumerate(models, 1):
        spec = table_spec(entry, f"{path}, models entry {number}")
        if spec.qualified_name in specs:
            raise MartsCheckError(f"{path}: {spec.qualified_name} is described twice")
        specs[spec.qualified_name] = spec
    return specs


def table_spec(entry: object, where: str) -> TableSpec:
    if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
        raise MartsCheckError(f"{where}: expected a mapping with 'name' and 'description'")
    config = entry.get("config") or {}
    schema = config.get("schema", "marts") if isinstance(config, dict) else None
    if schema not in DOCUMENTED_SCHEMAS:
        raise MartsCheckError(
            f"{where} ({entry['name']}): config.schema must be one of {DOCUMENTED_SCHEMAS}"
        )
    columns: dict[str, ColumnSpec] = {}
    for column in entry.get("columns") or []:
        if not isinstance(column, dict) or not isinstance(column.get("name"), str):
            raise MartsCheckError(f"{where} ({entry['name']}): each column needs a 'name'")
        name = column["name"]
        if name in columns:
            raise MartsCheckError(f"{where}: column {name} is described twice")
        if "data_tests" in column and "tests" in column:
            raise MartsCheckError(f"{where}: column {name} has both data_tests and tests")
        tests = column.get("data_tests", column.get("tests")) or []
        if not isinstance(tests, list):
            raise MartsCheckError(f"{where}: data_tests of column {name} must be a list")
        columns[name] = ColumnSpec(
            name,
            description_text(column.get("description")),
            tuple(data_test(test, f"{where}, column {name}") for test in tests),
        )
    return TableSpec(schema, entry["name"], description_text(entry.get("description")), columns)


def description_text(value: object) -> str:
    return " ".join(value.split()) if isinstance(value, str) else ""


def data_test(entry: object, where: str) -> DataTest:
    """A test as dbt writes it: ``- unique`` or ``- accepted_values: {values: [...]}``; dbt 1.10
    nests the parameters under ``arguments:``, which is read too."""
    parameters: object
    if isinstance(entry, str):
        kind, parameters = entry, {}
    elif isinstance(entry, dict) and len(entry) == 1:
        [(kind, parameters)] = entry.items()
        parameters = parameters or {}
    else:
        raise MartsCheckError(f"{where}: a data test is a name or a one-key mapping, not {entry}")
    if kind not in TEST_KINDS:
        raise MartsCheckError(f"{where}: unknown data test {kind!r}; expected one of {TEST_KINDS}")
    if not isinstance(parameters, dict):
        raise MartsCheckError(f"{where}: the parameters of {kind} must be a mapping")
    arguments: dict[str, Any] = parameters.get("arguments", parameters)
    unsupported = set(arguments) - TEST_PARAMETERS[kind]
    if unsupported:
        raise MartsCheckError(f"{where}: {kind} does not take {sorted(unsupported)}")
    if kind == "accepted_values":
        values = arguments.get("values")
        if not isinstance(values, list) or not values:
            raise MartsCheckError(f"{where}: accepted_values needs a non-empty 'values' list")
        return DataTest(kind, values=tuple(values))
    if kind == "relationships":
        to, to_field = arguments.get("to"), arguments.get("field")
        reference = REF.match(to) if isinstance(to, str) else None
        if reference is None or not isinstance(to_field, str):
            raise MartsCheckError(
                f"{where}: relationships needs 'to: ref(\"<model>\")' and 'field: <column>'"
            )
        return DataTest(kind, to=reference.group(1), field=to_field)
    return DataTest(kind)


def built_tables(con: duckdb.DuckDBPyConnection) -> dict[str, list[str]]:
    """Columns of every table the build created in the documented schemas, in table order."""
    rows = con.execute(
        """
        select c.schema_name || '.' || c.table_name, list(c.column_name order by c.column_index)
        from duckdb_columns() as c
        inner join duckdb_tables() as t using (database_name, schema_name, table_name)
        where c.database_name = current_database() and c.schema_name in ('marts', 'meta')
        group by all
        order by 1"""
    ).fetchall()
    return {str(table): list(columns) for table, columns in rows}
