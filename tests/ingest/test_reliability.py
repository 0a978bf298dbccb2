"""Failure classes: data problems are quarantined with their location and never retried;
operational failures are retried, then parked with one alert instead of alerting forever."""

from __future__ import annotations

import dataclasses
import io
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
import yaml

from pipelines.app import usecases
from pipelines.feeds.catalog import FEEDS
from pipelines.ingest.engine import Ingestor
from pipelines.lake.ledger import Ledger
from pipelines.platform.settings import PROJECT_ROOT, Settings
from tests.registry_files import DIY_ROWS, JATIM_MEMBERS, JATIM_SENTRA, registry_csv, registry_xlsx

if TYPE_CHECKING:
    from pipelines.feeds.contract import FeedContext, FeedResult, LandedFile


def quarantine_report(settings: Settings, key: str) -> str:
    """The file error of the quarantine report of the only outcome of ingesting ``key``."""
    [outcome] = Ingestor(settings).run([key]).outcomes
    assert outcome.status == "quarantined", outcome.message
    assert outcome.report is not None and outcome.report.file_error
    return outcome.report.file_error


def with_limits(settings: Settings, tmp_path: Path, **limits: int) -> Settings:
    """The built-in quality policy with some parser limits lowered."""
    builtin = PROJECT_ROOT / "pipelines" / "config" / "quality.yaml"
    policy = yaml.safe_load(builtin.read_text(encoding="utf-8"))
    policy["limits"].update(limits)
    path = tmp_path / "quality.yaml"
    path.write_text(yaml.safe_dump(policy), encoding="utf-8")
    return settings.model_copy(update={"quality_policy": path})


def test_a_cell_past_the_field_limit_is_quarantined_with_its_line_not_retried(
    settings: Settings,
) -> None:
    rows = [list(row) for row in DIY_ROWS]
    rows[2][0] = "x" * (2 << 20)  # a 2 MiB cell: past the default 1 MiB limit
    settings.landing_store.write_bytes("registry/diy.csv", registry_csv(rows))

    error = quarantine_report(settings, "registry/diy.csv")

    assert "max_field_bytes" in error and "line 6" in error  # title, blank, header, 3rd row
    [again] = Ingestor(settings).run().outcomes
    assert again.status == "skipped"


def test_a_row_with_too_many_cells_names_the_limit_and_the_line(settings: Settings) -> None:
    rows = [list(row) for row in DIY_ROWS]
    rows[0] += [""] * 600
    settings.landing_store.write_bytes("registry/wide.csv", registry_csv(rows))

    error = quarantine_report(settings, "registry/wide.csv")

    assert "max_columns" in error and "line 4" in error  # the first row after the header


def test_a_workbook_that_unzips_past_the_limit_is_refused_before_it_is_opened(
    settings: Settings, tmp_path: Path
) -> None:
    workbook = registry_xlsx(JATIM_SENTRA, JATIM_MEMBERS)
    unzipped = sum(i.file_size for i in zipfile.ZipFile(io.BytesIO(workbook)).infolist())
    limited = with_limits(settings, tmp_path, max_xlsx_uncompressed_bytes=unzipped - 1)
    settings.landing_store.write_bytes("registry/jatim.xlsx", workbook)

    error = quarantine_report(limited, "registry/jatim.xlsx")

    assert "max_xlsx_uncompressed_bytes" in error and f"{unzipped:,}" in error


def test_rows_past_the_row_limit_name_the_sheet(settings: Settings, tmp_path: Path) -> None:
    limited = with_limits(settings, tmp_path, max_rows=4)
    settings.landing_store.write_bytes(
        "registry/jatim.xlsx", registry_xlsx(JATIM_SENTRA, JATIM_MEMBERS)
    )

    error = quarantine_report(limited, "registry/jatim.xlsx")

    assert "max_rows" in error and "sheet" in error and "row 5" in error


def test_a_file_that_keeps_failing_is_parked_with_one_alert_then_replayed(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    registry = FEEDS["registry"]

    def storage_down(context: FeedContext, landed: LandedFile) -> FeedResult:
        raise ConnectionError("lake endpoint unreachable")

    monkeypatch.setitem(
        FEEDS, "registry", dataclasses.replace(registry, process=storage_down, prepare=None)
    )
    settings.landing_store.write_bytes("registry/diy.csv", registry_csv(DIY_ROWS))

    runs = [usecases.ingest(settings, None) for _ in range(4)]

    statuses = [[o.status for o in run.summary.outcomes] for run in runs]
    assert statuses == [["failed"], ["failed"], ["parked"], ["skipped"]]
    alerts = [[(a.severity, a.title) for a in run.alerted.alerts] for run in runs]
    assert alerts[0] == [("warning", "registry file failed, will be retried: registry/diy.csv")]
    assert alerts[1] == [] and alerts[3] == []
    [(severity, title)] = alerts[2]
    assert severity == "critical" and "parked" in title
    [parked] = runs[2].summary.outcomes
    assert "ConnectionError: lake endpoint unreachable" in parked.message
    assert f"sentra replay {parked.sha256[:12]}" in parked.message

    monkeypatch.setitem(FEEDS, "registry", registry)
    replayed = usecases.replay(settings, None, [parked.sha256])
    assert [o.status for o in replayed.summary.outcomes] == ["ingested"]
    history = Ledger(settings.lake_store).history(parked.sha256)
    assert [entry.status for entry in history] == ["failed", "failed", "parked", "ingested"]


@pytest.mark.parametrize("store", ["local", pytest.param("s3", marks=pytest.mark.s3)])
def test_a_file_still_being_copied_is_not_ingested_until_it_is_renamed(
    store: str, request: pytest.FixtureRequest
) -> None:
    settings: Settings = request.getfixturevalue("settings" if store == "local" else "s3_settings")
    workbook = registry_xlsx(JATIM_SENTRA, JATIM_MEMBERS)
    # A copy tool writes under an in-progress name, then renames the finished file.
    settings.landing_store.write_bytes("registry/jatim.xlsx.part", workbook[: len(workbook) // 2])

    assert Ingestor(settings).run().outcomes == []

    settings.landing_store.write_bytes("registry/jatim.xlsx", workbook)
    settings.landing_store.delete("registry/jatim.xlsx.part")
    assert [o.status for o in Ingestor(settings).run().outcomes] == ["ingested"]
