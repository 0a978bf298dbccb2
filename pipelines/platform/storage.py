"""Where the pipeline keeps its files: a local folder or an S3 prefix, behind one interface.

Every other module reads and writes the landing store and the lake through ``Storage`` so the
same code runs on a laptop (folders under ``./data``) and in production (S3). Keys are always
relative, '/'-separated paths below the store root.

boto3 and pyarrow are imported inside the methods that need them: DAG files import this module
at parse time, and those imports cost seconds there.
"""

from __future__ import annotations

import builtins
import functools
import os
import shutil
import tempfile
import time
import uuid
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn
from urllib.parse import urlsplit

if TYPE_CHECKING:
    import boto3.session
    import botocore.loaders
    import pyarrow
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_s3.type_defs import CopySourceTypeDef, ObjectTypeDef

__all__ = [
    "LocalStorage",
    "S3Storage",
    "Storage",
    "StorageError",
    "StoredObject",
    "open_storage",
]

# Requests an object store is sent at once by read_many / upload_many (and the S3 client's
# connection pool, which botocore keeps at 10 by default).
CONCURRENT_REQUESTS = 16
_NOT_FOUND_CODES = frozenset({"404", "NoSuchKey", "NotFound"})
_CREDENTIAL_CODES = frozenset(
    {"AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch", "ExpiredToken", "403"}
)


@dataclass(frozen=True)
class StoredObject:
    key: str
    size: int
    modified: datetime


class StorageError(RuntimeError):
    """A store operation failed; a missing key raises FileNotFoundError instead."""


def _check_key(key: str) -> str:
    """Reject keys that could escape the store root or mean different things on S3 and disk."""
    parts = key.split("/")
    if not key or key.startswith("/") or "\\" in key or any(p in ("", ".", "..") for p in parts):
        raise ValueError(
            f"Invalid storage key {key!r}: use a relative, '/'-separated path without "
            "empty, '.' or '..' parts (for example 'raw/registry/2024.csv')."
        )
    return key


def _check_prefix(prefix: str) -> str:
    """A prefix is a key, a folder ending in '/', or '' for the whole store."""
    body = prefix.removesuffix("/")
    if body:
        _check_key(body)
    elif prefix:
        raise ValueError(f"Invalid storage prefix {prefix!r}: use '' for the whole store.")
    return prefix


# Copy tools write under these names and rename when done (rsync, browsers, WinSCP, curl -o
# x.part): a file still being copied into a landing folder is not yet a landed file.
IN_PROGRESS_SUFFIXES = (".part", ".partial", ".tmp", ".crdownload", ".filepart", "~")


def _listable(key: str) -> bool:
    # In-flight atomic writes stage under dot-names, S3 consoles create "folder/" marker
    # objects, and copy tools write under in-progress names; none is data a reader should pick up.
    return (
        bool(key)
        and not key.endswith("/")
        and not key.startswith(".")
        and "/." not in key
        and not key.lower().endswith(IN_PROGRESS_SUFFIXES)
    )


def _missing(operation: str, uri: str) -> FileNotFoundError:
    return FileNotFoundError(
        f"{operation}: no object at {uri}. Check the key, or list the store to see what is there."
    )


def _temp_beside(target: Path) -> Path:
    """A unique dot-named path in ``target``'s folder (created), which ``list`` skips."""
    target.parent.mkdir(parents=True, exist_ok=True)
    return target.with_name(f".{target.name}.{uuid.uuid4().hex}.tmp")


@contextmanager
def _replacing(target: Path) -> Iterator[Path]:
    """Yield a temp path beside ``target``; on success it atomically becomes ``target``.

    Same folder, so ``os.replace`` is a rename on one filesystem and a reader sees either the
    old file or the complete new one. On failure the temp file is removed.
    """
    temp = _temp_beside(target)
    try:
        yield temp
        os.replace(temp, target)
    finally:
        temp.unlink(missing_ok=True)


