"""The data-quality policy: thresholds, volume checks, warnings, replay and freshness."""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from pipelines.ingest.engine import Ingestor
from pipelines.ingest.freshness import check_freshness
from pipelines.lake.ledger import Ledger
from pipelines.marts.publish import build_and_publish
from pipelines.platform.duckdb import connect
from pipelines.platform.settings import Settings
from pipelines.quality.policy import load_policy
from tests.registry_files import DIY_ROWS, JATIM_SENTRA, registry_csv, registry_xlsx


def lenient(settings: Settings, tmp_path: Path, share: float) -> Settings:
    """The same settings with a registry row-rejection threshold of ``share``."""
    policy = json.loads(load_policy().model_dump_json())
    policy["sources"]["registry"]["max_rejected_row_share"] = share
    path = tmp_path / f"policy-{share}.yaml"
    path.write_text(json.dumps(policy))  # JSON is YAML
    return settings.model_copy(update={"quality_policy": path})


def with_bad_row() -> bytes:
    rows = [list(row) for row in DIY_ROWS]
    rows[2][6] = "0"  # jumlah_ikm 0: a row-level critical failure on sheet row 6
    return registry_csv(rows)


def dim_sentra_names(settings: Settings) -> set[str]:
    con = connect(settings.warehouse_path, read_only=True)
    try:
        return {
            row[0] for row in con.execute("select nama_sentra from marts.dim_sentra").fetchall()
        }
    finally:
        con.close()


def test_under_the_threshold_only_the_bad_rows_are_quarantined(
    settings: Settings, tmp_path: Path
) -> None:
    settings = lenient(settings, tmp_path, 0.25)
    settings.landing_store.write_bytes("registry/diy.csv", with_bad_row())

    [outcome] = Ingestor(settings).run().outcomes
    build_and_publish(settings, "run")

    assert outcome.status == "ingested"
    assert (outcome.rows_in, outcome.rows_valid, outcome.rows_rejected) == (5, 4, 1)
    assert "1 of 5 rows quarantined" in outcome.message
    assert "Sentra Bakpia Pathuk" not in dim_sentra_names(settings)
    assert len(dim_sentra_names(settings)) == 4
    [rejected] = [o.key for o in settings.lake_store.list("quarantine/") if "rejected_" in o.key]
    rejected_rows = pq.read_table(settings.lake_store.uri_for(rejected)).to_pylist()
    assert [(r["nama_sentra"], r["jumlah_ikm"], r["source_row"]) for r in rejected_rows] == [
        ("Sentra Bakpia Pathuk", 0, 6)
    ]


def test_above_the_threshold_the_whole_file_is_quarantined(settings: Settings) -> None:
    settings.landing_store.write_bytes("registry/diy.csv", with_bad_row())

    [outcome] = Ingestor(settings).run().outcomes

    assert outcome.status == "quarantined"  # the built-in registry policy tolerates no bad row
    assert (outcome.rows_valid, outcome.rows_rejected) == (4, 1)
    assert settings.lake_store.list("clean/") == []
    assert any("rejected_registry_sentra" in o.key for o in settings.lake_store.list("quarantine/"))


def test_a_file_level_failure_is_never_split_even_under_a_lenient_threshold(
    settings: Settings, tmp_path: Path
) -> None:
    settings = lenient(settings, tmp_path, 1.0)
    settings.landing_store.write_bytes("registry/diy.csv", registry_csv(DIY_ROWS))
    Ingestor(settings).run()
    # The same province and period again with 1 of 5 sentra: truncated, a table-level failure.
    settings.landing_store.write_bytes("registry/diy_revisi.csv", registry_csv(DIY_ROWS[:1]))

    [_, truncated] = Ingestor(settings).run().outcomes

    assert truncated.status == "quarantined"
    assert truncated.report is not None
    assert [c.check for c in truncated.report.blocking_checks] == ["not_truncated"]


