"""Validation of Parquet files on GX's SQL engine over DuckDB, against the pandas path."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from pipelines.quality import gx_duckdb
from pipelines.quality.validation import LOCATED_ROWS_LIMIT, CheckResult, Validator

SUITE = "order_lines"
PARAMETERS: dict[str, Any] = {
    "marketplaces": ["shopee", "tokopedia"],
    "export_date": date(2026, 6, 30),
}


def expectation(kind: str, check: str, severity: str = "critical", **kwargs: Any) -> dict[str, Any]:
    meta = {"check": check, "severity": severity, "description": f"{check} holds"}
    return {"type": f"expect_{kind}", "kwargs": kwargs, "meta": meta}


EXPECTATIONS = [
    expectation("column_values_to_not_be_null", "line_id_present", column="order_line_id"),
    expectation("column_values_to_be_unique", "line_id_unique", column="order_line_id"),
    expectation(
        "column_values_to_be_in_set",
        "marketplace_known",
        column="marketplace",
        value_set={"$PARAMETER": "marketplaces"},
    ),
    expectation(
        "column_values_to_be_in_set", "status_known", column="status", value_set=["paid", "done"]
    ),
    expectation(
        "column_values_to_be_between",
        "quantity_range",
        "warning",
        column="quantity",
        min_value=1,
        max_value=1000,
    ),
    expectation(
        "column_values_to_be_between",
        "order_date_not_after_export",
        column="order_date",
        max_value={"$PARAMETER": "export_date"},
    ),
]


@pytest.fixture(scope="module")
def expectations_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("expectations")
    suites = {
        SUITE: EXPECTATIONS,
        "with_missing_column": [
            *EXPECTATIONS[:2],
            expectation("column_values_to_not_be_null", "voucher_present", column="voucher_code"),
        ],
    }
    # DuckDB has no GX regex support: a format rule is SQL over {batch} (literal braces doubled).
    suites["regex_as_sql"] = [
        {
            "type": "unexpected_rows_expectation",
            "kwargs": {
                "unexpected_rows_query": "select source_sheet, source_row from {batch} "
                "where not regexp_full_match(order_line_id, 'L[0-9]{{7}}')"
            },
            "meta": {"check": "line_id_format", "severity": "warning", "description": "L1234567"},
        }
    ]
    for name, expectations in suites.items():
        suite = {"name": name, "expectations": expectations}
        (folder / f"{name}.json").write_text(json.dumps(suite), encoding="utf-8")
    return folder


@pytest.fixture(scope="module")
def validator(expectations_dir: Path) -> Validator:
    # One validator for the module: GX's context costs seconds to build.
    return Validator(expectations_dir)


def order_lines(rows: int) -> pd.DataFrame:
    """Good order lines in file order, with the row-location columns."""
    return pd.DataFrame(
        {
            "order_line_id": pd.array([f"L{i:07d}" for i in range(rows)], dtype="string"),
            "marketplace": pd.array(["shopee", "tokopedia"] * (rows // 2), dtype="string"),
            "status": pd.array(["paid"] * rows, dtype="string"),
            "quantity": pd.array([1 + i % 50 for i in range(rows)], dtype="Int64"),
            "order_date": [date(2026, 1, 1 + i % 28) for i in range(rows)],
            "source_sheet": pd.array(["orders.csv"] * rows, dtype="string"),
            "source_row": pd.array(range(2, rows + 2), dtype="Int64"),
        }
    )


def broken_order_lines() -> pd.DataFrame:
    frame = order_lines(60)
    frame.loc[[3, 41], "order_line_id"] = "L0000017"  # 17, 3 and 41 share an id
    frame.loc[9, "order_line_id"] = None
    frame.loc[[5, 30], "marketplace"] = "lazada"
    frame.loc[12, "status"] = "unknown"
    frame.loc[[20, 21], "quantity"] = 0
    frame.loc[50, "order_date"] = date(2026, 7, 1)
    return frame


def write_parquet(frame: pd.DataFrame, path: Path, row_group_size: int | None = None) -> Path:
    frame.to_parquet(path, index=False, row_group_size=row_group_size)
    return path


def by_check(checks: list[CheckResult]) -> dict[str, CheckResult]:
    return {check.check: check for check in checks}


def test_both_paths_give_the_same_outcome_on_the_same_data(
    validator: Validator, tmp_path: Path
) -> None:
    frame = broken_order_lines()
    path = write_parquet(frame, tmp_path / "orders.parquet", row_group_size=16)

    on_pandas = validator.validate(SUITE, frame, PARAMETERS)
    on_duckdb = validator.validate_parquet(SUITE, path, PARAMETERS)

    assert on_duckdb == on_pandas
    checks = by_check(on_duckdb.checks)
    assert [check.check for check in on_duckdb.checks] == [e["meta"]["check"] for e in EXPECTATIONS]
    assert {name: check.unexpected_count for name, check in checks.items()} == {
        "line_id_present": 1,
        "line_id_unique": 3,
        "marketplace_known": 2,
        "status_known": 1,
        "quantity_range": 2,
        "order_date_not_after_export": 1,
    }
    assert checks["line_id_unique"].unexpected_rows == (
        ("orders.csv", 5),
        ("orders.csv", 19),
        ("orders.csv", 43),
    )
    assert checks["marketplace_known"].sample_rows[0] == {
        "source_sheet": "orders.csv",
        "source_row": 7,
        "marketplace": "lazada",
    }
    assert checks["quantity_range"].sample_values == ["0", "0"]
    assert checks["quantity_range"].severity == "warning"
    assert checks["order_date_not_after_export"].element_count == 60
    assert on_duckdb.critical_failures and not on_duckdb.passed


def test_uniqueness_is_exact_across_the_whole_file(validator: Validator, tmp_path: Path) -> None:
    frame = order_lines(40_000)
    last = len(frame) - 1
    frame.loc[last, "order_line_id"] = "L0000000"  # the first row's id
    # Many row groups: the first and last row are read by different threads and chunks.
    path = write_parquet(frame, tmp_path / "orders.parquet", row_group_size=2_000)

    unique = by_check(validator.validate_parquet(SUITE, path, PARAMETERS).checks)["line_id_unique"]

    assert not unique.success
    assert unique.unexpected_count == 2
    assert unique.element_count == 40_000
    assert unique.unexpected_rows == (("orders.csv", 2), ("orders.csv", last + 2))


def test_parameters_fill_value_sets_and_dates_on_duckdb(
    validator: Validator, tmp_path: Path
) -> None:
    path = write_parquet(order_lines(56), tmp_path / "orders.parquet")

    as_sent = by_check(validator.validate_parquet(SUITE, path, PARAMETERS).checks)
    narrower = by_check(
        validator.validate_parquet(
            SUITE, path, {"marketplaces": ["shopee"], "export_date": date(2026, 1, 14)}
        ).checks
    )

    assert as_sent["marketplace_known"].success and as_sent["order_date_not_after_export"].success
    assert narrower["marketplace_known"].unexpected_count == 28
    assert narrower["marketplace_known"].sample_values[:2] == ["tokopedia", "tokopedia"]
    # Days 15 to 28 of each 28-day cycle fall after the export date: 2 cycles x 14 days.
    assert narrower["order_date_not_after_export"].unexpected_count == 28
    assert narrower["order_date_not_after_export"].sample_rows[0]["order_date"] == "2026-01-15"


def test_a_missing_column_is_a_failed_check_not_a_crash(
    validator: Validator, tmp_path: Path
) -> None:
    path = write_parquet(order_lines(20), tmp_path / "orders.parquet")

    outcome = validator.validate_parquet("with_missing_column", path, PARAMETERS)

    checks = by_check(outcome.checks)
    missing = checks["voucher_present"]
    assert not missing.success and missing.severity == "critical"
    assert missing.error is not None and "voucher_code" in missing.error
    assert checks["line_id_present"].success and checks["line_id_unique"].success
    assert outcome.critical_failures == [missing]


def test_a_regex_rule_written_as_sql_counts_its_rows_on_duckdb(
    validator: Validator, tmp_path: Path
) -> None:
    frame = order_lines(30)
    frame.loc[[4, 8], "order_line_id"] = "l-4"
    path = write_parquet(frame, tmp_path / "orders.parquet")

    [check] = validator.validate_parquet("regex_as_sql", path).checks

    assert (check.check, check.success, check.unexpected_count) == ("line_id_format", False, 2)
    assert check.severity == "warning" and check.error is None


def test_located_rows_are_capped_while_the_count_stays_exact(
    validator: Validator, tmp_path: Path
) -> None:
    frame = order_lines(3 * LOCATED_ROWS_LIMIT)
    frame["status"] = pd.array(["lost"] * len(frame), dtype="string")
    path = write_parquet(frame, tmp_path / "orders.parquet", row_group_size=500)

    status = by_check(validator.validate_parquet(SUITE, path, PARAMETERS).checks)["status_known"]

    assert status.unexpected_count == 3 * LOCATED_ROWS_LIMIT
    assert len(status.unexpected_rows) == LOCATED_ROWS_LIMIT
    assert status.unexpected_rows[:2] == (("orders.csv", 2), ("orders.csv", 3))
    assert len(status.sample_rows) == len(status.sample_values) == 10


def test_a_missing_file_is_named(validator: Validator, tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=r"absent\.parquet"):
        validator.validate_parquet(SUITE, tmp_path / "absent.parquet", PARAMETERS)


def test_each_file_gets_a_throwaway_data_source(validator: Validator, tmp_path: Path) -> None:
    path = write_parquet(order_lines(10), tmp_path / "orders.parquet")
    validator.validate_parquet(SUITE, path, PARAMETERS)
    validator.validate_parquet(SUITE, path, PARAMETERS)

    names = [str(name) for name in validator.gx_context().data_sources.all()]
    assert not [name for name in names if name.startswith("parquet_")]


def test_a_warmed_up_validator_gives_the_same_outcome_and_reuses_its_suite(
    expectations_dir: Path, tmp_path: Path
) -> None:
    path = write_parquet(broken_order_lines(), tmp_path / "orders.parquet")
    cold = Validator(expectations_dir).validate_parquet(SUITE, path, PARAMETERS)

    warmed = Validator(expectations_dir)
    warmed.warm_up()  # the first validation waits for it, never races its imports
    first = warmed.validate_parquet(SUITE, path, PARAMETERS)
    second = warmed.validate(SUITE, broken_order_lines(), PARAMETERS)

    assert first == cold and second == cold
    assert not cold.passed
    # The suite and the context were built once for the validator's life.
    assert warmed._suite(SUITE) is warmed._suite(SUITE)
    assert warmed.gx_context() is warmed.gx_context()


def test_gx_stays_quiet(
    validator: Validator,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
) -> None:
    path = write_parquet(broken_order_lines(), tmp_path / "orders.parquet")

    with caplog.at_level(logging.DEBUG):
        validator.validate_parquet(SUITE, path, PARAMETERS)

    chatter = [r for r in caplog.records if r.name.startswith("great_expectations")]
    assert not [r for r in chatter if r.levelno >= logging.INFO], chatter
    out, err = capfd.readouterr()
    assert "Calculating Metrics" not in out + err  # no progress bars
    assert out == ""


def test_importing_gx_under_a_verbose_log_adds_no_gx_lines() -> None:
    """``sentra -v`` logs at INFO: GX's own import logs each class it registers at INFO (seen in a
    national run's log before the fix), which only a fresh interpreter shows."""
    probe = "; ".join(
        [
            "import logging",
            "logging.basicConfig(level=logging.INFO, format='%(name)s: %(message)s')",
            "from pipelines.quality.validation import new_gx_context",
            "new_gx_context()",
            "logging.getLogger('pipelines').info('context ready')",
        ]
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)

    assert done.returncode == 0, done.stderr[-2000:]
    assert "pipelines: context ready" in done.stderr  # the log does reach stderr
    assert "great_expectations" not in done.stderr, done.stderr[:2000]


