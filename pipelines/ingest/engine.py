"""Ingest landed files: keep the raw bytes, parse, validate, publish clean Parquet or quarantine.

Identity is content: a file whose sha256 the ledger has already settled (ingested or quarantined)
is skipped, whatever its name, so re-landing the same bytes changes nothing. Every step of one
file is ordered so a crash at any point leaves the lake consistent: the raw copy first, the clean
Parquet next, and the ledger record last as the commit point.

A run's marketplace exports are raw-copied and converted by worker threads, a few files ahead
(DuckDB releases the GIL); claiming, validating and settling stay in the calling thread, in
landing order.
"""

from __future__ import annotations

import dataclasses
import gc
import logging
import tempfile
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pipelines.feeds.catalog import FEEDS
from pipelines.feeds.contract import (
    ROWS_BY_SCOPE,
    FeedContext,
    FeedResult,
    LandedFile,
    PendingValidation,
    ProgressCallback,
    UnfetchedFile,
    with_lineage,
)
from pipelines.lake import layout
from pipelines.lake.claims import Claims, HeldElsewhere
from pipelines.lake.ledger import Ledger, LedgerRecord, LedgerStatus, new_run_id
from pipelines.platform.duckdb import connect, escape_string
from pipelines.platform.storage import StorageError
from pipelines.quality.policy import load_policy
from pipelines.quality.quarantine import QuarantineReport, write_quarantine_report

if TYPE_CHECKING:
    import pyarrow as pa

    from pipelines.platform.settings import Settings
    from pipelines.platform.storage import Storage, StoredObject
    from pipelines.quality.validation import ValidationOutcome, Validator

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class FileOutcome:
    """What one landed file turned into in this run."""

    key: str
    sha256: str
    status: LedgerStatus | str
    message: str
    rows_in: int = 0
    rows_valid: int = 0
    rows_rejected: int = 0
    report_key: str | None = None
    report: QuarantineReport | None = None
    warnings: tuple[str, ...] = ()
    source: str = ""
    data_docs: tuple[str, ...] = ()
    attempt: int = 0
    """For a failed or parked file: how many times in a row its ingest has failed."""


@dataclass(frozen=True)
class PendingPage:
    """A Data Docs page whose key is recorded and whose rendering waits for the run's end."""

    key: str
    gx_result: Any


@dataclass(frozen=True)
class HeldFile:
    """A claimed, raw-copied file, its typed tables waiting to be validated with others."""

    landed: LandedFile
    received_at: datetime
    raw_key: str
    pending: PendingValidation
    release: Callable[[], None] = lambda: None
    """Drops the local copy of the landed file, kept while the file is held."""


@dataclass(frozen=True)
class PreparingFile:
    """A claimed file that a worker thread raw-copies and prepares (``Feed.prepare_in_thread``)."""

    landed: LandedFile
    received_at: datetime
    raw_key: str
    preparing: Future[FeedResult | PendingValidation]
    release: Callable[[], None] = lambda: None
    """Drops the local copy of the landed file, kept while the file is prepared or held."""

    def discard(self) -> None:
        """Wait for the worker, then delete what it wrote: nothing of the file is published."""
        try:
            result = self.preparing.result()
        except BaseException:  # the file's failure is moot: the run is being cut off
            result = None
        if isinstance(result, PendingValidation):
            result.discard()
        elif result is not None:
            for path in result.files.values():
                path.unlink(missing_ok=True)
        self.release()


StartedFile = FileOutcome | HeldFile | PreparingFile


# A batch is validated once it holds this many files or landed bytes: GX's fixed cost per call
# is paid once per batch, while the union a call reads stays bounded
# (docs/validation-performance.md, "Many small files").
MAX_BATCH_FILES = 32
MAX_BATCH_BYTES = 256 * 1024 * 1024

# Files claimed and handed to the worker threads before the earliest of them joins the batch: as
# many as a batch holds, so the workers convert the next batch's exports while GX validates this
# one (docs/benchmarks.md, "Both cores"); and two batches' bytes, so that both workers have a
# large file (an e-Smart month of 220-340 MB) to convert.
PREPARE_AHEAD_FILES = MAX_BATCH_FILES
PREPARE_AHEAD_BYTES = 2 * MAX_BATCH_BYTES
# Two: DuckDB reads a small export (one CSV buffer) on one thread, so a national run's ~600
# shop exports converted one at a time left a core idle while this thread waited for them
# (38% of its time, sampled). In a run of several files each conversion takes one core, in one
# pass (``FeedContext.shares_cores``): two large files converting at once, up to 512 MB of
# DuckDB memory each, kept a national run at 781-818 MiB, below the 1,037-1,047 MiB of one at
# a time on both cores.
PREPARE_WORKERS = 2
# Python's cyclic garbage collector, during a run: a young collection every 50,000 net new
# objects instead of 700 (its default). Importing GX and validating with it allocate millions
# of objects that live through a run, so the default made a national run collect ~6,000 times,
# 25 of them over every object in the process: 6.9 s, holding the GIL. With these, 40 national
# exports were collected 12 times instead of ~950 (0.7 s -> 0.2 s; the run 8.3 s -> 7.5 s) at
# the same peak memory.
RUN_COLLECTOR_THRESHOLDS = (50_000, 20, 100)


