"""Where the report goes: beside a local DuckDB file (swapped whole), or under an S3 version."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from pipelines.app import usecases
from pipelines.ingest.engine import Ingestor
from pipelines.lake.publications import published_records
from pipelines.platform.settings import Settings
from pipelines.platform.storage import open_storage
from pipelines.report.site import (
    REPORT,
    fetch_report,
    install_site,
    report_location,
    report_prefix,
    report_published,
    upload_site,
)
from tests.registry_files import DIY_ROWS, registry_csv


def written_site(root: Path, marker: str) -> Path:
    """A stand-in for a written report: an index and a page in a sub-folder."""
    (root / "sentra").mkdir(parents=True, exist_ok=True)
    (root / "index.html").write_text(marker)
    (root / "sentra" / "S1.html").write_text(f"{marker} sentra")
    return root


def writer(marker: str) -> Callable[[Path], object]:
    return lambda folder: written_site(folder, marker)


def test_a_new_version_replaces_the_report_whole_and_drops_the_old_one(tmp_path: Path) -> None:
    warehouse = tmp_path / "warehouse"
    install_site(writer("v1"), warehouse, "v1")
    install_site(writer("v2"), warehouse, "v2")

    assert (warehouse / REPORT).is_symlink()
    assert os.readlink(warehouse / REPORT) == ".report-v2"
    assert (warehouse / REPORT / "index.html").read_text() == "v2"
    assert (warehouse / REPORT / "sentra" / "S1.html").read_text() == "v2 sentra"
    assert sorted(path.name for path in warehouse.iterdir()) == [".report-v2", REPORT]


@pytest.mark.s3
def test_an_s3_report_is_uploaded_under_its_version_and_fetched_to_a_bi_host(
    s3_env: str, tmp_path: Path
) -> None:
    store = open_storage(f"{s3_env}/warehouse")
    upload_site(store, written_site(tmp_path / "site", "v1"), report_prefix("v1"))

    index = fetch_report(store, "v1", tmp_path / "bi")

    assert sorted(obj.key for obj in store.list("versions/")) == [
        "versions/v1/report/index.html",
        "versions/v1/report/sentra/S1.html",
    ]
    assert index.read_text() == "v1"
    assert (tmp_path / "bi" / REPORT / "sentra" / "S1.html").read_text() == "v1 sentra"
    with pytest.raises(LookupError, match="no report"):
        fetch_report(store, "v2", tmp_path / "bi")


def ingested_with_s3_warehouse(s3_env: str, tmp_path: Path) -> Settings:
    """A local lake with one ingested registry file; the marts go to an S3 warehouse."""
    settings = Settings(
        landing=str(tmp_path / "landing"), lake=str(tmp_path / "lake"), warehouse=s3_env
    )
    settings.landing_store.write_bytes("registry/diy.csv", registry_csv(DIY_ROWS))
    Ingestor(settings).run()
    return settings


@pytest.mark.s3
def test_a_build_to_an_s3_warehouse_uploads_the_report_beside_its_version(
    s3_env: str, tmp_path: Path
) -> None:
    settings = ingested_with_s3_warehouse(s3_env, tmp_path)

    result = usecases.build(settings, "run")

    version = result.record.version
    assert result.report == f"{s3_env}/versions/{version}/report/index.html"
    assert settings.warehouse_store.exists(f"versions/{version}/report/map.html")
    assert settings.warehouse_store.exists(f"versions/{version}/report/assets/plotly.min.js")


@pytest.mark.s3
def test_the_report_step_on_another_worker_writes_the_published_versions_report_once(
    s3_env: str, tmp_path: Path
) -> None:
    settings = ingested_with_s3_warehouse(s3_env, tmp_path)
    built = usecases.build(settings, "run", with_report=False)
    version = built.record.version
    assert built.report is None and not report_published(settings, version)
    settings.warehouse_path.unlink()  # the report task's worker has no working copy

    location = usecases.write_report(settings, version)

    prefix = report_prefix(version)
    version_script = settings.warehouse_store.read_bytes(f"{prefix}/assets/version.js")
    assert location == f"{s3_env}/versions/{version}/report/index.html"
    assert version in version_script.decode()
    with pytest.MonkeyPatch.context() as patched:  # written once: the step again is a no-op
        patched.setattr(usecases, "publish_report", lambda *_: pytest.fail("written twice"))
        assert usecases.write_report(settings, version) == location


def test_a_report_that_fails_leaves_the_published_marts_and_is_written_next_build(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pipelines.report import site

    def broken(*_: object) -> None:
        raise RuntimeError("template error")

    settings.landing_store.write_bytes("registry/diy.csv", registry_csv(DIY_ROWS))
    Ingestor(settings).run()
    with monkeypatch.context() as patched:
        patched.setattr(site, "write_site", broken)
        failed = usecases.build(settings, "run")
    assert failed.published and failed.report is None
    assert settings.warehouse_path.exists()

    again = usecases.build(settings, "run")

    assert not again.published
    assert again.report is not None and Path(again.report).is_file()


def test_build_no_report_publishes_the_marts_and_the_next_build_writes_the_report(
    settings: Settings,
) -> None:
    from typer.testing import CliRunner

    from pipelines.app.cli import app
    from tests.conftest import as_environment

    settings.landing_store.write_bytes("registry/diy.csv", registry_csv(DIY_ROWS))
    Ingestor(settings).run()
    runner = CliRunner()

    marts_only = runner.invoke(app, ["build", "--no-report"], env=as_environment(settings))
    version = published_records(settings.lake_store)[-1].version
    assert marts_only.exit_code == 0, marts_only.output
    assert "Report not asked for (--no-report)" in marts_only.output
    assert version and not report_published(settings, version)

    again = runner.invoke(app, ["build"], env=as_environment(settings))
    assert again.exit_code == 0, again.output
    assert published_records(settings.lake_store)[-1].version == version  # nothing rebuilt
    assert report_published(settings, version)
    unwrapped = "".join(again.output.split())  # the console wraps long paths
    assert f"Report:{report_location(settings, version)}" in unwrapped
