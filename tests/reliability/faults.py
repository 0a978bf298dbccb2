"""Storage that fails on purpose: a crash or a storage error at the Nth write of a run.

``FaultyStorage`` wraps the real store (a folder or the moto server) and counts every write
operation the pipeline makes through it. A ``Faults`` plan shared by every wrapped store decides
what happens at one numbered write:

- ``crash``: the process dies just before the write (``Crash`` is a ``BaseException``, so no
  ``except Exception`` in the product catches it, as nothing runs after a ``kill -9``);
- ``error``: the store refuses the write (``StorageError``, as S3 raises after its retries);
- ``lost-reply``: the write reaches the store but the reply is lost (``StorageError`` after it).

Run with no fault, the plan records the write points of an uninterrupted run; the tests
parametrise over that recording, so a new write step is covered without touching them.
"""

from __future__ import annotations

import builtins
import os
import re
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TypeVar

import pytest

from pipelines.platform import settings as settings_module
from pipelines.platform.storage import Storage, StorageError, StoredObject

if TYPE_CHECKING:
    import pyarrow

Mode = Literal["crash", "error", "lost-reply", "pause"]
T = TypeVar("T")


class Crash(BaseException):
    """The process died here."""


@dataclass(frozen=True)
class WritePoint:
    number: int
    operation: str
    key: str
    occurrence: int = 0
    """How many writes of the same operation and generic key came before this one."""

    @property
    def label(self) -> str:
        return f"{self.number:02d}-{self.operation}-{generic(self.key)}"

    @property
    def identity(self) -> str:
        """The write whatever the order of the others: the ingest's conversion worker writes
        raw copies while the main thread claims and settles, so numbers vary between runs."""
        return f"{self.operation}-{generic(self.key)}-{self.occurrence}"


@dataclass
class Faults:
    """Which write fails and how; and every write seen so far (the recording)."""

    at: int | None = None
    at_write: str | None = None
    """The ``WritePoint.identity`` to fail at, instead of a number."""
    mode: Mode = "crash"
    pause_marker: Path | None = None
    on_error: Callable[[WritePoint], object] | None = None
    """Called when a write fails for real (e.g. to bring a stopped S3 endpoint back then)."""
    seen: list[WritePoint] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def write(self, operation: str, key: str, perform: Callable[[], T]) -> T:
        with self.lock:  # the ingest writes from its conversion worker too
            kind = (operation, generic(key))
            earlier = sum((seen.operation, generic(seen.key)) == kind for seen in self.seen)
            point = WritePoint(len(self.seen), operation, key, earlier)
            self.seen.append(point)
        if not self.fails_at(point):
            try:
                return perform()
            except Exception:
                if self.on_error:
                    self.on_error(point)
                raise
        if self.mode == "crash":
            raise Crash(f"crashed before {point.label}")
        if self.mode == "pause":
            # A real kill -9 comes from the test while the process waits here.
            assert self.pause_marker is not None
            self.pause_marker.write_text(point.label)
            time.sleep(600)
        if self.mode == "error":
            raise StorageError(f"injected: the store refused {operation} of {key}")
        perform()
        raise StorageError(f"injected: the reply to {operation} of {key} was lost")

    def fails_at(self, point: WritePoint) -> bool:
        if self.at_write is not None:
            return point.identity == self.at_write
        return point.number == self.at


class FaultyStorage(Storage):
    """The real store, with every write going through ``Faults``."""

    def __init__(self, inner: Storage, faults: Faults) -> None:
        self.inner = inner
        self.faults = faults
        self.uri = inner.uri
        self.is_local = inner.is_local

    def _write(self, operation: str, key: str, perform: Callable[[], T]) -> T:
        return self.faults.write(operation, key, perform)

    # -- writes -------------------------------------------------------------------------------

    def write_bytes(self, key: str, data: bytes) -> None:
        self._write("write_bytes", key, lambda: self.inner.write_bytes(key, data))

    def write_if_absent(self, key: str, data: bytes) -> bool:
        return self._write("write_if_absent", key, lambda: self.inner.write_if_absent(key, data))

    def upload_file(self, local_path: Path, key: str) -> None:
        self._write("upload_file", key, lambda: self.inner.upload_file(local_path, key))

    def write_parquet(self, key: str, table: pyarrow.Table) -> None:
        self._write("write_parquet", key, lambda: self.inner.write_parquet(key, table))

    def move(self, src_key: str, dst_key: str) -> None:
        self._write("move", dst_key, lambda: self.inner.move(src_key, dst_key))

    def copy(self, src_key: str, dst_key: str) -> None:
        self._write("copy", dst_key, lambda: self.inner.copy(src_key, dst_key))

    def delete(self, key: str) -> None:
        self._write("delete", key, lambda: self.inner.delete(key))

    # -- everything else goes straight through --------------------------------------------------

    def uri_for(self, key: str) -> str:
        return self.inner.uri_for(key)

    def list(self, prefix: str = "") -> builtins.list[StoredObject]:
        return self.inner.list(prefix)

    def exists(self, key: str) -> bool:
        return self.inner.exists(key)

    def read_bytes(self, key: str) -> bytes:
        return self.inner.read_bytes(key)

    def download_file(self, key: str, local_path: Path) -> None:
        self.inner.download_file(key, local_path)

    def local_copy(self, key: str) -> AbstractContextManager[Path]:
        return self.inner.local_copy(key)

    def _staged(self, key: str) -> AbstractContextManager[Path]:
        raise AssertionError("writes go through the inner store")