class ValidationBatch:
    """The stage between reading a run's files into typed tables and settling them.

    Files wait here to be validated together (``Ingestor.conclude_held``), then each
    is settled with its own outcomes; files that need no validation, or failed, pass through.
    Files a worker thread is still preparing queue first, and join in landing order.
    """

    def __init__(self, ingestor: Ingestor, settled: set[str]) -> None:
        self.ingestor = ingestor
        self.settled = settled
        # Started files in landing order, the earliest ones possibly still with a worker.
        self.preparing: deque[StartedFile] = deque()
        self.held: list[HeldFile] = []
        self.outcomes: list[FileOutcome] = []

    def add(self, started: StartedFile) -> None:
        self.preparing.append(started)
        while self.preparing and (
            len(self.preparing) > PREPARE_AHEAD_FILES
            or self.bytes_preparing() > PREPARE_AHEAD_BYTES
            or not isinstance(self.preparing[0], PreparingFile)
        ):
            self.join_first()

    def bytes_preparing(self) -> int:
        return sum(file.landed.size for file in self.preparing if isinstance(file, PreparingFile))

    def join_first(self) -> None:
        """Hold the earliest started file for validation, or record its outcome.

        It leaves ``preparing`` only once held or recorded, so a run cut off meanwhile (while
        the files held before it are validated) still discards it.
        """
        started = self.preparing[0]
        if isinstance(started, PreparingFile):
            started = self.preparing[0] = self.ingestor.prepared(started)
        if isinstance(started, HeldFile) and any(
            shares_a_scope(started, file) for file in self.held
        ):
            self.validate_held()  # its truncation check compares it with the files held before it
        self.preparing.popleft()
        if isinstance(started, FileOutcome):
            self.record([started])
            return
        self.held.append(started)
        files, size = len(self.held), sum(file.landed.size for file in self.held)
        if files >= MAX_BATCH_FILES or size >= MAX_BATCH_BYTES:
            self.validate_held()

    def make_way_for(self, sha256: str) -> None:
        """Settle every file first if one has the same bytes (landed twice in one run)."""
        started = [*self.preparing, *self.held]
        if any(
            isinstance(file, HeldFile | PreparingFile) and file.landed.sha256 == sha256
            for file in started
        ):
            self.conclude()

    def conclude(self) -> None:
        while self.preparing:
            self.join_first()
        self.validate_held()

    def validate_held(self) -> None:
        held, self.held = self.held, []
        if not held:
            return
        try:
            outcomes = self.ingestor.conclude_held(held)
        except BaseException:
            self.held = held  # cut off: ``discard`` deletes what their validation left
            raise
        self.record(outcomes)

    def record(self, outcomes: list[FileOutcome]) -> None:
        self.outcomes += outcomes
        self.settled |= {o.sha256 for o in outcomes if o.status not in ("skipped", "failed")}

    def discard(self) -> None:
        """Drop what files are still prepared or held (a run cut off): nothing was published."""
        preparing, self.preparing = self.preparing, deque()
        held, self.held = self.held, []
        for file in [*preparing, *held]:
            if isinstance(file, PreparingFile):
                file.discard()
            elif isinstance(file, HeldFile):
                file.pending.discard()
                file.release()


def feed_of(key: str) -> str:
    """The feed a landing key belongs to: its first folder (``registry/...``)."""
    return key.split("/", 1)[0]


def shares_a_scope(one: HeldFile, other: HeldFile) -> bool:
    same_source = one.landed.source == other.landed.source
    return same_source and bool(one.pending.scopes & other.pending.scopes)


@dataclass
class IngestSummary:
    run_id: str
    outcomes: list[FileOutcome] = field(default_factory=list)

    def count(self, status: str) -> int:
        return sum(outcome.status == status for outcome in self.outcomes)

    @property
    def exit_code(self) -> int:
        """0 when everything new was ingested, 1 when any file was quarantined, failed or parked."""
        problems = ("quarantined", "failed", "parked")
        return 1 if any(self.count(status) for status in problems) else 0