def test_a_smaller_late_file_for_an_older_period_is_not_called_truncated(
    settings: Settings,
) -> None:
    settings.landing_store.write_bytes("registry/diy.csv", registry_csv(DIY_ROWS))
    Ingestor(settings).run()
    older = [[*row[:-1], "2023"] for row in DIY_ROWS[:1]]
    settings.landing_store.write_bytes("registry/diy_2023.csv", registry_csv(older))

    outcomes = Ingestor(settings).run().outcomes

    assert [o.status for o in outcomes] == ["skipped", "ingested"]


def test_warnings_publish_and_are_recorded(settings: Settings) -> None:
    rows = [list(row) for row in DIY_ROWS]
    rows[0][4] = "Wayang Kulit"  # a komoditas no group knows yet
    settings.landing_store.write_bytes("registry/diy.csv", registry_csv(rows))
    members = [["IKM-1", "SIKM-3507-0002", "A", None], ["IKM-2", "SIKM-3507-0002", "B", None]]
    small = [list(JATIM_SENTRA[1])]
    small[0][7] = 1  # jumlah_ikm 1 but two members listed
    settings.landing_store.write_bytes("registry/jatim.xlsx", registry_xlsx(small, members))

    outcomes = {o.key: o for o in Ingestor(settings).run().outcomes}

    assert {o.status for o in outcomes.values()} == {"ingested"}
    assert any(
        w.startswith("komoditas_known: 1 rows") for w in outcomes["registry/diy.csv"].warnings
    )
    assert any(
        w.startswith("members_within_jumlah_ikm: 1 rows")
        for w in outcomes["registry/jatim.xlsx"].warnings
    )
    records = {r.original_name: r for r in Ledger(settings.lake_store).latest_records()}
    assert records["registry/diy.csv"].warnings == list(outcomes["registry/diy.csv"].warnings)


def test_replay_after_the_suite_is_fixed_records_both_outcomes(
    settings: Settings, tmp_path: Path
) -> None:
    strict = tmp_path / "expectations"
    shutil.copytree(settings.expectations_dir, strict)
    suite = json.loads((strict / "registry_sentra.json").read_text())
    for expectation in suite["expectations"]:
        if expectation["meta"]["check"] == "tahun_berdiri_not_future":
            expectation["kwargs"]["min_value"] = 1980  # a wrong rule: Kotagede dates from 1950
    (strict / "registry_sentra.json").write_text(json.dumps(suite))
    settings.landing_store.write_bytes("registry/diy.csv", registry_csv(DIY_ROWS))
    [first] = Ingestor(settings.model_copy(update={"expectations_dir": strict})).run().outcomes
    assert first.status == "quarantined"

    replayed = Ingestor(settings, run_id="run-replay").replay(first.sha256[:10])

    assert replayed.status == "ingested"
    history = Ledger(settings.lake_store).history(first.sha256)
    assert [entry.status for entry in history] == ["quarantined", "ingested"]
    build_and_publish(settings, "run")
    assert len(dim_sentra_names(settings)) == 5


def test_replay_of_an_unknown_file_says_so(settings: Settings) -> None:
    with pytest.raises(LookupError, match="no received file"):
        Ingestor(settings).replay("deadbeef")


def test_freshness_flags_provinces_never_received_and_gone_quiet(settings: Settings) -> None:
    settings.landing_store.write_bytes("registry/diy.csv", registry_csv(DIY_ROWS))
    Ingestor(settings).run()

    now = datetime.now(UTC)
    fresh = check_freshness(settings, now=now)
    later = check_freshness(settings, now=now + timedelta(days=401))

    assert fresh.summary()["registry"] == (1, 37)
    assert "34" not in {scope.scope for scope in fresh.overdue}
    assert "34" in {scope.scope for scope in later.overdue}
    alert = later.alert()
    assert alert is not None and "registry 34 (Daerah Istimewa Yogyakarta): last file" in alert.body
    assert "never received" in alert.body


def test_the_policy_file_is_validated_on_load(tmp_path: Path) -> None:
    path = tmp_path / "policy.yaml"
    path.write_text("sources:\n  registry:\n    max_rejected_row_share: 2\n")
    with pytest.raises(ValueError, match="invalid data-quality policy"):
        load_policy(path)
