"""The `sentra` command line end to end, as a user runs it."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
from typer.testing import CliRunner

from pipelines.app.cli import app
from pipelines.platform.duckdb import connect

runner = CliRunner()


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty working folder with the embedded defaults (./data/...) and a fixed date."""
    monkeypatch.chdir(tmp_path)
    for name in ("SENTRA_LANDING", "SENTRA_LAKE", "SENTRA_WAREHOUSE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("SENTRA_AS_OF", "2026-06-30")
    return tmp_path


def test_demo_runs_the_whole_pipeline_on_the_embedded_defaults(workdir: Path) -> None:
    result = runner.invoke(app, ["demo"])

    assert result.exit_code == 0, result.output
    warehouse = workdir / "data" / "warehouse" / "sentra.duckdb"
    assert "Top 10 sentra" in result.output
    assert "sentra.duckdb" in result.output.replace("\n", "")
    con = connect(warehouse, read_only=True)
    try:
        ranked = con.execute(
            "select count(*) from marts.sentra_revitalisation_score where eligible"
        ).fetchone()
        unranked = con.execute(
            "select count(*) from marts.sentra_revitalisation_score "
            "where not eligible and rank_national is null"
        ).fetchone()
        published = con.execute("select count(*) from meta.publish_log").fetchone()
    finally:
        con.close()
    assert ranked is not None and ranked[0] > 50
    assert unranked is not None and unranked[0] > 0
    assert published == (1,)
    # The deliberately broken samples are quarantined with a report: the registry file, the
    # damaged marketplace export, and the export whose few bad lines are held back alone.
    reports = list((workdir / "data" / "lake" / "quarantine").rglob("report.md"))
    by_source = Counter(
        report.relative_to(workdir / "data" / "lake").parts[1] for report in reports
    )
    assert by_source == {"registry": 1, "marketplace": 2}

    status = runner.invoke(app, ["status"])
    assert status.exit_code == 0
    assert "quarantined" in status.output and "Marts: version" in status.output

    again = runner.invoke(app, ["ingest"])
    assert again.exit_code == 0
    assert "skipped" in again.output and "ingested" not in again.output.split("Ingest run")[1]


def test_ingest_exits_1_when_a_file_is_quarantined(workdir: Path) -> None:
    bad = workdir / "data" / "landing" / "registry" / "bad.csv"
    bad.parent.mkdir(parents=True)
    bad.write_text(
        "Nama Sentra;Provinsi;Kab/Kota;Komoditas;Jumlah IKM;Status\n"
        "Sentra X;Atlantis;Kota Y;Makanan;10;Aktif\n",
        encoding="cp1252",
    )

    result = runner.invoke(app, ["ingest"])

    assert result.exit_code == 1
    assert "quarantined" in result.output


@pytest.mark.parametrize(
    ("args", "env"),
    [
        (["ingest", "registry/not-there.csv"], {}),
        (["build"], {"SENTRA_AS_OF": "next tuesday"}),
        (["sample", "--scale", "galactic"], {}),
        (["no-such-command"], {}),
    ],
)
def test_usage_and_configuration_errors_exit_2(
    workdir: Path, monkeypatch: pytest.MonkeyPatch, args: list[str], env: dict[str, str]
) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    result = runner.invoke(app, args)
    assert result.exit_code == 2, result.output