class Ingestor:
    """Ingests landed files for one run; holds the (expensive) validator across files."""

    def __init__(self, settings: Settings, run_id: str | None = None) -> None:
        self.settings = settings
        self.run_id = run_id or new_run_id()
        self.landing: Storage = settings.landing_store
        self.lake: Storage = settings.lake_store
        self.ledger = Ledger(self.lake)
        self.claims = Claims(
            self.lake, self.ledger, timedelta(seconds=settings.claim_lease_seconds)
        )
        self._validator: Validator | None = None
        self._pending_pages: list[PendingPage] = []
        self._rendered_early = False
        self._data_docs_depth = 0
        # Whether the listing being ingested (``ingest_objects``) has more than one file that
        # worker threads prepare: each conversion then takes one core. Files already settled
        # count too (telling them apart means hashing them), so `sentra ingest` of a landing
        # where one large export is new converts it on one core (an e-Smart month ~0.4 s
        # longer, with a sixth less CPU).
        self._conversions_share_cores = False

    @property
    def validator(self) -> Validator:
        if self._validator is None:
            from pipelines.quality.validation import Validator

            self._validator = Validator(self.settings.expectations_dir)
        return self._validator

    def landed_objects(self, keys: Sequence[str] | None = None) -> list[StoredObject]:
        """New-or-not, every landed object of a supported feed (or just the given keys).

        Ordered by landing time then key, so a resubmission is processed after the original.
        """
        objects = [obj for source in FEEDS for obj in self.landing.list(f"{source}/")]
        if keys is not None:
            wanted = set(keys)
            missing = wanted - {obj.key for obj in objects}
            if missing:
                raise FileNotFoundError(
                    f"not found in the landing store {self.landing.uri} under "
                    f"{', '.join(f + '/' for f in FEEDS)}: {', '.join(sorted(missing))}"
                )
            objects = [obj for obj in objects if obj.key in wanted]
        return sorted(objects, key=lambda obj: (obj.modified, obj.key))

    def run(
        self, keys: Sequence[str] | None = None, progress: ProgressCallback | None = None
    ) -> IngestSummary:
        with fewer_collections(), self.data_docs_rendered_after():
            return self.ingest_objects(keys, progress)

    @contextmanager
    def data_docs_rendered_after(self) -> Iterator[None]:
        """Render the Data Docs pages of the files settled inside, once, when the outermost ends.

        Pages are a view of validation results already kept with each file: rendering them
        between files would put GX's page renderer on every file's path. Only while this thread
        waits for the worker are settled files' pages rendered early (``render_while_waiting``).
        A block that raises renders nothing more; its pages are rendered from the kept results
        by the next run.
        """
        self._data_docs_depth += 1
        try:
            yield
        finally:
            self._data_docs_depth -= 1
        if not self._data_docs_depth:
            self.render_data_docs()

    def render_data_docs(self) -> None:
        """Render this run's pages and any an earlier run left unrendered, then the index.

        Rendering errors are logged, never a file's outcome: the results are kept, so the next
        run renders what is still missing.
        """
        from pipelines.quality.data_docs import write_page_from_result, write_validation_page

        pending, self._pending_pages = self._pending_pages, []
        rendered_early, self._rendered_early = self._rendered_early, False
        try:
            for page in pending:
                write_validation_page(self.lake, page.key, page.gx_result)
            docs = {obj.key: obj.modified for obj in self.lake.list(f"{layout.DATA_DOCS}/")}
            missing = unrendered_pages(docs)
            for page_key in missing:
                write_page_from_result(self.lake, page_key)
            if pending or rendered_early or missing or index_stale(docs):
                self.refresh_data_docs_index()
        except Exception:  # the pages are a view; never lose a run's outcome over them
            log.exception("could not render the Data Docs; the next ingest renders them")

    def refresh_data_docs_index(self) -> None:
        from pipelines.quality.data_docs import write_index

        names = {record.sha256: record.original_name for record in self.ledger.latest_records()}
        write_index(self.lake, names)

    def ingest_objects(
        self, keys: Sequence[str] | None, progress: ProgressCallback | None
    ) -> IngestSummary:
        summary = IngestSummary(run_id=self.run_id)
        objects = self.landed_objects(keys)
        prepared_in_threads = sum(FEEDS[feed_of(obj.key)].prepare_in_thread for obj in objects)
        self._conversions_share_cores = prepared_in_threads > 1
        settled = self.ledger.settled_sha256s()
        log.info("run %s: %d landed files in %s", self.run_id, len(objects), self.landing.uri)
        batch = ValidationBatch(self, settled)
        # Workers convert while this thread hashes, claims, validates and settles.
        with ThreadPoolExecutor(PREPARE_WORKERS, thread_name_prefix="sentra-prepare") as worker:
            try:
                for position, obj in enumerate(objects, start=1):
                    if progress:
                        progress(position, len(objects), obj.key)
                    try:
                        batch.add(self.start_landed(obj, settled, batch, worker))
                    except (OSError, StorageError) as error:
                        # Without the bytes there is no sha256 to record; the next run tries again.
                        log.error("could not read landed file %s: %s", obj.key, error)
                        message = f"could not read the file: {error}"
                        batch.add(FileOutcome(obj.key, "", "failed", message))
                batch.conclude()
            finally:
                batch.discard()  # files still prepared or held when the run is cut off
                self._conversions_share_cores = False
        summary.outcomes = batch.outcomes
        order = {obj.key: position for position, obj in enumerate(objects)}
        summary.outcomes.sort(key=lambda outcome: order[outcome.key])
        return summary

    def ingest_pulled(self, files: Iterable[LandedFile | UnfetchedFile]) -> IngestSummary:
        """Ingest files a feed fetched itself (BPS) like landed ones; known content is skipped."""
        with fewer_collections(), self.data_docs_rendered_after():
            return self.ingest_items(files)

    def ingest_items(self, files: Iterable[LandedFile | UnfetchedFile]) -> IngestSummary:
        summary = IngestSummary(run_id=self.run_id)
        settled = self.ledger.settled_sha256s()
        for item in files:
            if isinstance(item, UnfetchedFile):
                outcome = FileOutcome(item.name, "", "failed", item.error, source=item.source)
            else:
                outcome = self.ingest_file(item, settled)
            if outcome.status not in ("skipped", "failed"):
                settled.add(outcome.sha256)
            summary.outcomes.append(outcome)
        return summary

    def replay(self, sha256_prefix: str) -> FileOutcome:
        """Run a received file again from its raw copy, e.g. after a suite or reference fix.

        The ledger keeps the earlier outcome and gains the new one; the marts follow the latest.
        """
        record = self.ledger.read(self.ledger.history(sha256_prefix)[-1])
        if record.raw_key is None:
            raise LookupError(f"no raw copy recorded for {record.sha256}; land the file again")
        log.info(
            "replaying %s (%s), last %s", record.original_name, record.sha256[:12], record.status
        )
        with self.lake.local_copy(record.raw_key) as path:
            landed = LandedFile(
                key=record.original_name,
                source=record.source,
                path=path,
                sha256=record.sha256,
                size=record.size,
                landed_at=datetime.fromisoformat(record.landed_at),
            )
            with self.data_docs_rendered_after():
                return self.ingest_file(landed, settled=set(), replay=True)

    def new_report(self, landed: LandedFile) -> QuarantineReport:
        """An empty quarantine report for a file of this run, for a feed handler to fill in."""
        raw_key = layout.raw_key(landed.source, landed.sha256, landed.name)
        return QuarantineReport(
            source=landed.source,
            file=landed.key,
            sha256=landed.sha256,
            run_id=self.run_id,
            raw_uri=self.lake.uri_for(raw_key),
        )

    def fetch_and_ingest(
        self, obj: StoredObject, settled: set[str], *, replay: bool = False
    ) -> FileOutcome:
        with self.data_docs_rendered_after():
            return self.settled_now(self.start_landed(obj, settled, replay=replay))

    def start_landed(
        self,
        obj: StoredObject,
        settled: set[str],
        batch: ValidationBatch | None = None,
        worker: Executor | None = None,
        *,
        replay: bool = False,
    ) -> StartedFile:
        """``start_file`` on a local copy of a landed object, kept while the file is held."""
        source = feed_of(obj.key)
        with ExitStack() as local_copy:
            path = local_copy.enter_context(self.landing.local_copy(obj.key))
            sha256 = FEEDS[source].identity(obj.key, path)
            if batch is not None:
                batch.make_way_for(sha256)
            landed = LandedFile(obj.key, source, path, sha256, obj.size, obj.modified)
            started = self.start_file(landed, settled, worker, replay=replay)
            if isinstance(started, HeldFile | PreparingFile):
                return dataclasses.replace(started, release=local_copy.pop_all().close)
            return started

    def ingest_file(
        self, landed: LandedFile, settled: set[str], *, replay: bool = False
    ) -> FileOutcome:
        return self.settled_now(self.start_file(landed, settled, replay=replay))

    def settled_now(self, started: StartedFile) -> FileOutcome:
        """The file's outcome, validating it alone if it waits for validation (a batch of one)."""
        if isinstance(started, PreparingFile):
            started = self.prepared(started)
        if isinstance(started, FileOutcome):
            return started
        [outcome] = self.conclude_held([started])
        return outcome

    def start_file(
        self,
        landed: LandedFile,
        settled: set[str],
        worker: Executor | None = None,
        *,
        replay: bool = False,
    ) -> StartedFile:
        """Claim, keep the raw copy and process the file: settled, held for validation, or
        left to ``worker`` to prepare when its feed allows (``Feed.prepare_in_thread``)."""
        sha256 = landed.sha256
        if sha256 in settled:
            return FileOutcome(
                landed.key, sha256, "skipped", "already received (same bytes); nothing to do"
            )
        try:
            # Read again now: another worker may have settled it since this run listed the ledger.
            position = self.ledger.position(landed.source, sha256)
            if position.settled and not replay:
                return FileOutcome(
                    landed.key, sha256, "skipped", "already settled by another run; nothing to do"
                )
            claim = self.claims.take(landed.source, sha256, self.run_id, position)
        except StorageError as error:
            message = f"could not claim the file in the lake ({error}); nothing was written"
            return FileOutcome(landed.key, sha256, "failed", message, source=landed.source)
        if isinstance(claim, HeldElsewhere):
            return self.left_to(landed, claim)
        # GX's import overlaps the raw copy and the conversion instead of following them.
        self.validator.warm_up()
        received_at = landed.received_at
        raw_key = layout.raw_key(landed.source, sha256, landed.name)
        if worker is not None and FEEDS[landed.source].prepare_in_thread:
            preparing = worker.submit(self.process_while_copying, landed, raw_key)
            return PreparingFile(landed, received_at, raw_key, preparing)
        try:
            result = self.process_while_copying(landed, raw_key)
        except Exception as error:  # one bad file must not stop the others
            log.exception("ingest of %s failed", landed.key)
            return self.fail(landed, received_at, raw_key, f"{type(error).__name__}: {error}")
        return self.processed(landed, received_at, raw_key, result)

    def prepared(self, file: PreparingFile) -> FileOutcome | HeldFile:
        """A file the worker has prepared, as ``start_file`` would have returned it."""
        landed, received_at, raw_key = file.landed, file.received_at, file.raw_key
        self.render_while_waiting(file.preparing)
        try:
            result = file.preparing.result()
        except Exception as error:  # one bad file must not stop the others
            file.release()
            log.error("ingest of %s failed", landed.key, exc_info=error)
            return self.fail(landed, received_at, raw_key, f"{type(error).__name__}: {error}")
        started = self.processed(landed, received_at, raw_key, result)
        if isinstance(started, HeldFile):
            return dataclasses.replace(started, release=file.release)
        file.release()
        return started

    def render_while_waiting(self, preparing: Future[Any]) -> None:
        """Render queued Data Docs pages until the worker is done: this thread would only wait.

        At national scale it waits most while the worker converts the large e-Smart files, and
        the pages rendered meanwhile are not rendered at the run's end. A page that fails is
        left queued for the run's end (which logs the error, and the next run renders it).
        """
        from pipelines.quality.data_docs import write_validation_page

        while self._pending_pages and not preparing.done():
            page = self._pending_pages[0]
            try:
                write_validation_page(self.lake, page.key, page.gx_result)
            except Exception as error:  # the pages are a view; the run's end tries again
                log.warning("could not render %s yet (%s); tried again at the end", page.key, error)
                return
            self._pending_pages.pop(0)
            self._rendered_early = True

    def processed(
        self,
        landed: LandedFile,
        received_at: datetime,
        raw_key: str,
        result: FeedResult | PendingValidation,
    ) -> FileOutcome | HeldFile:
        if isinstance(result, PendingValidation):
            return HeldFile(landed, received_at, raw_key, result)
        return self.settle_processed(landed, received_at, raw_key, result)

    def conclude_held(self, held: Sequence[HeldFile]) -> list[FileOutcome]:
        """Validate the held files together, then settle each with its own outcomes.

        If validating them together fails, each is validated alone, so an error fails only the
        file it comes from.
        """
        try:
            validations: Sequence[list[ValidationOutcome] | Exception] = self.validate_together(
                held
            )
        except Exception as error:
            if len(held) > 1:
                log.exception("validating %d files together failed; one by one now", len(held))
                return [outcome for file in held for outcome in self.conclude_held([file])]
            validations = [error]
        return [
            self.conclude(file, validation)
            for file, validation in zip(held, validations, strict=True)
        ]

    def validate_together(self, held: Sequence[HeldFile]) -> list[list[ValidationOutcome]]:
        """The validation outcomes of each held file's tables, one batch of tables per suite."""
        from pipelines.quality.batch_validation import BatchFile, validate_files

        parameters = [file.pending.parameters() for file in held]
        by_suite: dict[str, list[tuple[int, int]]] = {}
        for position, file in enumerate(held):
            for table_position, table in enumerate(file.pending.tables):
                by_suite.setdefault(table.suite, []).append((position, table_position))
        outcomes: dict[tuple[int, int], ValidationOutcome] = {}
        for suite, places in by_suite.items():
            files = [
                BatchFile(held[position].pending.tables[table].data, parameters[position])
                for position, table in places
            ]
            outcomes |= dict(zip(places, validate_files(self.validator, suite, files), strict=True))
        return [
            [outcomes[position, table] for table in range(len(file.pending.tables))]
            for position, file in enumerate(held)
        ]

    def conclude(
        self, file: HeldFile, validation: list[ValidationOutcome] | Exception
    ) -> FileOutcome:
        landed, received_at, raw_key = file.landed, file.received_at, file.raw_key
        try:
            try:
                if isinstance(validation, Exception):
                    raise validation
                result = file.pending.finish(validation)
            except Exception as error:
                file.pending.discard()
                log.exception("ingest of %s failed", landed.key)
                return self.fail(landed, received_at, raw_key, f"{type(error).__name__}: {error}")
            return self.settle_processed(landed, received_at, raw_key, result)
        finally:
            file.release()

    def settle_processed(
        self, landed: LandedFile, received_at: datetime, raw_key: str, result: FeedResult
    ) -> FileOutcome:
        """Settle a processed file, then delete its temporary Parquet files."""
        try:
            try:
                return self.settle(landed, received_at, raw_key, result)
            finally:
                for path in result.files.values():
                    path.unlink(missing_ok=True)
        except Exception as error:  # one bad file must not stop the others
            log.exception("ingest of %s failed", landed.key)
            return self.fail(landed, received_at, raw_key, f"{type(error).__name__}: {error}")

    def left_to(self, landed: LandedFile, claim: HeldElsewhere) -> FileOutcome:
        holder = claim.holder
        if claim.settled:
            message = f"already settled by run {holder.run_id}; nothing to do"
        else:
            message = (
                f"being ingested by run {holder.run_id} since {holder.claimed_at:%H:%M:%S} UTC; "
                "left to it (retried if it leaves no result within the claim lease)"
            )
        return FileOutcome(landed.key, landed.sha256, "skipped", message, source=landed.source)

    def fail(
        self, landed: LandedFile, received_at: datetime, raw_key: str, error: str
    ) -> FileOutcome:
        """An operational failure: retried by the next ingest, or parked after too many.

        Data problems never come here: a handler reports them and the file is quarantined.
        """
        try:
            return self.record_failure(landed, received_at, raw_key, error)
        except StorageError as lake_error:
            # The lake is down (the usual cause): the run still ends, with this file failed.
            lease = timedelta(seconds=self.settings.claim_lease_seconds)
            message = (
                f"internal error ({error}); recording it in the ledger failed too ({lake_error}). "
                f"Nothing was published: this run's retry, or any ingest after the claim lease "
                f"({lease}), ingests the file again"
            )
            return FileOutcome(landed.key, landed.sha256, "failed", message, source=landed.source)

    def record_failure(
        self, landed: LandedFile, received_at: datetime, raw_key: str, error: str
    ) -> FileOutcome:
        limit = load_policy(self.settings.quality_policy).max_failed_attempts
        attempt = self.ledger.position(landed.source, landed.sha256).failures_in_a_row + 1
        if attempt >= limit:
            self.record(landed, received_at, raw_key, "parked", error=error)
            message = (
                f"parked after {attempt} failed attempts in a row; last error: {error}. The raw "
                f"copy is kept; fix the cause, then run `sentra replay {landed.sha256[:12]}`"
            )
            return FileOutcome(
                landed.key, landed.sha256, "parked", message, source=landed.source, attempt=attempt
            )
        self.record(landed, received_at, raw_key, "failed", error=error)
        message = (
            f"internal error ({error}); attempt {attempt} of {limit}: the raw copy is kept and "
            "the file will be retried on the next ingest"
        )
        return FileOutcome(
            landed.key, landed.sha256, "failed", message, source=landed.source, attempt=attempt
        )

    def process_while_copying(
        self, landed: LandedFile, raw_key: str
    ) -> FeedResult | PendingValidation:
        """Process the file while its raw copy is written; both are done when this returns.

        The copy is the kernel's (sendfile) or boto3's, and the conversion DuckDB's: neither
        holds the GIL, so on two cores the copy no longer adds to the file's time. Nothing is
        published before the raw copy is complete, so a crash still never leaves clean rows
        without the bytes they came from.
        """
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="sentra-raw-copy") as pool:
            copying = pool.submit(self.keep_raw_copy, landed.path, raw_key)
            result = self.process(landed)
            try:
                copying.result()
            except BaseException:
                if isinstance(result, PendingValidation):
                    result.discard()
                else:
                    for path in result.files.values():
                        path.unlink(missing_ok=True)
                raise
        return result

    def keep_raw_copy(self, path: Path, raw_key: str) -> None:
        if not self.lake.exists(raw_key):
            # Content-addressed: a concurrent writer can only write the same bytes.
            self.lake.upload_file(path, raw_key)

    def process(self, landed: LandedFile) -> FeedResult | PendingValidation:
        """The feed's result, or its typed tables waiting for a batch validation."""
        feed = FEEDS[landed.source]
        return (feed.prepare or feed.process)(self.feed_context(landed), landed)

    def feed_context(self, landed: LandedFile) -> FeedContext:
        """What the feed's handler may use for this file: not the ingest itself."""
        return FeedContext(
            settings=self.settings,
            policy=load_policy(self.settings.quality_policy).for_source(landed.source),
            new_report=lambda: self.new_report(landed),
            load_validator=lambda: self.validator,
            load_previous_rows=lambda: self.ledger.latest_metric(landed.source, ROWS_BY_SCOPE),
            limits=load_policy(self.settings.quality_policy).limits,
            shares_cores=self._conversions_share_cores,
        )

    def settle(
        self, landed: LandedFile, received_at: datetime, raw_key: str, result: FeedResult
    ) -> FileOutcome:
        """Publish, publish without the bad rows, or quarantine, by the source's policy."""
        result = dataclasses.replace(result, data_docs=self.queue_data_docs(landed, result))
        report = result.report
        if report is None:
            return self.publish(landed, received_at, raw_key, result, frozenset())
        rejected = report.rejected_locations()
        policy = load_policy(self.settings.quality_policy).for_source(landed.source)
        if (
            (result.tables or result.files)
            and rejected is not None
            and len(rejected) <= policy.max_rejected_row_share * result.rows_in
        ):
            report.verdict = "rows_quarantined"
            return self.publish(landed, received_at, raw_key, result, frozenset(rejected))
        return self.quarantine(
            landed, received_at, raw_key, result, frozenset(report.located_rows())
        )

    def queue_data_docs(self, landed: LandedFile, result: FeedResult) -> tuple[str, ...]:
        """The keys of the file's Data Docs pages, queued to be rendered when the run ends."""
        from pipelines.quality.data_docs import write_validation_result

        pages = []
        for outcome in result.outcomes:
            if outcome.gx_document is None:
                continue
            key = layout.data_docs_page_key(
                landed.source, landed.sha256, self.run_id, outcome.suite
            )
            # Kept with the file (a lake error fails it, retried whole): the page is rendered
            # from it at the run's end, or by the next run if this one does not get there.
            write_validation_result(self.lake, key, outcome.gx_document)
            pages.append(PendingPage(key, outcome.gx_result))
        self._pending_pages += pages
        return tuple(page.key for page in pages)

    def publish(
        self,
        landed: LandedFile,
        received_at: datetime,
        raw_key: str,
        result: FeedResult,
        rejected: frozenset[tuple[Any, ...]],
    ) -> FileOutcome:
        outputs = []
        for dataset, table in result.tables.items():
            kept, _ = split_rows(table, rejected)
            key = layout.clean_key(dataset, landed.sha256)
            self.lake.write_parquet(key, with_lineage(kept, landed, received_at))
            outputs.append(key)
        for dataset, path in result.files.items():
            key = layout.clean_key(dataset, landed.sha256)
            self.upload_rows(path, key, rejected, keep=True)
            outputs.append(key)
        report_key = self.write_report(result, rejected) if result.report else None
        rows = (result.rows_in, result.rows_in - len(rejected), len(rejected))
        self.record(
            landed,
            received_at,
            raw_key,
            "ingested",
            outputs=outputs,
            warnings=list(result.warnings),
            rows=rows,
            report_key=report_key,
            metrics={ROWS_BY_SCOPE: result.rows_by_scope, **result.metrics},
            result=result,
        )
        message = f"{rows[1]} rows ingested"
        if result.report:
            message = result.report.headline()
        elif result.warnings:
            message += f" with {len(result.warnings)} warnings"
        return self.outcome(landed, "ingested", message, rows, result, report_key)

    def quarantine(
        self,
        landed: LandedFile,
        received_at: datetime,
        raw_key: str,
        result: FeedResult,
        rejected: frozenset[tuple[Any, ...]],
    ) -> FileOutcome:
        assert result.report is not None
        report_key = self.write_report(result, rejected)
        rows = (result.rows_in, result.rows_in - len(rejected), len(rejected))
        self.record(
            landed,
            received_at,
            raw_key,
            "quarantined",
            report_key=report_key,
            error=result.report.headline(),
            rows=rows,
            warnings=list(result.warnings),
            result=result,
        )
        return self.outcome(
            landed, "quarantined", result.report.headline(), rows, result, report_key
        )

    def write_report(self, result: FeedResult, rejected: frozenset[tuple[Any, ...]]) -> str:
        """The report and the rejected rows (typed, so without the raw file's personal data)."""
        report = result.report
        assert report is not None
        report.rows_in, report.rows_rejected = result.rows_in, len(rejected)
        for dataset, table in result.tables.items():
            _, bad = split_rows(table, rejected)
            if bad.num_rows:
                key = layout.rejected_rows_key(report.source, report.sha256, report.run_id, dataset)
                self.lake.write_parquet(key, bad)
                report.rejected_rows_uris.append(self.lake.uri_for(key))
        for dataset, path in result.files.items():
            key = layout.rejected_rows_key(report.source, report.sha256, report.run_id, dataset)
            if self.upload_rows(path, key, rejected, keep=False):
                report.rejected_rows_uris.append(self.lake.uri_for(key))
        return write_quarantine_report(self.lake, report)

    def upload_rows(
        self, path: Path, key: str, rejected: frozenset[tuple[Any, ...]], *, keep: bool
    ) -> bool:
        """Upload the kept (or the rejected) rows of a Parquet file; False when there were none.

        Without rejected rows the file goes up as it is; otherwise DuckDB streams the wanted
        rows into a temporary file, so a large file is never held in memory.
        """
        if not rejected:
            if keep:
                self.lake.upload_file(path, key)
            return keep
        with tempfile.TemporaryDirectory(prefix="sentra-rows-") as folder:
            part = Path(folder) / "part.parquet"
            if copy_rows(path, part, rejected, keep=keep) or keep:
                self.lake.upload_file(part, key)
                return True
        return False

    def outcome(
        self,
        landed: LandedFile,
        status: LedgerStatus,
        message: str,
        rows: tuple[int, int, int],
        result: FeedResult,
        report_key: str | None,
    ) -> FileOutcome:
        return FileOutcome(
            landed.key,
            landed.sha256,
            status,
            message,
            *rows,
            report_key=self.lake.uri_for(report_key) if report_key else None,
            report=result.report,
            warnings=result.warnings,
            source=landed.source,
            data_docs=tuple(self.lake.uri_for(key) for key in result.data_docs),
        )

    def record(
        self,
        landed: LandedFile,
        received_at: datetime,
        raw_key: str,
        status: LedgerStatus,
        *,
        rows: tuple[int, int, int] = (0, 0, 0),
        result: FeedResult | None = None,
        **details: Any,
    ) -> None:
        rows_in, rows_valid, rows_rejected = rows
        self.ledger.append(
            LedgerRecord(
                sha256=landed.sha256,
                source=landed.source,
                original_name=landed.key,
                size=landed.size,
                received_at=received_at.isoformat(),
                landed_at=landed.landed_at.isoformat(),
                status=status,
                run_id=self.run_id,
                rows_in=rows_in,
                rows_valid=rows_valid,
                rows_rejected=rows_rejected,
                raw_key=raw_key,
                data_docs=list(result.data_docs) if result else [],
                **details,
            )
        )