@contextmanager
def faulty_stores(
    monkeypatch: pytest.MonkeyPatch,
    faults: Faults,
    s3_stand_in: Callable[[str], Storage] | None = None,
) -> Iterator[Faults]:
    """Every store the settings open (lake, S3 warehouse) is wrapped for the block.

    ``s3_stand_in`` serves ``s3://`` stores from elsewhere (a folder): a publish to S3 makes the
    same writes through the same interface, so its write points can be recorded without moto.
    """
    real = settings_module.store_for

    def opened(uri: str, *limits: Any) -> Storage:
        inner = s3_stand_in(uri) if s3_stand_in and uri.startswith("s3://") else real(uri, *limits)
        return FaultyStorage(inner, faults)

    with monkeypatch.context() as patch:
        patch.setattr(settings_module, "store_for", opened)
        yield faults


class _FaultyOs:
    """The ``os`` module as ``pipelines.marts.publish`` sees it, its renames going through faults.

    A local warehouse is published by renames on this machine's disk, not through a store.
    """

    def __init__(self, faults: Faults) -> None:
        self._faults = faults

    def replace(self, source: Any, target: Any) -> None:
        name = f"{Path(target).parent.name}/{Path(target).name}"
        self._faults.write("rename", name, lambda: os.replace(source, target))

    def __getattr__(self, name: str) -> Any:
        return getattr(os, name)


@contextmanager
def faulty_renames(monkeypatch: pytest.MonkeyPatch, faults: Faults) -> Iterator[Faults]:
    from pipelines.marts import publish

    with monkeypatch.context() as patch:
        patch.setattr(publish, "os", _FaultyOs(faults))
        yield faults


def distinct_steps(points: builtins.list[WritePoint]) -> builtins.list[WritePoint]:
    """Each step once: of a run of writes of one kind into one folder (an export per mart, a
    deleted object per file of a pruned version), the first and the last."""
    kept: builtins.list[WritePoint] = []
    for position, point in enumerate(points):
        step = _step(point)
        before = points[position - 1] if position else None
        after = points[position + 1] if position + 1 < len(points) else None
        first = before is None or _step(before) != step
        last = after is None or _step(after) != step
        if first or last:
            kept.append(point)
    return kept


def _step(point: WritePoint) -> tuple[str, str]:
    folder = generic(point.key).rpartition("/")[0]
    suffix = Path(point.key).suffix
    return point.operation, f"{folder}/*{suffix}"


# -- comparing states modulo run ids and clocks ---------------------------------------------------

_GENERIC = [
    (re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(\+00:00|Z)?"), "<time>"),
    (re.compile(r"[0-9a-f]{64}"), "<sha>"),
    (re.compile(r"run-[A-Za-z0-9-]+"), "<run>"),
    (re.compile(r"\d{8}T\d{6}(\.\d+)?Z?"), "<time>"),
    (re.compile(r"<time>-[0-9a-f]{8}"), "<version>"),
]


def generic(text: str) -> str:
    """``text`` with sha256s, run ids, timestamps and marts versions replaced by placeholders."""
    for pattern, placeholder in _GENERIC:
        text = pattern.sub(placeholder, text)
    return text


def run_free(value: Any) -> Any:
    """A JSON-like value with run ids and timestamps made generic, recursively."""
    if isinstance(value, str):
        return generic(value)
    if isinstance(value, dict):
        return {key: run_free(item) for key, item in value.items()}
    if isinstance(value, list):
        return [run_free(item) for item in value]
    return value


def wait_for(marker: Path, seconds: float = 60) -> str:
    deadline = time.monotonic() + seconds
    while not marker.exists():
        assert time.monotonic() < deadline, f"no {marker.name} within {seconds} s"
        time.sleep(0.02)
    return marker.read_text()
