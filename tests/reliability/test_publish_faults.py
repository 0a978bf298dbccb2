"""A publish that dies, or whose store fails, at any of its writes: readers keep a whole version,
and the next build converges on what an uninterrupted one publishes.

Each case starts from a lake with one published version and one newly ingested file. The write
points come from a recorded uninterrupted publish: for a local warehouse the rename of the DuckDB
file and of each Parquet export and the publish record; for an S3 warehouse the upload of each
export and of the database, the ``current.json`` pointer, the deletions of the pruned version and
the publish record. A step repeated per mart or per object is tried at its first and last write.
"""

from __future__ import annotations

import atexit
import functools
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import pytest

from pipelines.marts.publish import build_and_publish
from pipelines.platform.settings import Settings
from pipelines.platform.storage import LocalStorage, Storage, StorageError
from tests.conftest import local_settings
from tests.registry_files import DIY_ROWS, JATIM_MEMBERS, JATIM_SENTRA, registry_csv, registry_xlsx
from tests.reliability.faults import (
    Crash,
    Faults,
    Mode,
    WritePoint,
    distinct_steps,
    faulty_renames,
    faulty_stores,
    generic,
)
from tests.reliability.marts_state import (
    assert_readers_see_a_whole_version,
    database_version,
    published_state,
    readers_copy,
)
from tests.reliability.scenarios import ingest

WAREHOUSES = ("local", "s3")
STAND_IN = "s3://stand-in/warehouse"


def settings_at(root: Path, warehouse: str) -> Settings:
    settings = local_settings(root)
    if warehouse == "local":
        return settings
    return settings.model_copy(update={"warehouse": warehouse, "warehouse_versions_kept": 1})


def stand_in(root: Path) -> Any:
    return lambda uri: LocalStorage(root / "s3" / uri.removeprefix("s3://"))


@contextmanager
def failing(faults: Faults, warehouse: str, s3_root: Path | None = None) -> Iterator[None]:
    with pytest.MonkeyPatch.context() as monkeypatch, ExitStack() as stack:
        stack.enter_context(
            faulty_stores(monkeypatch, faults, stand_in(s3_root) if s3_root else None)
        )
        if warehouse == "local":
            stack.enter_context(faulty_renames(monkeypatch, faults))
        yield


@functools.cache
def template(warehouse: str) -> Path:
    """A lake with one version published and one more file ingested since (S3: a stand-in)."""
    root = Path(tempfile.mkdtemp(prefix=f"sentra-publish-{warehouse}-"))
    atexit.register(shutil.rmtree, root, True)
    settings = settings_at(root, "local" if warehouse == "local" else STAND_IN)
    settings.landing_store.write_bytes("registry/diy.csv", registry_csv(DIY_ROWS))
    ingest(settings, "run-0")
    with failing(Faults(), "none", root if warehouse == "s3" else None):
        build_and_publish(settings, "run-p1")
    settings.landing_store.write_bytes(
        "registry/jatim.xlsx", registry_xlsx(JATIM_SENTRA, JATIM_MEMBERS)
    )
    ingest(settings, "run-0")
    return root


def from_template(warehouse: str, root: Path, s3_uri: str | None = None) -> Settings:
    shutil.copytree(template(warehouse), root, dirs_exist_ok=True)
    if warehouse == "local":
        return settings_at(root, "local")
    settings = settings_at(root, s3_uri or STAND_IN)
    if s3_uri:
        published = LocalStorage(root / "s3" / STAND_IN.removeprefix("s3://"))
        copy_objects(published, settings.warehouse_store)
    return settings


def copy_objects(source: Storage, target: Storage) -> None:
    for obj in source.list():
        with source.local_copy(obj.key) as path:
            target.upload_file(path, obj.key)


@functools.cache
def recorded(warehouse: str) -> tuple[list[WritePoint], dict[str, Any], str]:
    """The write points and the published state of an uninterrupted publish; the version before."""
    root = Path(tempfile.mkdtemp(prefix="sentra-recorded-"))
    atexit.register(shutil.rmtree, root, True)
    settings = from_template(warehouse, root)
    previous = database_version(readers_copy_of(settings, root, warehouse))
    faults = Faults()
    with failing(faults, warehouse, root if warehouse == "s3" else None):
        build_and_publish(settings, "run-p2")
        state = published_state(settings)
    return faults.seen, state, previous


def readers_copy_of(settings: Settings, root: Path, warehouse: str) -> Path:
    with failing(Faults(), "none", root if warehouse == "s3" else None):
        return readers_copy(settings, root / "reader")


def modes_at(warehouse: str, point: WritePoint) -> list[Mode]:
    """The process can die at any write. S3 can also refuse one after its retries: the error
    then unwinds the build like the crash does (plus its clean-up), so it is tried where the
    build commits something (the database, the pointer, the publish record)."""
    database = point.operation == "upload_file" and point.key.endswith("sentra.duckdb")
    commits = database or point.key.endswith("current.json") or "publishes/" in point.key
    return ["crash", "error"] if warehouse == "s3" and commits else ["crash"]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "point" in metafunc.fixturenames:
        cases = [
            pytest.param(warehouse, point, mode, id=f"{warehouse}-{point.label}-{mode}")
            for warehouse in WAREHOUSES
            for point in distinct_steps(recorded(warehouse)[0])
            for mode in modes_at(warehouse, point)
        ]
        metafunc.parametrize(("warehouse", "point", "mode"), cases)


def test_the_recorded_publishes_write_every_step() -> None:
    local = {generic(point.key) for point in recorded("local")[0]}
    s3 = {(point.operation, generic(point.key).split("/")[0]) for point in recorded("s3")[0]}

    assert {"warehouse/sentra.duckdb", "parquet/dim_sentra.parquet"} <= local
    assert {("upload_file", "versions"), ("write_bytes", "current.json")} <= s3
    assert {("delete", "versions"), ("write_bytes", "publishes")} <= s3


@pytest.fixture
def s3_uri(warehouse: str, request: pytest.FixtureRequest) -> str | None:
    if warehouse == "local":
        return None
    return f"{request.getfixturevalue('s3_env')}/warehouse"


def test_a_publish_failing_at_any_write_leaves_a_whole_version_and_the_next_converges(
    warehouse: str, point: WritePoint, mode: Mode, s3_uri: str | None, tmp_path: Path
) -> None:
    settings = from_template(warehouse, tmp_path, s3_uri)
    _, uninterrupted, previous = recorded(warehouse)
    faults = Faults(at=point.number, mode=mode)

    with failing(faults, warehouse), pytest.raises(Crash if mode == "crash" else StorageError):
        build_and_publish(settings, "run-p2")
    assert generic(faults.seen[point.number].key) == generic(point.key)  # the recorded write
    assert_readers_see_a_whole_version(settings, previous)

    rerun = build_and_publish(settings, "run-p3")

    assert rerun.published
    assert published_state(settings) == uninterrupted  # whole: every export of the version