def split_rows(table: pa.Table, rejected: frozenset[tuple[Any, ...]]) -> tuple[pa.Table, pa.Table]:
    """(kept, rejected) rows of a typed table, by their (source_sheet, source_row) location."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if not rejected:
        return table, table.slice(0, 0)
    rows_by_sheet: dict[Any, list[Any]] = {}
    for sheet, row in rejected:
        rows_by_sheet.setdefault(sheet, []).append(row)
    sheets, rows = table.column("source_sheet"), table.column("source_row")
    mask = pa.array([False] * table.num_rows, pa.bool_())
    for sheet, sheet_rows in rows_by_sheet.items():
        same_sheet = pc.is_null(sheets) if sheet is None else pc.equal(sheets, sheet)
        in_rows = pc.is_in(rows, value_set=pa.array(sheet_rows, rows.type))
        mask = pc.or_(mask, pc.and_(pc.fill_null(same_sheet, False), in_rows))
    return table.filter(pc.invert(mask)), table.filter(mask)


def copy_rows(
    source: Path, target: Path, rejected: frozenset[tuple[Any, ...]], *, keep: bool
) -> int:
    """Copy the rows of a Parquet file that are not (``keep``) or are in ``rejected``."""
    import pyarrow as pa

    locations = pa.table(
        {
            "source_sheet": pa.array([sheet for sheet, _ in rejected], pa.string()),
            "source_row": pa.array([row for _, row in rejected], pa.int64()),
        }
    )
    con = connect(Path(":memory:"))
    try:
        con.register("rejected_locations", locations)
        wanted = "not exists" if keep else "exists"
        written = con.execute(
            f"""copy (
                select * from read_parquet('{escape_string(source)}') as line
                where {wanted} (
                    select 1 from rejected_locations as bad
                    where bad.source_sheet is not distinct from line.source_sheet
                    and bad.source_row = line.source_row)
            ) to '{escape_string(target)}' (format parquet)"""
        ).fetchone()
        return int(written[0]) if written else 0
    finally:
        con.close()


def unrendered_pages(docs: Mapping[str, datetime]) -> list[str]:
    """Pages whose validation result was kept with its file but which no run has rendered."""
    results = (key for key in docs if key.startswith(layout.DATA_DOCS_RESULTS))
    return sorted(page for page in map(layout.data_docs_page_for, results) if page not in docs)


def index_stale(docs: Mapping[str, datetime]) -> bool:
    """True when pages are newer than the index: a run died, or failed, before rewriting it."""
    pages = [modified for key, modified in docs.items() if key.startswith(layout.DATA_DOCS_PAGES)]
    index = docs.get(layout.DATA_DOCS_INDEX)
    return bool(pages) and (index is None or index < max(pages))


@contextmanager
def fewer_collections() -> Iterator[None]:
    """Python's collector at ``RUN_COLLECTOR_THRESHOLDS`` inside, its own thresholds after."""
    before = gc.get_threshold()
    gc.set_threshold(*RUN_COLLECTOR_THRESHOLDS)
    try:
        yield
    finally:
        gc.set_threshold(*before)
