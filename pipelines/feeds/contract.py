"""The feed contract: what a feed declares, what its handler is given, and what it returns.

A feed is one kind of landed file (``<source>/...`` in the landing store). It declares the clean
datasets it writes and their schema, its handler, and how its files count for freshness. The
ingest gives a handler a narrow ``FeedContext`` for one file - settings, the source's policy, the
validator, the previous row counts per scope and a report factory - never the ingest itself, and
applies the verdict (publish, publish without the bad rows, quarantine) from the ``FeedResult``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

from pipelines.lake.ledger import utc_now

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa

    from pipelines.lake.ledger import LedgerRecord
    from pipelines.platform.settings import Settings
    from pipelines.quality.policy import ParserLimits, SourcePolicy
    from pipelines.quality.quarantine import QuarantineReport
    from pipelines.quality.validation import ValidationOutcome, Validator

ROWS_BY_SCOPE = "rows_by_scope"
"""The ledger metric every file records: its rows per scope (a province and period, a shop, a
BPS table and domain). The next file of the same scope is checked against it for truncation."""

ProgressCallback = Callable[[int, int, str], None]
"""Called with (position, total, name) as files are fetched or ingested."""

Baseline = Callable[[Mapping[str, int], str], int]
"""Given the latest ingested rows per scope, the row count a new file's scope is compared with."""

HASH_CHUNK_BYTES = 8 * 1024 * 1024
"""How much of a landed file ``file_sha256`` reads and hashes at a time."""


def same_scope(previous: Mapping[str, int], scope: str) -> int:
    return int(previous.get(scope, 0))


def unscoped(key: str) -> str:
    """A feed whose landing folders carry no meaning: identity is the content alone."""
    return ""


def whole_source(record: LedgerRecord) -> list[str]:
    """A feed whose files all refresh one scope: the source as a whole."""
    return ["all"]


@dataclass(frozen=True)
class Feed:
    source: str
    """Landing folder (``<source>/...``) and the ledger's source name."""
    datasets: tuple[str, ...]
    """Clean datasets (``clean/<dataset>/``) the feed writes; the marts read them."""
    process: Callable[[FeedContext, LandedFile], FeedResult]
    """Parses and validates one file."""
    clean_schema: Callable[[str], pa.Schema]
    """The schema of a dataset's clean Parquet files, lineage columns included."""
    freshness_scopes: Callable[[LedgerRecord], list[str]] = whole_source
    """The scopes an ingested file refreshes (its provinces, its shop, or the whole source)."""
    expected_scopes: Callable[[], Iterable[str]] = tuple
    """Scopes that must send files even if they never have (every province for registries)."""
    identity_scope: Callable[[str], str] = unscoped
    """What a landing key says about the file's meaning beyond its bytes (a marketplace shop's
    folder): the same bytes in another such scope are another file."""
    prepare: Callable[[FeedContext, LandedFile], FeedResult | PendingValidation] | None = None
    """Parses one file up to its validation, which the ingest then runs together with other
    files' (one GX call per batch of files, not per file); ``process`` is this plus the
    validation of the one file."""
    prepare_in_thread: bool = False
    """Whether ``prepare`` may run in a worker thread while the ingest validates and settles
    other files: it spends its time outside the GIL (in DuckDB) and touches neither GX nor
    what the ingest keeps between files."""

    def identity(self, key: str, path: Path) -> str:
        """The sha256 the ledger keys the landed file on (see ``file_sha256``)."""
        return file_sha256(path, self.identity_scope(key))


@dataclass(frozen=True)
class LandedFile:
    """One landed object, available as a local file, with the identity the ledger keys on."""

    key: str
    source: str
    path: Path
    sha256: str
    size: int
    landed_at: datetime
    received_at: datetime = field(default_factory=utc_now)
    """When this run took the file in: on its ledger record and on every clean row it gives."""

    @property
    def name(self) -> str:
        return PurePosixPath(self.key).name

    @property
    def data(self) -> bytes:
        """The whole file in memory: for small feeds only (registries), never for exports."""
        return self.path.read_bytes()


@dataclass(frozen=True)
class FeedResult:
    """What a feed handler made of a file.

    ``tables`` are the typed rows per dataset (bad rows included, located by their
    ``source_sheet``/``source_row`` columns); ``report`` is set when anything critical failed.
    The ingest decides from the source's policy whether the bad rows are quarantined alone or
    the whole file is.
    """

    tables: dict[str, pa.Table] = field(default_factory=dict)
    outcomes: list[ValidationOutcome] = field(default_factory=list)
    report: QuarantineReport | None = None
    rows_in: int = 0
    rows_by_scope: dict[str, int] = field(default_factory=dict)
    """Rows per scope, recorded in the ledger as ``ROWS_BY_SCOPE`` (see ``FeedContext``)."""
    metrics: dict[str, Any] = field(default_factory=dict)
    """Anything else the feed wants on the file's ledger record."""
    files: dict[str, Path] = field(default_factory=dict)
    """Typed Parquet per dataset, lineage columns included, for feeds too large to hold as
    ``tables`` (marketplace exports). The handler writes temporary files; the ingest uploads
    the rows the policy keeps, then deletes the files."""
    data_docs: tuple[str, ...] = ()
    """Lake keys of the GX Data Docs pages rendered for this file in this run."""

    @property
    def warnings(self) -> tuple[str, ...]:
        return tuple(
            f"{check.check}: {check.unexpected_count} rows - {check.description}"
            for outcome in self.outcomes
            for check in outcome.warnings
        )


