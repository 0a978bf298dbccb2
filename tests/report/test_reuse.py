"""A new version's report carries the earlier version's unchanged sentra pages, byte for byte."""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path

import pytest

from pipelines.platform.storage import open_storage
from pipelines.report import reuse
from pipelines.report.data import ReportData, load_report_data
from pipelines.report.site import (
    report_prefix,
    report_renderer,
    sentra_page,
    upload_report,
    write_site,
)
from tests.report.conftest import DemoMarts


@pytest.fixture(scope="module")
def report_data(demo_marts: DemoMarts) -> ReportData:
    return load_report_data(demo_marts.settings, demo_marts.settings.warehouse_path)


def versioned(data: ReportData, version: str) -> ReportData:
    publish = [{**data.queries["publish"][0], "version": version}]
    return dataclasses.replace(data, queries={**data.queries, "publish": publish})


def rescored(data: ReportData, sentra_id: str, version: str) -> ReportData:
    """The same marts but for one sentra's score, as a later version would publish them."""
    sentra = [
        {**row, "score": row["score"] + 1} if row["sentra_id"] == sentra_id else row
        for row in data.sentra
    ]
    later = versioned(data, version)
    return dataclasses.replace(later, queries={**later.queries, "sentra": sentra})


def files(folder: Path) -> dict[str, bytes]:
    return {
        path.relative_to(folder).as_posix(): path.read_bytes()
        for path in sorted(folder.rglob("*"))
        if path.is_file()
    }


def test_a_report_written_with_carried_pages_equals_one_written_whole(
    report_data: ReportData, tmp_path: Path
) -> None:
    changed = report_data.ranked[0]["sentra_id"]
    later = rescored(report_data, changed, "v2")
    write_site(tmp_path / "v1", report_data)
    earlier = reuse.InstalledReport(tmp_path / "v1", report_renderer())

    write_site(tmp_path / "carried", later, earlier)
    write_site(tmp_path / "whole", later)

    assert files(tmp_path / "carried") == files(tmp_path / "whole")
    changed_page, unchanged_page = (
        sentra_page(changed),
        sentra_page(report_data.sentra[-1]["sentra_id"]),
    )
    assert not (tmp_path / "carried" / changed_page).samefile(tmp_path / "v1" / changed_page)
    assert (tmp_path / "carried" / unchanged_page).samefile(tmp_path / "v1" / unchanged_page)
    assert b"v2" in (tmp_path / "carried" / "assets" / "version.js").read_bytes()
    # The pages listing every sentra show the new score; the others, and the assets, are carried.
    for page in ("index.html", "map.html", "sentra/index.html"):
        assert not (tmp_path / "carried" / page).samefile(tmp_path / "v1" / page), page
    for page in ("phases.html", "growth.html", "quality.html", "assets/plotly.min.js"):
        assert (tmp_path / "carried" / page).samefile(tmp_path / "v1" / page), page


def test_no_page_is_carried_when_the_renderer_changed(
    report_data: ReportData, tmp_path: Path
) -> None:
    write_site(tmp_path / "v1", report_data)
    earlier = reuse.InstalledReport(tmp_path / "v1", "another renderer")

    write_site(tmp_path / "v2", report_data, earlier)

    page = sentra_page(report_data.sentra[0]["sentra_id"])
    assert not (tmp_path / "v2" / page).samefile(tmp_path / "v1" / page)
    assert (tmp_path / "v2" / page).read_bytes() == (tmp_path / "v1" / page).read_bytes()


@pytest.mark.s3
def test_an_s3_report_copies_the_last_uploaded_reports_unchanged_pages(
    report_data: ReportData,
    s3_env: str,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    store = open_storage(f"{s3_env}/warehouse")
    later = rescored(report_data, report_data.ranked[0]["sentra_id"], "v2")
    upload_report(store, versioned(report_data, "v1"))

    with caplog.at_level(logging.INFO, logger="pipelines.report.site"):
        upload_report(store, later)
    write_site(tmp_path / "whole", later)

    prefix = report_prefix("v2")
    uploaded = {
        obj.key.removeprefix(f"{prefix}/"): store.read_bytes(obj.key)
        for obj in store.list(f"{prefix}/")
    }
    assert uploaded == files(tmp_path / "whole")
    # The rescored sentra's page and the three pages listing every sentra are rendered again.
    carried = len(report_data.sentra) - 1 + 3
    assert f"4 pages rendered, {carried} carried unchanged (and 4 of 4 assets)" in caplog.text

    # A version whose figures did not change carries every page, the index included, which is
    # copied last: its presence says the report is whole.
    copied: list[str] = []
    monkeypatch.setattr(
        type(store), "copy", lambda _, source, target: copied.append(target.rsplit("/", 2)[-1])
    )
    upload_report(store, versioned(later, "v3"))
    assert copied[-1] == "index.html"
    assert len(copied) == len(report_data.sentra) + 6 + 4  # every page and asset