class Storage(ABC):
    """A store of immutable-ish objects addressed by relative keys."""

    uri: str
    is_local: bool

    @abstractmethod
    def uri_for(self, key: str) -> str: ...

    @abstractmethod
    def list(self, prefix: str = "") -> builtins.list[StoredObject]: ...

    @abstractmethod
    def exists(self, key: str) -> bool: ...

    @abstractmethod
    def read_bytes(self, key: str) -> bytes: ...

    @abstractmethod
    def write_bytes(self, key: str, data: bytes) -> None: ...

    @abstractmethod
    def write_if_absent(self, key: str, data: bytes) -> bool: ...

    @abstractmethod
    def upload_file(self, local_path: Path, key: str) -> None: ...

    @abstractmethod
    def download_file(self, key: str, local_path: Path) -> None: ...

    @abstractmethod
    def move(self, src_key: str, dst_key: str) -> None: ...

    @abstractmethod
    def copy(self, src_key: str, dst_key: str) -> None:
        """Copy an object of up to 5 GB (S3's limit for a one-request server-side copy)."""

    def copy_many(self, pairs: Sequence[tuple[str, str]]) -> None:
        """Copy each (source key, target key); on an object store server-side, several at a time."""
        self._each(self.copy, pairs)

    def read_many(self, keys: Sequence[str]) -> builtins.list[bytes]:
        """The bytes of each key, in order. An object store is asked several at a time: one
        request at a time, reading a national ledger (~700 records) took seconds per ingest."""
        if self.is_local or len(keys) < 2:
            return [self.read_bytes(key) for key in keys]
        with ThreadPoolExecutor(max_workers=CONCURRENT_REQUESTS) as pool:
            return builtins.list(pool.map(self.read_bytes, keys))

    def upload_many(self, files: Sequence[tuple[Path, str]]) -> None:
        """Upload each (local file, key); to an object store several at a time."""
        self._each(self.upload_file, files)

    def download_many(self, files: Sequence[tuple[str, Path]]) -> None:
        """Download each (key, local file); from an object store several at a time."""
        self._each(self.download_file, files)

    def _each(
        self, operation: Callable[[Any, Any], None], calls: Sequence[tuple[Any, Any]]
    ) -> None:
        """``operation`` once per call's arguments; on an object store several at a time."""
        if self.is_local or len(calls) < 2:
            for call in calls:
                operation(*call)
            return
        with ThreadPoolExecutor(max_workers=CONCURRENT_REQUESTS) as pool:
            for _ in pool.map(lambda call: operation(*call), calls):
                pass  # re-raises the first failure

    @contextmanager
    def local_copy(self, key: str) -> Iterator[Path]:
        """A local file with the object's bytes for the duration of the block.

        Large exports are hashed and scanned from disk, never held in memory; S3 objects are
        downloaded to a temporary file that is removed afterwards.
        """
        with tempfile.TemporaryDirectory(prefix="sentra-") as folder:
            path = Path(folder) / Path(key).name
            self.download_file(key, path)
            yield path

    @abstractmethod
    def delete(self, key: str) -> None: ...

    @abstractmethod
    def _staged(self, key: str) -> AbstractContextManager[Path]:
        """A local path to write; published atomically to ``key`` when the block succeeds."""

    def write_parquet(self, key: str, table: pyarrow.Table) -> None:
        import pyarrow.parquet as pq

        with self._staged(key) as temp:
            pq.write_table(table, temp)


