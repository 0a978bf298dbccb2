"""The demo's ranking, `sentra status` and `sentra explain` read well in an 80-column terminal."""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path

import duckdb
import pytest
from rich.console import Console
from typer.testing import CliRunner

from pipelines.app import cli
from pipelines.report.data import sentra_rows
from tests.report.conftest import DemoMarts

WIDTH = 80
Output = Callable[[], list[str]]


@pytest.fixture
def terminal(monkeypatch: pytest.MonkeyPatch, demo_marts: DemoMarts) -> Output:
    """The CLI's console at 80 columns, pointed at the demo marts; returns the lines printed."""
    screen = io.StringIO()
    monkeypatch.setattr(cli, "console", Console(file=screen, width=WIDTH, color_system=None))
    settings = demo_marts.settings
    monkeypatch.setenv("SENTRA_LANDING", settings.landing)
    monkeypatch.setenv("SENTRA_LAKE", settings.lake)
    monkeypatch.setenv("SENTRA_WAREHOUSE", settings.warehouse)
    return lambda: screen.getvalue().splitlines()


def test_the_demo_ranking_fits_80_columns_with_each_reason_one_command_away(
    terminal: Output, demo_marts: DemoMarts
) -> None:
    top = sentra_rows(demo_marts.settings, demo_marts.settings.warehouse_path)[:10]

    cli.show_ranking(top, f"Top 10 sentra (marts version {demo_marts.version})")

    lines = terminal()
    assert max(len(line) for line in lines) <= WIDTH
    assert "sentra explain SENTRA_ID" in "\n".join(lines)
    reasons = [line for line in lines if ": " in line and line.strip()[:1].isdigit()]
    assert [line.split()[1].rstrip(":") for line in reasons] == [r["sentra_id"] for r in top]
    for row in top:
        shown = next(line for line in lines if line.split()[:1] == [str(row["rank_national"])])
        assert row["nama_sentra"][:20] in shown
        assert f"{row['score']:.2f}" in shown and str(row["phase_year"]) in shown


def test_status_fits_80_columns_and_links_the_report(
    terminal: Output, demo_marts: DemoMarts
) -> None:
    result = CliRunner().invoke(cli.app, ["status"])

    assert result.exit_code == 0, result.output
    lines = terminal()
    assert max(len(line) for line in lines) <= WIDTH
    text = "".join(lines)
    assert "quarantined" in text and "sentra replay" in text
    assert f"Report:{demo_marts.report}" in text.replace("Report: ", "Report:")


def test_explain_prints_the_full_reason_within_80_columns(
    terminal: Output, marts: duckdb.DuckDBPyConnection
) -> None:
    sentra_id, score, drivers = marts.execute(
        "select sentra_id, score, top_drivers from marts.sentra_revitalisation_score "
        "where rank_national = 1"
    ).fetchone() or ("", 0, "")

    result = CliRunner().invoke(cli.app, ["explain", sentra_id.lower()])

    assert result.exit_code == 0, result.output
    lines = terminal()
    assert max(len(line) for line in lines) <= WIDTH
    assert f"Score {score:.2f}: rank 1 nationally" in "\n".join(lines)
    assert [line.strip() for line in lines if line.startswith("  - ")] == [
        f"- {driver}" for driver in drivers.split("; ")
    ]


def test_explain_names_the_gate_an_unranked_sentra_failed(
    terminal: Output, marts: duckdb.DuckDBPyConnection
) -> None:
    (sentra_id,) = marts.execute(
        "select sentra_id from marts.sentra_revitalisation_score "
        "where ineligible_reason = 'survey_stale' limit 1"
    ).fetchone() or ("",)

    result = CliRunner().invoke(cli.app, ["explain", sentra_id])

    assert result.exit_code == 0, result.output
    text = "\n".join(terminal())
    assert "gate surveyed recently enough: failed" in text
    assert "gate a priority komoditas (e-Smart IKM): not checked" in text
    assert "Score" not in text


def test_explain_of_an_unknown_sentra_exits_2(terminal: Output) -> None:
    result = CliRunner().invoke(cli.app, ["explain", "NO-SUCH-SENTRA"])

    assert result.exit_code == 2


@pytest.mark.parametrize("on_a_terminal", [True, False])
def test_sample_progress_is_drawn_on_a_terminal_only(
    on_a_terminal: bool, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    screen = io.StringIO()
    console = Console(file=screen, width=WIDTH, force_terminal=on_a_terminal)
    monkeypatch.setattr(cli, "console", console)
    monkeypatch.setenv("SENTRA_LANDING", str(tmp_path / "landing"))

    result = CliRunner().invoke(cli.app, ["sample", "--no-errors"])

    assert result.exit_code == 0, result.output
    printed = screen.getvalue()
    assert "Wrote " in printed
    assert ("sample" in printed.split("Wrote ")[0]) is on_a_terminal
    assert ("marketplace/" in printed.split("Wrote ")[0]) is on_a_terminal