def test_the_patch_is_still_needed_and_applies_once(monkeypatch: pytest.MonkeyPatch) -> None:
    import sqlalchemy as sa
    from great_expectations.execution_engine.sqlalchemy_execution_engine import (
        SqlAlchemyExecutionEngine as Engine,
    )

    gx_duckdb.apply()
    patched = Engine.__dict__["_execute_query_with_recovery"]
    gx_duckdb.apply()
    assert Engine.__dict__["_execute_query_with_recovery"] is patched
    assert gx_duckdb.is_applied()

    engine = Engine(connection_string="duckdb:///:memory:")
    query = sa.select(sa.literal(42).label("answer"))
    try:
        assert engine.execute_query(query).fetchall() == [(42,)]
        # Unpatched, GX fetches after closing the connection and DuckDB's rows are gone. When
        # this starts failing, upstream fixed the bug: remove pipelines/quality/gx_duckdb.py.
        original = patched.__func__.__wrapped__
        monkeypatch.setattr(Engine, "_execute_query_with_recovery", staticmethod(original))
        assert engine.execute_query(query).fetchall() == []
    finally:
        engine.close()


def test_the_benchmark_runs_in_smoke_mode(tmp_path: Path) -> None:
    from benchmarks import validation_bench

    doc = tmp_path / "validation-performance.md"
    arguments = ["--rows", "20000", "--repeats", "1", "--in-process"]
    arguments += ["--workdir", str(tmp_path / "bench"), "--output", str(doc)]

    assert validation_bench.main(arguments) == 0

    text = doc.read_text(encoding="utf-8")
    assert "### 20,000 order lines" in text
    assert "(2)/(1) = " in text and "All three paths found the same unexpected counts" in text
    # A rerun with the same row count replaces its section; other sections stay.
    validation_bench.write_section(doc, 20_000, "### rerun\n")
    validation_bench.write_section(doc, 7, "### other size\n")
    text = doc.read_text(encoding="utf-8")
    assert "### rerun" in text and "### 20,000 order lines" not in text
    assert text.index("### rerun") < text.index("### other size")