@dataclass(frozen=True)
class PendingTable:
    """One typed table of a file and the suite that checks it."""

    suite: str
    data: Path | pd.DataFrame
    """A typed Parquet file (validated by GX's SQL engine on DuckDB, large feeds) or a pandas
    frame (GX's pandas engine, every failing row located: small feeds)."""


@dataclass(frozen=True)
class PendingValidation:
    """A file parsed to typed tables whose validation the ingest runs in a batch of files."""

    tables: tuple[PendingTable, ...]
    parameters: Callable[[], dict[str, Any]]
    """The expectation parameters of every table, computed when the file is validated: its
    truncation check compares it with the files of its scopes settled before it, in this run
    too."""
    scopes: frozenset[str]
    """The scopes whose earlier files the truncation check reads: a batch settles before another
    file of them joins."""
    finish: Callable[[list[ValidationOutcome]], FeedResult]
    """The file's result once the outcomes of its tables are known, in the order of ``tables``
    (a Parquet table becomes one of its ``files``); when this raises, the caller discards the
    file."""

    def discard(self) -> None:
        """Delete the converted files of a validation that will not run (the file failed)."""
        for table in self.tables:
            if isinstance(table.data, Path):
                table.data.unlink(missing_ok=True)


def validated_alone(context: FeedContext, prepared: FeedResult | PendingValidation) -> FeedResult:
    """A prepared file's result with its tables validated for it alone (a feed's ``process``)."""
    if isinstance(prepared, FeedResult):
        return prepared
    try:
        parameters = prepared.parameters()
        return prepared.finish(
            [
                context.validator.validate_table(table.suite, table.data, parameters)
                for table in prepared.tables
            ]
        )
    except BaseException:
        prepared.discard()
        raise


@dataclass(frozen=True)
class UnfetchedFile:
    """A file a feed pulls (rather than finds landed) that could not be fetched this time."""

    name: str
    source: str
    error: str


@dataclass(frozen=True)
class FeedContext:
    """What a feed handler may use while it reads one file."""

    settings: Settings
    policy: SourcePolicy
    """The quality policy of the file's source."""
    new_report: Callable[[], QuarantineReport]
    """An empty quarantine report for this file, for the handler to fill in."""
    load_validator: Callable[[], Validator]
    load_previous_rows: Callable[[], Mapping[str, int]]
    """The latest ingested ``ROWS_BY_SCOPE`` of the source, merged over its files."""
    limits: ParserLimits
    """Sizes past which a file is a data problem (quarantined, the limit named)."""
    shares_cores: bool = False
    """Other files of the run are prepared beside this one, on the other cores."""

    @property
    def validator(self) -> Validator:
        """The run's validator (created on first use: importing GX takes seconds)."""
        return self.load_validator()

    def minimum_expected_rows(
        self, rows_by_scope: Mapping[str, int], baseline: Baseline = same_scope
    ) -> int:
        """The fewest rows this file may hold without looking truncated.

        Each of its scopes is compared with the ``baseline`` of the previous files: a file far
        smaller than the policy's share of that is a partial file.
        """
        previous = self.load_previous_rows()
        expected = sum(baseline(previous, scope) for scope in rows_by_scope)
        return int(expected * self.policy.min_share_of_previous_rows)


def file_sha256(path: Path, scope: str = "") -> str:
    """The sha256 of the file's bytes, or of ``scope`` + newline + the bytes for a scoped feed.

    Read and hashed in ``HASH_CHUNK_BYTES`` pieces into one reused buffer. Each read and each
    hash lets go of Python's GIL and must take it back; while another thread runs Python (GX's
    import, a worker between two DuckDB statements) taking it back waits up to the interpreter's
    switch interval (5 ms). ``hashlib.file_digest``'s 256 KiB pieces made hashing a 232 MB
    e-Smart file beside one busy Python thread take 8.2 s instead of 0.26 s; 8 MiB pieces, 0.63 s.
    """
    digest = hashlib.sha256(f"{scope}\n".encode() if scope else b"")
    buffer = bytearray(HASH_CHUNK_BYTES)
    view = memoryview(buffer)
    with path.open("rb", buffering=0) as stream:
        while size := stream.readinto(buffer):
            digest.update(view[:size])
    return digest.hexdigest()


def lineage_fields() -> list[pa.Field]:
    import pyarrow as pa

    timestamp = pa.timestamp("us", tz="UTC")
    return [
        pa.field("source_sha256", pa.string()),
        pa.field("source_name", pa.string()),
        pa.field("landed_at", timestamp),
        pa.field("received_at", timestamp),
    ]


def with_lineage(table: pa.Table, landed: LandedFile, received_at: datetime) -> pa.Table:
    """Every clean row says which file it came from and when that file landed."""
    import pyarrow as pa

    values = [landed.sha256, landed.key, landed.landed_at.astimezone(UTC), received_at]
    for lineage_field, value in zip(lineage_fields(), values, strict=True):
        table = table.append_column(
            lineage_field, pa.array([value] * table.num_rows, lineage_field.type)
        )
    return table
