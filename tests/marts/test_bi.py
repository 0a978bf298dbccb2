"""The marts as a product for BI tools: described columns, meta tables, Parquet exports, a
Superset-style reader through a publish, and the published file opened by an older DuckDB."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow.parquet as pq
import pytest

from pipelines.ingest.engine import Ingestor
from pipelines.marts.publish import STORAGE_VERSION, build_and_publish, parquet_dir
from pipelines.marts.schema import MartsCheckError, schema_file
from pipelines.platform.duckdb import connect
from pipelines.platform.settings import PROJECT_ROOT, Settings
from tests.conftest import local_settings
from tests.registry_files import DIY_ROWS, JATIM_MEMBERS, JATIM_SENTRA, registry_csv, registry_xlsx

if TYPE_CHECKING:
    import duckdb

MARTS_DOC = PROJECT_ROOT / "docs" / "marts.md"
# The oldest DuckDB docs/marts.md promises can open the published file.
OLDEST_DUCKDB = "1.0.0"
# Storage format number in the file header that DuckDB 0.10 to 1.5 all read.
STORAGE_FORMAT_V1_0 = 64
CORE_MARTS = {
    "dim_region",
    "dim_sentra",
    "sentra_revitalisation_score",
    "province_summary",
    "resurvey_list",
    "fct_imk_growth",
    "fct_marketplace_sales_monthly",
}


@pytest.fixture(scope="session")
def ingested_lake(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two provinces' registries, ingested once per test session (ingest is the slow part)."""
    root = tmp_path_factory.mktemp("bi-lake")
    settings = local_settings(root)
    settings.landing_store.write_bytes("registry/diy.csv", registry_csv(DIY_ROWS))
    settings.landing_store.write_bytes(
        "registry/jatim.xlsx", registry_xlsx(JATIM_SENTRA, JATIM_MEMBERS)
    )
    Ingestor(settings).run()
    return root


@pytest.fixture
def bi_settings(ingested_lake: Path, tmp_path: Path) -> Settings:
    """Settings over a private copy of the ingested lake, with nothing published yet."""
    for folder in ("landing", "lake"):
        shutil.copytree(ingested_lake / folder, tmp_path / folder)
    return local_settings(tmp_path)


def documented_queries() -> dict[str, str]:
    """Every ```sql block of docs/marts.md by its first line, a ``-- title`` comment."""
    blocks = re.findall(r"```sql\n(.*?)```", MARTS_DOC.read_text(encoding="utf-8"), re.S)
    queries = {}
    for block in blocks:
        title = block.splitlines()[0]
        assert title.startswith("-- "), (
            f"docs/marts.md: a sql block starts without a title:\n{block}"
        )
        queries[title.removeprefix("-- ")] = block
    return queries


def sql_dir_with(settings: Settings, tmp_path: Path, marts: dict[str, str], docs: str) -> Settings:
    """The project's models plus extra marts and schema.yml entries, in a copy."""
    sql = tmp_path / "sql"
    shutil.copytree(settings.sql_dir, sql)
    for name, query in marts.items():
        (sql / "marts" / f"{name}.sql").write_text(query)
    schema = schema_file(sql)
    schema.write_text(schema.read_text() + docs)
    return settings.model_copy(update={"sql_dir": sql})


def contents(con: duckdb.DuckDBPyConnection, schema: str) -> dict[str, list[tuple[Any, ...]]]:
    tables = con.execute(
        "select table_name from duckdb_tables() where schema_name = ? order by 1", [schema]
    ).fetchall()
    return {table: con.execute(f"select * from {schema}.{table}").fetchall() for (table,) in tables}


def test_every_published_table_and_column_carries_its_description(bi_settings: Settings) -> None:
    build_and_publish(bi_settings, "run")

    con = connect(bi_settings.warehouse_path, read_only=True)
    tables = con.execute("""
        select schema_name, table_name, comment from duckdb_tables()
        where schema_name in ('marts', 'meta')""").fetchall()
    undescribed = con.execute("""
        select table_name, column_name from duckdb_columns()
        where schema_name in ('marts', 'meta') and coalesce(comment, '') = ''""").fetchall()
    phase_year = con.execute("""
        select comment from duckdb_columns()
        where table_name = 'sentra_revitalisation_score'
          and column_name = 'phase_year'""").fetchone()
    con.close()

    assert {table for _, table, _ in tables} >= CORE_MARTS | {"publish_log", "data_freshness"}
    assert all(comment for _, _, comment in tables)
    assert undescribed == []
    assert phase_year and "Planned year of revitalisation" in phase_year[0]


