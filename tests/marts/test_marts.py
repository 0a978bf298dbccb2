"""Marts build and atomic publish: readers are never disturbed, failures never publish."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from pipelines.ingest.engine import Ingestor
from pipelines.marts import runner
from pipelines.marts.checks import data_test_failures
from pipelines.marts.publish import build_and_publish, python_models
from pipelines.marts.runner import VIEW_DIRECTIVE, load_models, run_models, tables_read
from pipelines.marts.schema import MartsCheckError, built_tables, load_table_specs
from pipelines.marts.scoring import load_scoring_config
from pipelines.platform.duckdb import connect
from pipelines.platform.settings import Settings
from pipelines.samples.landing import write_samples
from tests.registry_files import DIY_ROWS, JATIM_MEMBERS, JATIM_SENTRA, registry_csv, registry_xlsx


def ingest(settings: Settings, key: str, data: bytes) -> None:
    settings.landing_store.write_bytes(key, data)
    Ingestor(settings).run()


def test_score_follows_the_documented_gates(settings: Settings) -> None:
    ingest(settings, "registry/diy.csv", registry_csv(DIY_ROWS))
    build_and_publish(settings, "run")

    con = connect(settings.warehouse_path, read_only=True)
    rows = dict(
        con.execute("""select nama_sentra, ineligible_reason
                               from marts.sentra_revitalisation_score""").fetchall()
    )
    ranked = con.execute("""select nama_sentra, rank_national, rank_province, score
                            from marts.sentra_revitalisation_score where eligible
                            order by rank_national""").fetchall()
    con.close()
    assert rows == {
        "Sentra Batik Tulis Giriloyo": None,
        "Sentra Bakpia Pathuk": None,
        "Sentra Gerabah Kasongan": "below_min_units",  # 3 units < 5 (PP 29/2018)
        "Sentra Tempe Sleman": "inactive",
        "Sentra Perak Kotagede": "survey_stale",  # surveyed 2017, as_of 2026-06-30
    }
    assert [row[1] for row in ranked] == [1, 2]
    assert [row[2] for row in ranked] == [1, 2]
    assert ranked[0][3] > ranked[1][3]


def test_a_reader_holding_the_old_file_keeps_working_through_a_publish(settings: Settings) -> None:
    ingest(settings, "registry/diy.csv", registry_csv(DIY_ROWS))
    build_and_publish(settings, "run-1")
    reader = connect(settings.warehouse_path, read_only=True)
    before = reader.execute("select count(*) from marts.dim_sentra").fetchone()

    ingest(settings, "registry/jatim.xlsx", registry_xlsx(JATIM_SENTRA, JATIM_MEMBERS))
    result = build_and_publish(settings, "run-2")

    assert result.published
    assert reader.execute("select count(*) from marts.dim_sentra").fetchone() == before == (5,)
    reader.close()
    fresh = connect(settings.warehouse_path, read_only=True)
    assert fresh.execute("select count(*) from marts.dim_sentra").fetchone() == (7,)
    log = fresh.execute("select run_id from meta.publish_log order by published_at").fetchall()
    fresh.close()
    assert log == [("run-1",), ("run-2",)]


def test_a_crash_mid_build_leaves_the_published_file_untouched(
    settings: Settings, tmp_path: Path
) -> None:
    ingest(settings, "registry/diy.csv", registry_csv(DIY_ROWS))
    build_and_publish(settings, "run-1")
    published = settings.warehouse_path.read_bytes()

    broken_sql = tmp_path / "sql"
    shutil.copytree(settings.sql_dir, broken_sql)
    (broken_sql / "marts" / "zz_broken.sql").write_text("select * from no_such_table")
    broken = settings.model_copy(update={"sql_dir": broken_sql})
    ingest(settings, "registry/jatim.xlsx", registry_xlsx(JATIM_SENTRA, JATIM_MEMBERS))
    with pytest.raises(Exception, match="no_such_table"):
        build_and_publish(broken, "run-2")

    assert settings.warehouse_path.read_bytes() == published
    # Nothing left behind: no half-built file, no staged Parquet exports.
    assert sorted(p.name for p in settings.warehouse_path.parent.iterdir()) == [
        ".sentra.duckdb.reads.json",  # what each SQL model reads, by its text's digest
        ".sentra.duckdb.state",  # what the next build carries forward (docs/marts.md)
        "parquet",
        "sentra.duckdb",
    ]


# One deliberately broken model per kind of data test: (model, text replaced, replacement, the
# failure the publish must report).
BROKEN_MODELS = {
    "unique": (
        "dim_sentra",
        "select * from final",
        "select * from final union all select * from final",
        "marts.dim_sentra.sentra_id: unique failed: 5 values occur more than once, e.g. 'S34",
    ),
    "not_null": (
        "dim_sentra",
        "sentra.jumlah_ikm,",
        "cast(null as integer) as jumlah_ikm,",
        "marts.dim_sentra.jumlah_ikm: not_null failed: 5 rows are null",
    ),
    "accepted_values": (
        "dim_sentra",
        "sentra.status,",
        "upper(sentra.status) as status,",
        "marts.dim_sentra.status: accepted_values failed: 5 rows hold a value not in "
        "['aktif', 'tidak_aktif'], e.g. 'AKTIF', 'TIDAK_AKTIF'",
    ),
    "relationships": (
        "dim_sentra",
        "sentra.kabupaten_code,",
        "'34.99' as kabupaten_code,",
        "marts.dim_sentra.kabupaten_code: relationships failed: 5 rows hold a value not found "
        "in dim_region.region_code, e.g. '34.99'",
    ),
}


@pytest.mark.parametrize("kind", BROKEN_MODELS)
def test_a_failing_data_test_stops_the_publish_and_names_the_offenders(
    settings: Settings, tmp_path: Path, kind: str
) -> None:
    ingest(settings, "registry/diy.csv", registry_csv(DIY_ROWS))
    build_and_publish(settings, "run-1")
    published = settings.warehouse_path.read_bytes()
    model, text, replacement, failure = BROKEN_MODELS[kind]
    broken_sql = tmp_path / "sql"
    shutil.copytree(settings.sql_dir, broken_sql)
    path = broken_sql / "marts" / f"{model}.sql"
    assert text in path.read_text()
    path.write_text(path.read_text().replace(text, replacement))

    with pytest.raises(MartsCheckError) as error:
        build_and_publish(settings.model_copy(update={"sql_dir": broken_sql}), "run-2")

    assert failure in str(error.value)
    assert settings.warehouse_path.read_bytes() == published


def test_the_demo_build_passes_every_kind_of_data_test(settings: Settings) -> None:
    write_samples(settings.landing_store, scale="demo")
    Ingestor(settings).run()
    build_and_publish(settings, "run")

    specs = load_table_specs(settings.sql_dir)
    con = connect(settings.warehouse_path, read_only=True)
    try:
        built = built_tables(con)
        assert data_test_failures(con, built, specs) == []
    finally:
        con.close()
    declared = [
        (table, test.kind)
        for table in built
        for column in specs[table].columns.values()
        for test in column.tests
    ]
    assert {kind for _, kind in declared} == set(BROKEN_MODELS)
    assert ("marts.sentra_revitalisation_score", "relationships") in declared


def test_unchanged_inputs_do_not_republish_unless_forced(settings: Settings) -> None:
    ingest(settings, "registry/diy.csv", registry_csv(DIY_ROWS))
    first = build_and_publish(settings, "run-1")
    second = build_and_publish(settings, "run-2")
    forced = build_and_publish(settings, "run-3", force=True)

    assert (first.published, second.published, forced.published) == (True, False, True)
    assert second.record.version == first.record.version
    assert forced.record.version != first.record.version


def test_marts_build_before_any_file_arrives(settings: Settings) -> None:
    result = build_and_publish(settings, "run-empty")
    assert result.record.row_counts["dim_sentra"] == 0
    assert result.record.row_counts["dim_region"] == 38 + 514


def test_models_are_ordered_so_each_follows_what_it_reads(settings: Settings) -> None:
    config = load_scoring_config().config
    names = [model.name for model in load_models(settings.sql_dir, python_models(config))]
    assert (
        names.index("dim_region")
        < names.index("dim_sentra")
        < names.index("sentra_revitalisation_score")
    )
    assert names.index("int_registry_submissions") < names.index("int_sentra_current")
    # The Python model runs where its declared input and its reader put it.
    assert (
        names.index("int_sentra_scored")
        < names.index("int_sentra_phase_plan")
        < names.index("sentra_revitalisation_score")
    )


def write_models(sql_dir: Path, models: dict[str, str], layer: str = "staging") -> Path:
    (sql_dir / layer).mkdir(parents=True, exist_ok=True)
    for name, sql in models.items():
        (sql_dir / layer / f"{name}.sql").write_text(sql)
    return sql_dir


def test_an_intermediate_model_that_asks_to_be_a_view_is_one(tmp_path: Path) -> None:
    sql_dir = write_models(tmp_path / "sql", {"stg_orders": "select 1 as line"})
    write_models(
        sql_dir,
        {
            "int_lines_read_again": f"{VIEW_DIRECTIVE}\nselect * from stg_orders",
            "int_lines_kept": f"select * from stg_orders -- {VIEW_DIRECTIVE}",
        },
        layer="intermediate",
    )
    con = connect(tmp_path / "build.duckdb")
    run_models(con, load_models(sql_dir), [])

    tables = "select table_name, table_type from information_schema.tables"
    kinds = dict(con.execute(tables).fetchall())
    assert kinds == {
        "stg_orders": "VIEW",
        "int_lines_read_again": "VIEW",
        "int_lines_kept": "LOCAL TEMPORARY",  # only a first line declares it
    }


def test_a_mart_cannot_be_a_view(tmp_path: Path) -> None:
    sql_dir = write_models(tmp_path / "sql", {"stg_orders": "select 1 as line"})
    write_models(sql_dir, {"orders": f"{VIEW_DIRECTIVE}\nselect * from stg_orders"}, "marts")

    with pytest.raises(ValueError, match="marts are published tables, not views"):
        load_models(sql_dir)


def test_a_model_named_in_a_comment_or_a_string_is_not_a_dependency(tmp_path: Path) -> None:
    # Each model's text names the other, but only stg_orders reads the other: a regex over the
    # text saw a cycle here.
    sql_dir = write_models(
        tmp_path / "sql",
        {
            "stg_shops": "-- feeds stg_orders\n"
            "select 'not from stg_orders' as note, * from src_shops /* stg_orders */",
            "stg_orders": "with shops as (select * from stg_shops)\nselect * from shops",
        },
    )
    models = {model.name: model for model in load_models(sql_dir)}

    assert models["stg_shops"].reads == {"src_shops"}
    assert models["stg_orders"].reads == {"stg_shops"}
    assert list(models) == ["stg_shops", "stg_orders"]  # not alphabetical: by dependency


def test_what_each_model_reads_is_remembered_until_its_sql_changes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sql_dir = write_models(
        tmp_path / "sql",
        {"stg_a": "select * from src_a", "stg_b": "select * from stg_a"},
    )
    cache = tmp_path / "reads.json"
    first = {model.name: model.reads for model in load_models(sql_dir, reads_cache=cache)}
    parsed: list[str] = []

    def counting(sql: str, path: Path) -> frozenset[str]:
        parsed.append(path.stem)
        return tables_read(sql, path)

    monkeypatch.setattr(runner, "tables_read", counting)
    again = {model.name: model.reads for model in load_models(sql_dir, reads_cache=cache)}
    assert again == first == {"stg_a": {"src_a"}, "stg_b": {"stg_a"}}
    assert parsed == []  # nothing parsed: every SQL text was remembered

    # stg_a now reads stg_b: only the changed file is parsed, and the order follows it.
    (sql_dir / "staging" / "stg_b.sql").write_text("select * from src_b")
    (sql_dir / "staging" / "stg_a.sql").write_text("select * from stg_b")
    models = load_models(sql_dir, reads_cache=cache)
    assert sorted(parsed) == ["stg_a", "stg_b"]
    assert [(model.name, model.reads) for model in models] == [
        ("stg_b", {"src_b"}),
        ("stg_a", {"stg_b"}),
    ]
    # The file forgets the texts no model has any more.
    assert len(json.loads(cache.read_text())["reads"]) == 2


def test_an_unreadable_reads_cache_is_parsed_around_and_replaced(tmp_path: Path) -> None:
    sql_dir = write_models(tmp_path / "sql", {"stg_a": "select * from src_a"})
    cache = tmp_path / "reads.json"
    cache.write_text('{"parser": "sqlglot 0.0.1", "reads": {"x": ')  # cut short

    (model,) = load_models(sql_dir, reads_cache=cache)

    assert model.reads == {"src_a"}
    assert list(json.loads(cache.read_text())["reads"].values()) == [["src_a"]]


def test_models_that_read_each_other_are_named_in_the_error(tmp_path: Path) -> None:
    sql_dir = write_models(
        tmp_path / "sql",
        {
            "stg_a": "select * from stg_b",
            "stg_b": "select * from stg_c",
            "stg_c": "select * from stg_a",
            "stg_d": "select * from stg_a",
        },
    )
    with pytest.raises(ValueError, match="read each other in a circle") as error:
        load_models(sql_dir)
    cycle = str(error.value).split(": ", 1)[1].split(" -> ")
    assert sorted(cycle[:-1]) == ["stg_a", "stg_b", "stg_c"]
    assert cycle[0] == cycle[-1]


@pytest.mark.parametrize(
    ("tests", "error"),
    [
        ("[unique, not_nul]", "unknown data test 'not_nul'"),
        ("[{accepted_values: {value: [a]}}]", "accepted_values does not take ['value']"),
        ("[{unique: {config: {where: 'x > 1'}}}]", "unique does not take ['config']"),
        ("[{relationships: {to: dim_region, field: code}}]", "relationships needs 'to: ref("),
    ],
)
def test_a_data_test_that_cannot_run_as_written_is_refused(
    tmp_path: Path, tests: str, error: str
) -> None:
    (tmp_path / "marts").mkdir()
    (tmp_path / "marts" / "schema.yml").write_text(
        "models:\n  - name: dim_x\n    description: X.\n    columns:\n"
        f"      - name: code\n        description: A code.\n        data_tests: {tests}\n"
    )
    with pytest.raises(MartsCheckError, match=re.escape(error)):
        load_table_specs(tmp_path)


def test_two_builds_at_once_leave_one_version_whole_file_and_exports_alike(
    settings: Settings,
) -> None:
    from concurrent.futures import ThreadPoolExecutor

    from pipelines.lake.publications import published_records
    from pipelines.marts.publish import parquet_exports_current

    ingest(settings, "registry/diy.csv", registry_csv(DIY_ROWS))
    with ThreadPoolExecutor(max_workers=2) as pool:
        results = list(
            pool.map(lambda n: build_and_publish(settings, f"run-{n}", force=True), range(2))
        )

    assert all(result.published for result in results)
    con = connect(settings.warehouse_path, read_only=True)
    try:
        [(version,)] = con.execute(
            "select version from meta.publish_log order by published_at desc limit 1"
        ).fetchall()
    finally:
        con.close()
    [serving] = [r for r in published_records(settings.lake_store) if r.version == version]
    assert version in {result.record.version for result in results}
    assert parquet_exports_current(settings, serving)  # the exports are the file's version
    assert len(published_records(settings.lake_store)) == 2  # both recorded, none lost
