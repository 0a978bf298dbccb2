"""The same behaviour checked against both backends: a local folder and S3 (moto over HTTP)."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pytest

from pipelines.platform.storage import (
    LocalStorage,
    S3Storage,
    Storage,
    StorageError,
    open_storage,
)
from tests.clean_parquet import read_parquet
from tests.s3_endpoint import S3Endpoint, first_requests

ODD_KEYS = [
    "plain.csv",
    "with space/file name.csv",
    "unicode/Dinas Perindustrian \u2013 Jawa Barat/données é 漢字.csv",
    "deep/a/b/c/d.bin",
]


@pytest.fixture(params=["local", pytest.param("s3", marks=pytest.mark.s3)])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Storage:
    if request.param == "local":
        return open_storage(str(tmp_path / "lake"))
    return open_storage(request.getfixturevalue("s3_env"))


def _sibling_key_outside(store: Storage, tmp_path: Path) -> None:
    """Put an object next to the store root whose name shares the root's prefix."""
    if isinstance(store, S3Storage):
        store.client.put_object(Bucket=store.bucket, Key=f"{store.prefix}-other/x", Body=b"x")
    else:
        (tmp_path / "lake-other").mkdir()
        (tmp_path / "lake-other" / "x").write_bytes(b"x")


def _keys(store: Storage, prefix: str = "") -> list[str]:
    return [obj.key for obj in store.list(prefix)]


# -- list ----------------------------------------------------------------------------------


def test_list_is_recursive_sorted_and_relative(store: Storage, tmp_path: Path) -> None:
    before = datetime.now(UTC) - timedelta(minutes=5)
    for key, data in [("b/2.csv", b"22"), ("a.csv", b"1"), ("b/1/x.csv", b"333"), ("c d/é", b"")]:
        store.write_bytes(key, data)
    _sibling_key_outside(store, tmp_path)

    objects = store.list()

    assert [o.key for o in objects] == ["a.csv", "b/1/x.csv", "b/2.csv", "c d/é"]
    assert [o.size for o in objects] == [1, 3, 2, 0]
    for obj in objects:
        assert obj.modified.utcoffset() == timedelta(0)
        assert before < obj.modified < datetime.now(UTC) + timedelta(minutes=5)


def test_list_prefix_is_a_plain_string_prefix(store: Storage) -> None:
    for key in ["raw/file1", "raw/file2", "raw/other", "rawish", "raw/sub/file3", "clean/x"]:
        store.write_bytes(key, b"x")

    assert _keys(store, "raw/") == ["raw/file1", "raw/file2", "raw/other", "raw/sub/file3"]
    assert _keys(store, "raw/fi") == ["raw/file1", "raw/file2"]
    assert _keys(store, "raw") == [
        "raw/file1",
        "raw/file2",
        "raw/other",
        "raw/sub/file3",
        "rawish",
    ]
    assert _keys(store, "nothing/") == []


def test_list_skips_in_flight_temp_files(store: Storage) -> None:
    for key in ["a/.part.tmp", ".staging/b", "a/.hidden/c", "a/real", "a/x.y"]:
        store.write_bytes(key, b"x")
    if isinstance(store, S3Storage):
        store.client.put_object(Bucket=store.bucket, Key=f"{store.prefix}/folder/", Body=b"")

    assert _keys(store) == ["a/real", "a/x.y"]


def test_list_of_a_missing_root_is_empty(store: Storage) -> None:
    assert store.list() == []
    assert store.list("raw/") == []


def test_list_of_a_missing_bucket_says_what_to_do(s3_env: str) -> None:
    store = open_storage("s3://no-such-bucket-here/lake")

    with pytest.raises(StorageError) as caught:
        store.list()

    message = str(caught.value)
    assert "s3://no-such-bucket-here/lake" in message
    assert "list" in message
    assert "Create the bucket" in message


# -- bytes ---------------------------------------------------------------------------------


@pytest.mark.parametrize("key", ODD_KEYS)
def test_bytes_round_trip_with_odd_keys(store: Storage, key: str) -> None:
    data = "Sentra tenun, Rp 1.234.567,89 — ✓".encode()

    store.write_bytes(key, data)

    assert store.exists(key)
    assert store.read_bytes(key) == data
    assert _keys(store) == [key]


def test_write_bytes_replaces_the_whole_object(store: Storage) -> None:
    store.write_bytes("k", b"a much longer first version")
    store.write_bytes("k", b"short")

    assert store.read_bytes("k") == b"short"
    assert [(o.key, o.size) for o in store.list()] == [("k", 5)]