def test_an_undescribed_or_vanished_column_fails_the_publish(
    bi_settings: Settings, tmp_path: Path
) -> None:
    changed = sql_dir_with(
        bi_settings,
        tmp_path,
        {
            "zz_described": "select 1 as kept, 2 as added",
            "zz_undescribed": "select 1 as anything",
        },
        """
  - name: zz_described
    description: A mart whose model changed after it was described.
    columns:
      - name: kept
        description: Still there.
      - name: renamed_away
        description: No longer in the model.
""",
    )
    with pytest.raises(MartsCheckError) as failure:
        build_and_publish(changed, "run")

    message = str(failure.value)
    assert "column marts.zz_described.added has no description" in message
    assert "marts.zz_described.renamed_away is described but" in message
    assert "table marts.zz_undescribed has no description" in message
    assert "column marts.zz_undescribed.anything has no description" in message
    assert "schema.yml" in message
    assert not bi_settings.warehouse_path.exists()
    assert not parquet_dir(bi_settings).exists()


def test_volatile_facts_stay_in_meta_so_marts_are_identical_across_builds(
    bi_settings: Settings,
) -> None:
    first = build_and_publish(bi_settings, "run-1")
    con = connect(bi_settings.warehouse_path, read_only=True)
    marts_before = contents(con, "marts")
    con.close()

    second = build_and_publish(bi_settings, "run-2", force=True)
    con = connect(bi_settings.warehouse_path, read_only=True)
    marts_after = contents(con, "marts")
    freshness = con.execute("""
        select scope, last_landed_at is not null, overdue, checked_at = (
            select max(published_at) from meta.publish_log)
        from meta.data_freshness where source = 'registry' and scope in ('34', '35', '11')
        order by scope""").fetchall()
    con.close()

    assert first.record.version != second.record.version
    assert first.record.fingerprint == second.record.fingerprint
    assert marts_after == marts_before
    assert freshness == [
        ("11", False, True, True),  # Aceh never sent a registry: overdue
        ("34", True, False, True),
        ("35", True, False, True),
    ]


def test_the_file_is_written_in_the_storage_format_older_duckdb_reads(
    bi_settings: Settings,
) -> None:
    build_and_publish(bi_settings, "run")

    header = bi_settings.warehouse_path.read_bytes()[:20]
    con = connect(bi_settings.warehouse_path, read_only=True)
    tags = con.execute(
        "select tags from duckdb_databases() where database_name = current_database()"
    ).fetchone()
    con.close()
    assert header[8:12] == b"DUCK"
    assert int.from_bytes(header[12:20], "little") == STORAGE_FORMAT_V1_0
    assert tags == ({"storage_version": f"{STORAGE_VERSION}+"},)


def test_parquet_exports_follow_each_publish_and_only_then(
    bi_settings: Settings, tmp_path: Path
) -> None:
    extra = sql_dir_with(
        bi_settings,
        tmp_path,
        {"zz_extra": "select 1 as one"},
        """
  - name: zz_extra
    description: A mart that is later dropped.
    columns:
      - name: one
        description: One.
""",
    )
    build_and_publish(extra, "run-1")
    assert (parquet_dir(bi_settings) / "zz_extra.parquet").exists()

    first = build_and_publish(bi_settings, "run-2")
    exports = {path.stem: path for path in parquet_dir(bi_settings).glob("*.parquet")}
    assert set(exports) == set(first.record.row_counts)  # zz_extra's export went with it
    for table, path in exports.items():
        assert pq.read_metadata(path).num_rows == first.record.row_counts[table]
        metadata = pq.read_metadata(path).metadata
        assert metadata[b"publish_version"] == first.record.version.encode()
    stamps = {table: path.stat().st_mtime_ns for table, path in exports.items()}

    unchanged = build_and_publish(bi_settings, "run-3")
    assert not unchanged.published
    assert {t: p.stat().st_mtime_ns for t, p in exports.items()} == stamps

    exports["dim_sentra"].unlink()
    repaired = build_and_publish(bi_settings, "run-4")
    assert repaired.published
    assert exports["dim_sentra"].exists()
    assert sorted(p.name for p in bi_settings.warehouse_path.parent.iterdir()) == [
        ".sentra.duckdb.reads.json",  # what each SQL model reads, by its text's digest
        ".sentra.duckdb.state",  # what the next build carries forward (docs/marts.md)
        "parquet",
        "sentra.duckdb",
    ]