class LocalStorage(Storage):
    """A folder on this machine; atomicity comes from same-folder temp files and renames."""

    is_local = True

    def __init__(self, root: Path | str) -> None:
        self.root = Path(root).expanduser().resolve()
        self.uri = str(self.root)

    def __repr__(self) -> str:
        return f"LocalStorage({self.uri!r})"

    def _path(self, key: str) -> Path:
        return self.root.joinpath(*_check_key(key).split("/"))

    def uri_for(self, key: str) -> str:
        return str(self._path(key))

    def list(self, prefix: str = "") -> builtins.list[StoredObject]:
        folder, _, _ = _check_prefix(prefix).rpartition("/")
        start = self.root.joinpath(*folder.split("/")) if folder else self.root
        found = [
            obj for obj in self._walk(start) if obj.key.startswith(prefix) and _listable(obj.key)
        ]
        return sorted(found, key=lambda obj: obj.key)

    def _walk(self, start: Path) -> Iterator[StoredObject]:
        for dirpath, dirnames, filenames in os.walk(start):
            # Pruning in place stops os.walk from descending into staging folders.
            dirnames[:] = [name for name in dirnames if not name.startswith(".")]
            for name in filenames:
                stored = None if name.startswith(".") else self._stored(Path(dirpath, name))
                if stored is not None:
                    yield stored

    def _stored(self, path: Path) -> StoredObject | None:
        try:
            stat = path.stat()
        except FileNotFoundError:  # deleted or moved away while we were walking
            return None
        return StoredObject(
            key=path.relative_to(self.root).as_posix(),
            size=stat.st_size,
            modified=datetime.fromtimestamp(stat.st_mtime, tz=UTC),
        )

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def read_bytes(self, key: str) -> bytes:
        path = self._path(key)
        try:
            return path.read_bytes()
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            raise _missing("read_bytes", str(path)) from None

    def write_bytes(self, key: str, data: bytes) -> None:
        with self._staged(key) as temp:
            temp.write_bytes(data)

    def write_if_absent(self, key: str, data: bytes) -> bool:
        target = self._path(key)
        temp = _temp_beside(target)
        try:
            temp.write_bytes(data)
            # link() fails if the target exists, atomically: of two racing writers exactly
            # one wins, and the winner's file is complete the moment it appears.
            os.link(temp, target)
        except FileExistsError:
            return False
        finally:
            temp.unlink(missing_ok=True)
        return True

    def upload_file(self, local_path: Path, key: str) -> None:
        with self._staged(key) as temp:
            shutil.copyfile(local_path, temp)

    @contextmanager
    def local_copy(self, key: str) -> Iterator[Path]:
        # A local object already is a file; copying it would only cost time and disk.
        path = self._path(key)
        if not path.is_file():
            raise _missing("local_copy", str(path))
        yield path

    def download_file(self, key: str, local_path: Path) -> None:
        source = self._path(key)
        if not source.is_file():
            raise _missing("download_file", str(source))
        with _replacing(Path(local_path)) as temp:
            shutil.copyfile(source, temp)

    def move(self, src_key: str, dst_key: str) -> None:
        source, target = self._path(src_key), self._path(dst_key)
        if not source.is_file():
            raise _missing("move", str(source))
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(source, target)

    def copy(self, src_key: str, dst_key: str) -> None:
        source = self._path(src_key)
        if not source.is_file():
            raise _missing("copy", str(source))
        with self._staged(dst_key) as temp:
            shutil.copyfile(source, temp)

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)

    def _staged(self, key: str) -> AbstractContextManager[Path]:
        return _replacing(self._path(key))