def test_write_if_absent_never_overwrites(store: Storage) -> None:
    assert store.write_if_absent("ledger/abc.json", b"first") is True
    assert store.write_if_absent("ledger/abc.json", b"second") is False

    assert store.read_bytes("ledger/abc.json") == b"first"
    assert _keys(store) == ["ledger/abc.json"]


def test_write_if_absent_has_one_winner_under_a_race(store: Storage) -> None:
    barrier = threading.Barrier(8)
    results: dict[int, bool] = {}

    def write(n: int) -> None:
        barrier.wait()
        results[n] = store.write_if_absent("raw/same", f"writer {n}".encode() * 1000)

    threads = [threading.Thread(target=write, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    winners = [n for n, won in results.items() if won]
    assert len(winners) == 1
    assert store.read_bytes("raw/same") == f"writer {winners[0]}".encode() * 1000
    assert _keys(store) == ["raw/same"]


def test_missing_key_errors_name_the_uri(store: Storage, tmp_path: Path) -> None:
    uri = store.uri_for("raw/missing file.csv")

    with pytest.raises(FileNotFoundError, match="read_bytes") as caught:
        store.read_bytes("raw/missing file.csv")
    assert uri in str(caught.value)

    with pytest.raises(FileNotFoundError) as caught:
        store.download_file("raw/missing file.csv", tmp_path / "out.csv")
    assert uri in str(caught.value)
    assert not (tmp_path / "out.csv").exists()

    for relocate in (store.move, store.copy):
        with pytest.raises(FileNotFoundError) as caught:
            relocate("raw/missing file.csv", "raw/elsewhere")
        assert uri in str(caught.value)
    assert _keys(store) == []


# -- move, delete, files -------------------------------------------------------------------


def test_move_renames_the_object(store: Storage) -> None:
    store.write_bytes("landing/in box/é.csv", b"payload")

    store.move("landing/in box/é.csv", "quarantine/2024/é.csv")

    assert _keys(store) == ["quarantine/2024/é.csv"]
    assert store.read_bytes("quarantine/2024/é.csv") == b"payload"


def test_copies_keep_their_sources(store: Storage) -> None:
    pairs = [(f"v1/page {n}.html", f"v2/page {n}.html") for n in range(3)]
    for number, (source, _) in enumerate(pairs):
        store.write_bytes(source, f"page {number}".encode())

    store.copy_many(pairs)

    assert _keys(store) == sorted(key for pair in pairs for key in pair)
    assert [store.read_bytes(target) for _, target in pairs] == [b"page 0", b"page 1", b"page 2"]


def test_move_onto_itself_keeps_the_object(store: Storage) -> None:
    store.write_bytes("a/k", b"payload")

    store.move("a/k", "a/k")

    assert store.read_bytes("a/k") == b"payload"


def test_delete_removes_and_tolerates_missing(store: Storage) -> None:
    store.write_bytes("a/b", b"x")
    store.write_bytes("a/c", b"y")

    store.delete("a/b")
    store.delete("a/b")
    store.delete("never/there")

    assert not store.exists("a/b")
    assert _keys(store) == ["a/c"]


def test_upload_and_download_round_trip(store: Storage, tmp_path: Path) -> None:
    source = tmp_path / "source file.bin"
    source.write_bytes(bytes(range(256)) * 100)
    target = tmp_path / "fresh" / "folder" / "copy.bin"

    store.upload_file(source, "raw/ü/source file.bin")
    store.download_file("raw/ü/source file.bin", target)

    assert target.read_bytes() == source.read_bytes()
    assert [(o.key, o.size) for o in store.list()] == [("raw/ü/source file.bin", 25600)]
    assert sorted(p.name for p in target.parent.iterdir()) == ["copy.bin"]


def test_many_objects_are_uploaded_and_read_back_in_order(store: Storage, tmp_path: Path) -> None:
    files = []
    for number in range(40):  # more than one batch of concurrent requests
        path = tmp_path / f"page-{number}.html"
        path.write_bytes(f"page {number}".encode() * (number + 1))
        files.append((path, f"report/{number:02d}.html"))

    store.upload_many(files)
    keys = [key for _, key in reversed(files)]

    assert store.read_many(keys) == [path.read_bytes() for path, _ in reversed(files)]
    with pytest.raises(FileNotFoundError, match=r"missing\.html"):
        store.read_many([*keys, "report/missing.html"])


# -- parquet -------------------------------------------------------------------------------


def test_parquet_round_trip_unifies_schemas(store: Storage) -> None:
    old = pa.table({"sentra_id": pa.array([1, 2], pa.int32()), "name": ["Batik", "Tenun"]})
    new = pa.table(
        {"sentra_id": pa.array([3], pa.int64()), "name": ["Rotan"], "units": pa.array([12])}
    )
    keys = ["clean/registry/part 1 é.parquet", "clean/registry/part-2.parquet"]
    store.write_parquet(keys[0], old)
    store.write_parquet(keys[1], new)

    table = read_parquet(store, keys)

    assert table.schema.field("sentra_id").type == pa.int64()
    assert table.sort_by("sentra_id").to_pydict() == {
        "sentra_id": [1, 2, 3],
        "name": ["Batik", "Tenun", "Rotan"],
        "units": [None, None, 12],
    }
    assert _keys(store) == keys


def test_downloading_many_names_the_missing_key(store: Storage, tmp_path: Path) -> None:
    store.write_bytes("clean/a.parquet", b"a")
    files = [("clean/a.parquet", tmp_path / "a"), ("clean/missing.parquet", tmp_path / "m")]

    with pytest.raises(FileNotFoundError) as caught:
        store.download_many(files)

    assert store.uri_for("clean/missing.parquet") in str(caught.value)
    assert (tmp_path / "a").read_bytes() == b"a"
    assert not (tmp_path / "m").exists()


def test_failed_parquet_write_leaves_nothing_behind(store: Storage) -> None:
    with pytest.raises((TypeError, AttributeError)):
        store.write_parquet("clean/bad.parquet", "not a table")

    assert not store.exists("clean/bad.parquet")
    assert store.list() == []
    if isinstance(store, LocalStorage):  # list() skips temp files; the folder must hold none
        assert [p for p in store.root.rglob("*") if p.is_file()] == []


# -- keys and URIs -------------------------------------------------------------------------


@pytest.mark.parametrize("key", ["", "/abs", "a/../b", "a//b", "./a", "a\\b", "a/"])
def test_invalid_keys_are_rejected(store: Storage, key: str) -> None:
    with pytest.raises(ValueError, match="Invalid storage key"):
        store.write_bytes(key, b"x")


def test_uri_for_and_open_storage(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)

    relative = open_storage("data/lake")
    from_file_uri = open_storage(f"file://{tmp_path}/my%20lake")
    s3 = open_storage("s3://bucket/some/prefix/")

    assert isinstance(relative, LocalStorage) and relative.is_local
    assert relative.uri == str(tmp_path.resolve() / "data" / "lake")
    assert relative.uri_for("raw/a b.csv") == str(tmp_path.resolve() / "data/lake/raw/a b.csv")
    assert isinstance(from_file_uri, LocalStorage)
    assert from_file_uri.uri == str(tmp_path.resolve() / "my lake")
    assert isinstance(s3, S3Storage) and not s3.is_local
    assert s3.uri == "s3://bucket/some/prefix"
    assert s3.uri_for("raw/a b.csv") == "s3://bucket/some/prefix/raw/a b.csv"
    assert open_storage("s3://bucket").uri_for("k") == "s3://bucket/k"


# -- retries -------------------------------------------------------------------------------


@pytest.mark.s3
def test_transient_errors_are_retried(s3_env: str, s3_endpoint: S3Endpoint) -> None:
    s3_endpoint.throttle = first_requests(2)
    store = S3Storage(s3_env, max_attempts=4)

    store.write_bytes("raw/a.csv", b"payload")

    assert [seen.answer for seen in s3_endpoint.seen] == ["throttled", "throttled", "forwarded"]
    assert {seen.method for seen in s3_endpoint.seen} == {"PUT"}
    assert store.read_bytes("raw/a.csv") == b"payload"


@pytest.mark.s3
def test_persistent_errors_raise_storage_error(s3_env: str, s3_endpoint: S3Endpoint) -> None:
    s3_endpoint.throttle = first_requests(10**6)
    store = S3Storage(s3_env, max_attempts=2)

    with pytest.raises(StorageError) as caught:
        store.write_bytes("raw/a.csv", b"payload")

    message = str(caught.value)
    assert f"{s3_env}/raw/a.csv" in message
    assert "write_bytes" in message
    assert "SlowDown" in message
    assert "2 attempts" in message
    assert "AWS_ENDPOINT_URL" in message
    assert len(s3_endpoint.seen) == 2