def test_a_superset_style_reader_keeps_its_snapshot_through_a_publish(
    bi_settings: Settings,
) -> None:
    """Superset opens the file through SQLAlchemy and duckdb_engine, read-only, in its own
    process; it must never block a publish and must read consistent data throughout."""
    from sqlalchemy import create_engine, inspect
    from sqlalchemy.pool import NullPool

    first = build_and_publish(bi_settings, "run-1")
    engine = create_engine(
        f"duckdb:///{bi_settings.warehouse_path}?access_mode=read_only",
        poolclass=NullPool,  # Superset's default: a connection per query
        connect_args={"config": {"autoinstall_known_extensions": False}},
    )
    version = "select max(version) from meta.publish_log"
    try:
        with engine.connect() as held:
            assert held.exec_driver_sql(version).scalar() == first.record.version
            second = build_and_publish(bi_settings, "run-2", force=True)
            assert second.published
            # Still the snapshot it opened, complete and consistent.
            assert held.exec_driver_sql(version).scalar() == first.record.version
            inspector = inspect(held)
            assert set(inspector.get_table_names(schema="marts")) >= CORE_MARTS
            assert set(inspector.get_table_names(schema="meta")) == {
                "publish_log",
                "data_freshness",
            }
            with pytest.raises(Exception, match="read-only"):
                held.exec_driver_sql("create table marts.scratch (a integer)")

        with engine.connect() as fresh:
            assert fresh.exec_driver_sql(version).scalar() == second.record.version
            rows = {
                title: fresh.exec_driver_sql(query).fetchall()
                for title, query in documented_queries().items()
            }
    finally:
        engine.dispose()

    top_jatim = rows["top 20 sentra in a province"]
    assert top_jatim and [row[0] for row in top_jatim] == list(range(1, len(top_jatim) + 1))
    assert {row[2] for row in rows["all food sentra due in year one"]} >= {"Sentra Bakpia Pathuk"}
    (why,) = rows["why a sentra ranks where it does"]
    assert why[0] == "Sentra Bakpia Pathuk" and why[2] is True and why[13]  # eligible, drivers
    assert rows["the data dictionary, from the file itself"]
    assert rows["re-survey worklist of a province"]


@pytest.fixture(scope="session")
def oldest_duckdb_python(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A separate virtual environment with the oldest DuckDB we claim to support.

    Created with uv from its cache (about a second warm, a few seconds cold: one ~20 MB wheel).
    """
    uv = os.environ.get("UV") or shutil.which("uv")  # `uv run` sets UV to itself
    if not uv:
        pytest.fail("uv is needed to create the old-DuckDB environment (run tests via `uv run`)")
    venv = tmp_path_factory.mktemp("oldest-duckdb") / "venv"
    env = {k: v for k, v in os.environ.items() if k != "VIRTUAL_ENV"}
    python = venv / "bin" / "python"
    for command in (
        [uv, "venv", "--quiet", "--python", sys.executable, str(venv)],
        [uv, "pip", "install", "--quiet", "--python", str(python), f"duckdb=={OLDEST_DUCKDB}"],
    ):
        done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
        assert done.returncode == 0, f"{' '.join(command)} failed:\n{done.stderr}"
    return python


OLD_READER = """
import json, sys
import duckdb

job = json.load(sys.stdin)
con = duckdb.connect(job["path"], read_only=True,
                     config={"autoinstall_known_extensions": False})
tables = [t for (t,) in con.execute(
    "select table_name from information_schema.tables "
    "where table_schema = 'marts' order by 1").fetchall()]
# Counted inside DuckDB: the old Python client needs pytz just to hand over timestamptz values.
rows = {}
for title, query in job["queries"].items():
    try:
        counted = f"select count(*) from ({query.strip().rstrip(';')})"
        rows[title] = con.execute(counted).fetchone()[0]
    except Exception as error:
        rows[title] = f"{type(error).__name__}: {error}"
top = con.execute(job["top"]).fetchall()
print(json.dumps({"version": duckdb.__version__, "tables": tables, "rows": rows, "top": top}))
"""


TOP_THREE = """
    select rank_national, sentra_id, score, phase_year from marts.sentra_revitalisation_score
    where eligible order by rank_national limit 3"""


def test_the_oldest_supported_duckdb_opens_the_published_file(
    bi_settings: Settings, oldest_duckdb_python: Path
) -> None:
    build_and_publish(bi_settings, "run")
    queries = documented_queries()
    con = connect(bi_settings.warehouse_path, read_only=True)
    expected_rows = {title: len(con.execute(query).fetchall()) for title, query in queries.items()}
    top_three = [list(row) for row in con.execute(TOP_THREE).fetchall()]
    expected_tables = sorted(
        table
        for (table,) in con.execute(
            "select table_name from duckdb_tables() where schema_name = 'marts'"
        ).fetchall()
    )
    con.close()

    job = json.dumps(
        {"path": str(bi_settings.warehouse_path), "queries": queries, "top": TOP_THREE}
    )
    done = subprocess.run(
        [str(oldest_duckdb_python), "-c", OLD_READER],
        input=job,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    seen = json.loads(done.stdout)
    assert seen["version"] == OLDEST_DUCKDB
    assert seen["tables"] == expected_tables
    assert seen["rows"] == expected_rows
    assert seen["top"] == top_three
