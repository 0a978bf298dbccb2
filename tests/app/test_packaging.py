"""The production wheel: it carries what the pipeline reads at run time; no checkout needed."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from pipelines.platform.settings import PROJECT_ROOT
from tests.registry_files import JATIM_MEMBERS, JATIM_SENTRA, registry_xlsx

PROJECT = PROJECT_ROOT


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    uv = os.environ.get("UV") or shutil.which("uv")  # `uv run` sets UV to itself
    if not uv:
        pytest.fail("uv is needed to build the wheel (run tests via `uv run`)")
    out = tmp_path_factory.mktemp("wheel")
    built = subprocess.run(
        [uv, "build", "--wheel", "--quiet", "--out-dir", str(out), str(PROJECT)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert built.returncode == 0, built.stderr
    [path] = out.glob("*.whl")
    return path


def test_the_wheel_carries_models_suites_config_and_reference_but_no_samples(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    in_checkout = {
        f"pipelines/_bundled/{path.relative_to(PROJECT).as_posix()}"
        for folder in ("sql", "expectations")
        for path in (PROJECT / folder).rglob("*")
        if path.is_file()
    }
    assert in_checkout <= names, sorted(in_checkout - names)
    assert "pipelines/config/scoring.yaml" in names
    assert "pipelines/reference/kemendagri_regions.csv" in names
    assert not [name for name in names if name.startswith("pipelines/samples/")]


def test_an_installed_wheel_ingests_and_builds_without_the_checkout(
    wheel: Path, tmp_path: Path
) -> None:
    site = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site)
    landing = tmp_path / "landing"
    (landing / "registry").mkdir(parents=True)
    (landing / "registry" / "jatim.xlsx").write_bytes(registry_xlsx(JATIM_SENTRA, JATIM_MEMBERS))
    env = {k: v for k, v in os.environ.items() if not k.startswith("SENTRA_")}
    env |= {
        # The unpacked wheel comes before the checkout's editable install on sys.path.
        "PYTHONPATH": str(site),
        "SENTRA_LANDING": str(landing),
        "SENTRA_LAKE": str(tmp_path / "lake"),
        "SENTRA_WAREHOUSE": str(tmp_path / "warehouse" / "sentra.duckdb"),
        "SENTRA_AS_OF": "2026-06-30",
        "SENTRA_PII_SALT": "packaging-test-secret-salt-0123456789",
    }

    def sentra(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "pipelines.app.cli", *args],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )

    where = subprocess.run(
        [sys.executable, "-c", "import pipelines; print(pipelines.__file__)"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert where.stdout.startswith(str(site))
    ingested = sentra("ingest")
    assert ingested.returncode == 0, ingested.stdout + ingested.stderr
    built = sentra("build")
    assert built.returncode == 0, built.stdout + built.stderr
    assert (tmp_path / "warehouse" / "sentra.duckdb").is_file()
    sample = sentra("sample")
    assert sample.returncode == 2
    assert "not with the production wheel" in sample.stderr
