"""Values written into SQL as literals read back as DuckDB would have bound them."""

from __future__ import annotations

import datetime

import duckdb
import pytest

from pipelines.platform.duckdb import rows_query, sql_literal

JAKARTA = datetime.timezone(datetime.timedelta(hours=7))
VALUES = [
    5,
    2**40,
    -(2**63),
    0.1,
    1e-300,
    float("inf"),
    "it's",
    True,
    None,
    datetime.date(2026, 6, 30),
    datetime.datetime(2026, 6, 30, 23, 59, 59, 123456, tzinfo=JAKARTA),
    datetime.datetime(2026, 6, 30, 23, 59, 59),
    ["a", "b'c"],
]


@pytest.mark.parametrize("value", VALUES, ids=repr)
def test_a_literal_has_the_type_and_value_of_the_bound_parameter(value: object) -> None:
    con = duckdb.connect()
    bound = con.execute("select ?, typeof(?)", [value, value]).fetchone()
    literal = sql_literal(value)

    assert con.execute(f"select {literal}, typeof({literal})").fetchone() == bound


def test_rows_query_gives_the_rows_with_the_declared_types() -> None:
    con = duckdb.connect()
    columns = {"name": "varchar", "tier": "bigint", "value": "double"}
    rows = [("keripik", 1, 0.5), ("it's", None, 2.0)]

    result = con.execute(rows_query(columns, rows))

    assert [(d[0], str(d[1])) for d in result.description] == [
        ("name", "VARCHAR"),
        ("tier", "BIGINT"),
        ("value", "DOUBLE"),
    ]
    assert result.fetchall() == rows
    empty = con.execute(rows_query(columns, []))
    assert [str(d[1]) for d in empty.description] == ["VARCHAR", "BIGINT", "DOUBLE"]
    assert empty.fetchall() == []


def test_a_value_without_a_literal_is_refused() -> None:
    with pytest.raises(TypeError, match="no SQL literal for a bytes"):
        sql_literal(b"raw")
