"""The revitalisation score: configuration, gates, components, phasing, determinism."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from pipelines.ingest.engine import Ingestor
from pipelines.marts.publish import build_and_publish
from pipelines.marts.scoring import Candidate, Phasing, load_scoring_config, plan_phases
from pipelines.platform.duckdb import connect
from pipelines.platform.settings import Settings
from pipelines.samples.landing import write_samples
from tests.conftest import TEST_AS_OF


@pytest.fixture(scope="module")
def demo_lake(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """The demo sample, ingested once for the module; each test builds its own warehouse."""
    root = tmp_path_factory.mktemp("demo")
    settings = Settings(
        landing=str(root / "landing"),
        lake=str(root / "lake"),
        warehouse=root / "unused.duckdb",
        as_of=TEST_AS_OF,
    )
    write_samples(settings.landing_store, scale="demo")
    Ingestor(settings).run()
    return settings


def build_with(demo_lake: Settings, tmp_path: Path, name: str = "sentra", **changes: Any) -> Path:
    """Build the marts with the built-in configuration changed by ``changes`` (dotted keys)."""
    config = yaml.safe_load(Path("pipelines/config/scoring.yaml").read_text())
    for dotted, value in changes.items():
        *parents, leaf = dotted.split("__")
        node = config
        for parent in parents:
            node = node[parent]
        node[leaf] = value
    config_path = tmp_path / f"{name}.yaml"
    config_path.write_text(yaml.safe_dump(config))
    settings = demo_lake.model_copy(
        update={"warehouse": str(tmp_path / f"{name}.duckdb"), "scoring_config": config_path}
    )
    build_and_publish(settings, f"run-{name}", force=True)
    return settings.warehouse_path


def rows(warehouse: Path, query: str) -> list[tuple[Any, ...]]:
    con = connect(warehouse, read_only=True)
    try:
        return con.execute(query).fetchall()
    finally:
        con.close()


def test_dead_stale_small_and_non_priority_sentra_never_rank(
    demo_lake: Settings, tmp_path: Path
) -> None:
    warehouse = build_with(demo_lake, tmp_path)
    unranked = rows(
        warehouse,
        """
        select s.status, r.ineligible_reason, r.rank_national, r.score, r.phase_year
        from marts.sentra_revitalisation_score r join marts.dim_sentra s using (sentra_id)
        where s.status = 'tidak_aktif' or r.jumlah_ikm < 5 or r.komoditas_group is null
           or r.komoditas_group not in ('makanan', 'minuman', 'fashion', 'kerajinan',
              'furnitur', 'kosmetik', 'herbal', 'perhiasan', 'logam')
           or r.years_since_survey > 5""",
    )
    assert len(unranked) > 10
    assert all(row[1] is not None and row[2:] == (None, None, None) for row in unranked)
    dead = [row for row in unranked if row[0] == "tidak_aktif"]
    assert dead and all(
        row[1] in ("inactive", "below_min_units", "below_dak_min_units") for row in dead
    )


def test_score_is_the_documented_weighted_sum_and_weights_move_it(
    demo_lake: Settings, tmp_path: Path
) -> None:
    default = build_with(demo_lake, tmp_path, "default")
    shifted = build_with(
        demo_lake,
        tmp_path,
        "shifted",
        weights__cluster_strength=0.5,
        weights__digital_gap=0.0,
        weights__commodity_priority=0.1,
    )
    query = """select sentra_id, score, cluster_strength, growth_momentum, market_traction,
                      digital_gap, commodity_priority
               from marts.sentra_revitalisation_score where eligible order by sentra_id"""
    before = {r[0]: r for r in rows(default, query)}
    after = {r[0]: r for r in rows(shifted, query)}
    assert len(before) > 50 and after.keys() == before.keys()
    for scored, weights in (
        (before, (0.30, 0.20, 0.20, 0.15, 0.15)),
        (after, (0.50, 0.20, 0.20, 0.0, 0.10)),
    ):
        for _, score, *components in scored.values():
            expected = sum(w * c for w, c in zip(weights, components, strict=True))
            assert score == pytest.approx(expected, abs=0.006)
    for sentra_id, (_, score, cluster, *_rest) in before.items():
        delta = after[sentra_id][1] - score
        # Only the weights changed: the components are the same in both builds.
        assert after[sentra_id][2:] == before[sentra_id][2:]
        documented = 0.2 * cluster - 0.15 * before[sentra_id][5] - 0.05 * before[sentra_id][6]
        assert delta == pytest.approx(documented, abs=0.012)


def test_sentra_without_sales_or_member_list_are_neutral_and_flagged(
    demo_lake: Settings, tmp_path: Path
) -> None:
    # Growth with both its inputs missing: tests/marts/test_score_components.py (the demo has none).
    warehouse = build_with(demo_lake, tmp_path)
    no_sales = rows(
        warehouse,
        """
        select market_traction, net_sales_window_idr from marts.sentra_revitalisation_score
        where eligible and list_contains(data_gaps, 'no_marketplace_sales')""",
    )
    no_members = rows(
        warehouse,
        """
        select digital_gap, members_listed from marts.sentra_revitalisation_score
        where eligible and list_contains(data_gaps, 'no_member_list')""",
    )
    assert no_sales and set(no_sales) == {(50, None)}
    assert no_members and set(no_members) == {(50, 0)}


def test_every_eligible_sentra_is_explained_and_phased(demo_lake: Settings, tmp_path: Path) -> None:
    warehouse = build_with(demo_lake, tmp_path, phasing__annual_capacity=20)
    ranked = rows(
        warehouse,
        """
        select rank_national, priority_tier, phase_year, top_drivers
        from marts.sentra_revitalisation_score where eligible order by rank_national""",
    )
    assert [row[0] for row in ranked] == list(range(1, len(ranked) + 1))
    assert all(row[3] for row in ranked)
    years = [row[2] for row in ranked]
    assert min(years) == 2027 and all(years.count(y) <= 20 for y in set(years))
    # Food and beverages (tier 1) are scheduled before the other priority commodities.
    last_tier_1 = max(row[2] for row in ranked if row[1] == 1)
    first_tier_2 = min(row[2] for row in ranked if row[1] == 2)
    assert last_tier_1 <= first_tier_2


def test_same_inputs_and_configuration_give_identical_marts(
    demo_lake: Settings, tmp_path: Path
) -> None:
    first = build_with(demo_lake, tmp_path, "first")
    second = build_with(demo_lake, tmp_path, "second")
    tables = [
        row[0]
        for row in rows(
            first, "select table_name from duckdb_tables() where schema_name = 'marts' order by 1"
        )
    ]
    for table in tables:
        query = f"select * from marts.{table}"
        assert rows(first, query) == rows(second, query), table


def test_a_resubmission_landed_beside_its_original_replaces_it(
    demo_lake: Settings, tmp_path: Path
) -> None:
    landed = [obj.key for obj in demo_lake.landing_store.list("registry/")]
    [revised] = [key for key in landed if "_revisi" in key]
    original = revised.replace("_revisi", "")
    assert original in landed
    warehouse = build_with(demo_lake, tmp_path)

    sources = rows(
        warehouse,
        f"""
        select registry_source_name, count(*) from marts.dim_sentra
        where registry_source_name in ('{original}', '{revised}') group by all""",
    )
    [(source, count)] = sources
    assert source == revised and count > 5


def test_island_group_thresholds_gate_dak_funding(demo_lake: Settings, tmp_path: Path) -> None:
    warehouse = build_with(demo_lake, tmp_path, eligibility__min_units_by_island_group={"Jawa": 60})
    gated = rows(
        warehouse,
        """
        select island_group, jumlah_ikm, ineligible_reason, min_units_required
        from marts.sentra_revitalisation_score where ineligible_reason = 'below_dak_min_units'""",
    )
    assert gated
    assert all(row[0] == "Jawa" and 5 <= row[1] < 60 and row[3] == 60 for row in gated)


def test_the_publish_log_records_the_configuration_hash(
    demo_lake: Settings, tmp_path: Path
) -> None:
    warehouse = build_with(demo_lake, tmp_path, "hashed")
    expected = load_scoring_config(tmp_path / "hashed.yaml").sha256
    logged = rows(
        warehouse,
        "select scoring_config_sha256 from meta.publish_log order by published_at desc limit 1",
    )
    assert logged == [(expected,)]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"weights": {"cluster_strength": 0.9}}, "weights must sum to 1"),
        ({"colour": "blue"}, "Extra inputs are not permitted"),
        ({"commodity_priority": {"first_phase_groups": ["genteng"]}}, "not among priority_groups"),
    ],
)
def test_the_configuration_is_validated_on_load(
    tmp_path: Path, change: dict[str, Any], message: str
) -> None:
    config = yaml.safe_load(Path("pipelines/config/scoring.yaml").read_text())
    for key, value in change.items():
        config[key] = {**config[key], **value} if isinstance(config.get(key), dict) else value
    path = tmp_path / "scoring.yaml"
    path.write_text(yaml.safe_dump(config))
    with pytest.raises(ValueError, match=message):
        load_scoring_config(path)


def test_phase_plan_respects_capacity_and_provincial_caps() -> None:
    candidates = [Candidate(f"S{i:02}", "34" if i < 6 else "35") for i in range(10)]
    plan = plan_phases(
        candidates, Phasing(start_year=2027, annual_capacity=4, max_per_province_per_year=2)
    )
    by_year: dict[int, list[str]] = {}
    for sentra_id, year in plan.items():
        by_year.setdefault(year, []).append(sentra_id)
    assert by_year == {
        2027: ["S00", "S01", "S06", "S07"],
        2028: ["S02", "S03", "S08", "S09"],
        2029: ["S04", "S05"],
    }
    uncapped = plan_phases(candidates, Phasing(start_year=2030, annual_capacity=3))
    assert [uncapped[c.sentra_id] for c in candidates] == [2030] * 3 + [2031] * 3 + [2032] * 3 + [
        2033
    ]


def test_raising_a_sentras_sales_never_lowers_its_market_traction(
    demo_lake: Settings, tmp_path: Path
) -> None:
    import shutil

    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    before = build_with(demo_lake, tmp_path, "before")
    selling = rows(
        before,
        """
        select sentra_id, market_traction, sales_trend, score, net_sales_window_idr
        from marts.sentra_revitalisation_score
        where eligible and net_sales_window_idr > 0 order by market_traction, sentra_id""",
    )
    assert len(selling) > 5, "the demo sample should sell online"
    sentra_id, traction, trend, score, sales = selling[len(selling) // 2]

    # The same lake, with every order line of that sentra's shops worth three times as much.
    lake = tmp_path / "lake"
    shutil.copytree(demo_lake.lake, lake)
    members = pq.read_table(lake / "clean" / "registry_members").to_pylist()
    shops = {
        account.lower()
        for member in members
        if member["sentra_id"] == sentra_id
        for account in member["seller_accounts"]
    }
    assert shops
    for path in (lake / "clean" / "marketplace_orders").glob("*.parquet"):
        orders = pq.read_table(path)
        shop = pc.binary_join_element_wise(
            pc.utf8_lower(orders["marketplace"]), pc.utf8_lower(orders["seller_account"]), ":"
        )
        ours = pc.is_in(shop, value_set=pa.array(sorted(shops)))
        tripled = pc.if_else(ours, pc.multiply(orders["net_idr"], 3), orders["net_idr"])
        index = orders.schema.get_field_index("net_idr")
        pq.write_table(
            orders.set_column(index, "net_idr", tripled.cast(orders["net_idr"].type)), path
        )
    richer = build_with(demo_lake.model_copy(update={"lake": str(lake)}), tmp_path, "after")

    [(traction_after, trend_after, score_after, sales_after)] = rows(
        richer,
        f"""
        select market_traction, sales_trend, score, net_sales_window_idr
        from marts.sentra_revitalisation_score where sentra_id = '{sentra_id}'""",
    )
    assert sales_after == pytest.approx(3 * sales)
    assert traction_after > traction  # from the middle of the pack, tripled sales must move up
    assert score_after >= score
    assert trend_after == pytest.approx(trend)  # the trend is a ratio: scaling leaves it alone