class S3Storage(Storage):
    """An S3 bucket prefix. A single PUT is atomic on S3, so no temp keys are needed.

    Transient failures (throttling, 5xx, timeouts) are retried by botocore's "standard" retry
    mode with exponential backoff; what still fails surfaces as ``StorageError``.
    """

    is_local = False

    def __init__(
        self,
        uri: str,
        *,
        max_attempts: int = 5,
        connect_timeout: float = 10.0,
        read_timeout: float = 60.0,
    ) -> None:
        parts = urlsplit(uri)
        if parts.scheme != "s3" or not parts.netloc:
            raise ValueError(f"Not an S3 URI: {uri!r}; expected s3://bucket/prefix.")
        self.bucket = parts.netloc
        self.prefix = parts.path.strip("/")
        self.uri = f"s3://{self.bucket}/{self.prefix}" if self.prefix else f"s3://{self.bucket}"
        self.max_attempts = max_attempts
        self.connect_timeout = connect_timeout
        self.read_timeout = read_timeout
        self._client: S3Client | None = None

    def __repr__(self) -> str:
        return f"S3Storage({self.uri!r})"

    # -- keys ---------------------------------------------------------------------------

    def _object_key(self, key: str) -> str:
        """The S3 object key for a store key: prefix and key joined by exactly one '/'."""
        return "/".join(part for part in (self.prefix, _check_key(key)) if part)

    def _store_key(self, object_key: str) -> str:
        return object_key[len(self.prefix) + 1 :] if self.prefix else object_key

    def uri_for(self, key: str) -> str:
        return f"s3://{self.bucket}/{self._object_key(key)}"

    # -- clients ------------------------------------------------------------------------

    @property
    def client(self) -> S3Client:
        if self._client is None:
            from botocore.config import Config

            # Endpoint, credentials and region come from the standard AWS_* variables,
            # which boto3 resolves by itself.
            self._client = _boto3_session().client(
                "s3",
                config=Config(
                    # total_max_attempts counts the first try; botocore's max_attempts
                    # key counts only retries.
                    retries={"mode": "standard", "total_max_attempts": self.max_attempts},
                    connect_timeout=self.connect_timeout,
                    read_timeout=self.read_timeout,
                    max_pool_connections=CONCURRENT_REQUESTS,
                ),
            )
        return self._client

    # -- errors -------------------------------------------------------------------------

    @contextmanager
    def _errors(self, operation: str, key: str | None = None) -> Iterator[None]:
        """Turn what botocore raises (after its retries) into our two error types."""
        from boto3.exceptions import Boto3Error
        from botocore.exceptions import BotoCoreError, ClientError

        uri = self.uri_for(key) if key is not None else self.uri
        try:
            yield
        except ClientError as err:
            if _error_code(err) in _NOT_FOUND_CODES and key is not None:
                raise _missing(operation, uri) from None
            self._fail(operation, uri, err)
        except (BotoCoreError, Boto3Error) as err:
            self._fail(operation, uri, err)

    def _fail(self, operation: str, uri: str, err: Exception) -> NoReturn:
        raise StorageError(
            f"S3 {operation} failed for {uri}: {str(err).rstrip('.')}. "
            f"{_hint(err, self.max_attempts)}"
        ) from err

    # -- operations ---------------------------------------------------------------------

    def list(self, prefix: str = "") -> builtins.list[StoredObject]:
        root = f"{self.prefix}/" if self.prefix else ""
        found: builtins.list[StoredObject] = []
        with self._errors("list"):
            pages = self.client.get_paginator("list_objects_v2").paginate(
                Bucket=self.bucket, Prefix=root + _check_prefix(prefix)
            )
            for page in pages:
                found.extend(self._stored(entry) for entry in page.get("Contents", []))
        return sorted((obj for obj in found if _listable(obj.key)), key=lambda obj: obj.key)

    def _stored(self, entry: ObjectTypeDef) -> StoredObject:
        return StoredObject(
            key=self._store_key(entry["Key"]),
            size=int(entry["Size"]),
            modified=entry["LastModified"].astimezone(UTC),
        )

    def exists(self, key: str) -> bool:
        try:
            with self._errors("exists", key):
                self.client.head_object(Bucket=self.bucket, Key=self._object_key(key))
        except FileNotFoundError:
            return False
        return True

    def read_bytes(self, key: str) -> bytes:
        with self._errors("read_bytes", key):
            response = self.client.get_object(Bucket=self.bucket, Key=self._object_key(key))
            return response["Body"].read()

    def write_bytes(self, key: str, data: bytes) -> None:
        with self._errors("write_bytes", key):
            self.client.put_object(Bucket=self.bucket, Key=self._object_key(key), Body=data)

    def write_if_absent(self, key: str, data: bytes) -> bool:
        """A conditional PUT (If-None-Match: *): S3 itself picks the single winner."""
        with self._errors("write_if_absent", key):
            return self._put_if_absent(self._object_key(key), data)

    def _put_if_absent(self, object_key: str, data: bytes) -> bool:
        from botocore.exceptions import ClientError

        attempt = 1
        while True:
            try:
                self.client.put_object(
                    Bucket=self.bucket, Key=object_key, Body=data, IfNoneMatch="*"
                )
                return True
            except ClientError as err:
                code = _error_code(err)
                if code == "PreconditionFailed":
                    return False
                # 409: a concurrent conditional write is still in flight. AWS asks callers
                # to retry, and botocore's retry modes do not cover it.
                if code != "ConditionalRequestConflict" or attempt >= self.max_attempts:
                    raise
            time.sleep(0.05 * 2**attempt)
            attempt += 1

    def upload_file(self, local_path: Path, key: str) -> None:
        # Managed upload: multipart for large files, and the object only appears once the
        # last part is committed, so readers never see a partial object.
        with self._errors("upload_file", key):
            self.client.upload_file(str(local_path), self.bucket, self._object_key(key))

    def download_file(self, key: str, local_path: Path) -> None:
        with self._errors("download_file", key), _replacing(Path(local_path)) as temp:
            self.client.download_file(self.bucket, self._object_key(key), str(temp))

    def move(self, src_key: str, dst_key: str) -> None:
        if src_key == dst_key:
            # Copy-then-delete onto itself would delete the only copy.
            if not self.exists(src_key):
                raise _missing("move", self.uri_for(src_key))
            return
        source: CopySourceTypeDef = {"Bucket": self.bucket, "Key": self._object_key(src_key)}
        with self._errors("move", src_key):
            # Managed copy: server-side, and multipart above 5 GB where CopyObject stops.
            self.client.copy(source, self.bucket, self._object_key(dst_key))
            self.client.delete_object(Bucket=self.bucket, Key=source["Key"])

    def copy(self, src_key: str, dst_key: str) -> None:
        source: CopySourceTypeDef = {"Bucket": self.bucket, "Key": self._object_key(src_key)}
        with self._errors("copy", src_key):
            # One CopyObject request (the managed copy asks for the size first: twice the
            # requests for the small objects this is for).
            self.client.copy_object(
                Bucket=self.bucket, Key=self._object_key(dst_key), CopySource=source
            )

    def delete(self, key: str) -> None:
        with self._errors("delete", key):
            self.client.delete_object(Bucket=self.bucket, Key=self._object_key(key))

    @contextmanager
    def _staged(self, key: str) -> Iterator[Path]:
        with tempfile.TemporaryDirectory(prefix="sentra-stage-") as folder:
            temp = Path(folder, "object")
            yield temp
            self.upload_file(temp, key)


