"""Marts build and atomic publish: readers are never disturbed, failures never publish."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from pipelines.ingest.engine import Ingestor
from pipelines.marts.build import MartsCheckError, build_and_publish, load_models
from pipelines.platform.duckdb import connect
from pipelines.platform.settings import Settings
from tests.registry_files import DIY_ROWS, JATIM_MEMBERS, JATIM_SENTRA, registry_csv, registry_xlsx


def ingest(settings: Settings, key: str, data: bytes) -> None:
    settings.landing_store.write_bytes(key, data)
    Ingestor(settings).run()


def test_score_follows_the_documented_gates(settings: Settings) -> None:
    ingest(settings, "registry/diy.csv", registry_csv(DIY_ROWS))
    build_and_publish(settings, "run")

    con = connect(settings.warehouse, read_only=True)
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
    reader = connect(settings.warehouse, read_only=True)
    before = reader.execute("select count(*) from marts.dim_sentra").fetchone()

    ingest(settings, "registry/jatim.xlsx", registry_xlsx(JATIM_SENTRA, JATIM_MEMBERS))
    result = build_and_publish(settings, "run-2")

    assert result.published
    assert reader.execute("select count(*) from marts.dim_sentra").fetchone() == before == (5,)
    reader.close()
    fresh = connect(settings.warehouse, read_only=True)
    assert fresh.execute("select count(*) from marts.dim_sentra").fetchone() == (7,)
    log = fresh.execute("select run_id from meta.publish_log order by published_at").fetchall()
    fresh.close()
    assert log == [("run-1",), ("run-2",)]


def test_a_crash_mid_build_leaves_the_published_file_untouched(
    settings: Settings, tmp_path: Path
) -> None:
    ingest(settings, "registry/diy.csv", registry_csv(DIY_ROWS))
    build_and_publish(settings, "run-1")
    published = settings.warehouse.read_bytes()

    broken_sql = tmp_path / "sql"
    shutil.copytree(settings.sql_dir, broken_sql)
    (broken_sql / "marts" / "zz_broken.sql").write_text("select * from no_such_table")
    broken = settings.model_copy(update={"sql_dir": broken_sql})
    ingest(settings, "registry/jatim.xlsx", registry_xlsx(JATIM_SENTRA, JATIM_MEMBERS))
    with pytest.raises(Exception, match="no_such_table"):
        build_and_publish(broken, "run-2")

    assert settings.warehouse.read_bytes() == published
    # Nothing left behind: no half-built file, no staged Parquet exports.
    assert sorted(p.name for p in settings.warehouse.parent.iterdir()) == [
        "parquet",
        "sentra.duckdb",
    ]


def test_a_failed_publish_check_publishes_nothing(settings: Settings, tmp_path: Path) -> None:
    ingest(settings, "registry/diy.csv", registry_csv(DIY_ROWS))
    duplicated_sql = tmp_path / "sql"
    shutil.copytree(settings.sql_dir, duplicated_sql)
    dim = duplicated_sql / "marts" / "dim_sentra.sql"
    dim.write_text(
        dim.read_text().replace(
            "select * from final", "select * from final union all select * from final"
        )
    )
    with pytest.raises(MartsCheckError, match="duplicate sentra_id"):
        build_and_publish(settings.model_copy(update={"sql_dir": duplicated_sql}), "run")
    assert not settings.warehouse.exists()


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
    names = [model.name for model in load_models(settings.sql_dir)]
    assert (
        names.index("dim_region")
        < names.index("dim_sentra")
        < names.index("sentra_revitalisation_score")
    )
    assert names.index("int_registry_submissions") < names.index("int_sentra_current")