@functools.cache
def _botocore_loader() -> botocore.loaders.Loader:
    import botocore.loaders

    return botocore.loaders.create_loader()


def _boto3_session() -> boto3.session.Session:
    """A fresh session (credentials and AWS_* settings read now) with the shared model cache.

    Parsing the S3 service model costs ~0.15 s per session; the loader only caches
    read-only JSON, so one per process is safe to share between sessions and threads.
    """
    import boto3.session
    import botocore.session

    core = botocore.session.Session()
    core.register_component("data_loader", _botocore_loader())
    return boto3.session.Session(botocore_session=core)


def _error_code(err: Any) -> str:
    return str(err.response.get("Error", {}).get("Code", ""))


def _hint(err: Exception, max_attempts: int) -> str:
    from botocore.exceptions import ClientError, EndpointConnectionError

    code = _error_code(err) if isinstance(err, ClientError) else ""
    if code == "NoSuchBucket":
        return "Create the bucket or fix the bucket name in the store URI."
    if code in _CREDENTIAL_CODES:
        return "Check AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY and the bucket policy."
    if isinstance(err, EndpointConnectionError):
        return "Check AWS_ENDPOINT_URL and that the S3 service is reachable."
    return (
        f"Gave up after {max_attempts} attempts with backoff; check AWS_ENDPOINT_URL, the "
        "credentials and the service status, then rerun the task."
    )


def open_storage(
    uri: str,
    *,
    max_attempts: int = 5,
    connect_timeout: float = 10.0,
    read_timeout: float = 60.0,
) -> Storage:
    """The store behind a configured location: ``s3://bucket/prefix``, ``file://`` or a path.

    The retry and timeout bounds apply to S3 only (``SENTRA_S3_*`` settings).
    """
    if uri.startswith("s3://"):
        return S3Storage(
            uri,
            max_attempts=max_attempts,
            connect_timeout=connect_timeout,
            read_timeout=read_timeout,
        )
    if uri.startswith("file://"):
        from urllib.request import url2pathname

        parts = urlsplit(uri)
        if parts.netloc not in ("", "localhost"):
            raise ValueError(f"file:// URI {uri!r} names a remote host; use a local path.")
        return LocalStorage(url2pathname(parts.path))
    return LocalStorage(uri)
