"""Build the DuckDB marts from the clean Parquet lake and publish them with an atomic rename.

The build writes a brand-new file beside the published one, runs the models of ``sql/`` into it
(``runner``), describes every table and column (``docs``) and runs the data tests of
``sql/marts/schema.yml`` (``checks``), and only then renames it over ``SENTRA_WAREHOUSE``. A
reader holding the old file keeps its snapshot; a crash or a failed check leaves the published
file untouched. Publishing is skipped when the inputs,
models and settings are exactly those of the last publish.

For BI tools (docs/marts.md): every table and column is described (``sql/marts/schema.yml``,
written as ``COMMENT ON``; a gap fails the publish), the file is written in a storage format
DuckDB 1.0 and later read, and each mart is also exported as Parquet beside the file. Facts
that depend on the clock (publish log, data freshness) live in ``meta.*`` only, so ``marts.*``
is identical for identical inputs and configuration.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import secrets
import shutil
import tempfile
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

from pipelines.feeds.catalog import all_datasets, clean_schema
from pipelines.ingest.freshness import FreshnessReport, check_freshness
from pipelines.lake import layout
from pipelines.lake.ledger import Ledger, utc_now
from pipelines.lake.publications import PublishRecord, published_records, record_publish
from pipelines.marts.checks import run_data_tests
from pipelines.marts.docs import document_tables
from pipelines.marts.incremental import (
    CARRIED_DATASET,
    StatePlan,
    attach_state,
    discard_state,
    inputs_digest,
    keep_state,
    kept_models,
    model_version,
    one_build_at_a_time,
    plan_state,
    published_as,
    state_path,
    write_state,
)
from pipelines.marts.release import (
    CURRENT,
    current_version,
    fetch_state,
    release,
    release_state,
)
from pipelines.marts.runner import Macro, Model, PythonModel, load_macros, load_models, run_models
from pipelines.marts.schema import built_tables, load_table_specs, schema_file
from pipelines.marts.scoring import (
    PHASE_PLAN_COLUMNS,
    ScoringConfig,
    load_scoring_config,
    phase_plan,
    register_config_tables,
    sql_variables,
)
from pipelines.platform.duckdb import (
    connect,
    quote_identifier,
    rows_query,
    sql_literal,
    sql_rows,
    sql_string,
)
from pipelines.reference.regions import load_regions

if TYPE_CHECKING:
    import duckdb

    from pipelines.platform.settings import Settings
    from pipelines.platform.storage import Storage

log = logging.getLogger(__name__)

# The published file's storage format, chosen deliberately: 'v1.0.0' (format 64) is what DuckDB
# 1.0 to 1.5 write by default and every DuckDB since 0.10 reads, including the 1.x versions the
# BI drivers embed (Metabase, DBeaver, duckdb_engine). Newer formats would lock those readers
# out, and a future writer (2.x defaults to a format 1.x cannot read) must not change it
# silently. Verified with an older duckdb in tests/marts/test_bi.py; see docs/marts.md.
STORAGE_VERSION = "v1.0.0"
PARQUET_DIR = "parquet"  # beside the DuckDB file: one <table>.parquet per mart


@dataclass(frozen=True)
class BuildResult:
    published: bool
    record: PublishRecord
    warehouse: Path
    """The DuckDB file on this machine (the published one, or the S3 warehouse's working copy)."""
    message: str
    location: str
    """Where readers find the marts: the local file, or the S3 warehouse's ``current.json``."""


def build_and_publish(settings: Settings, run_id: str, force: bool = False) -> BuildResult:
    """Build the marts (incrementally when the carried state allows it) and publish them."""
    settings.warehouse_path.parent.mkdir(parents=True, exist_ok=True)
    with one_build_at_a_time(settings.warehouse_path):
        return build_and_publish_alone(settings, run_id, force)


def build_and_publish_alone(settings: Settings, run_id: str, force: bool) -> BuildResult:
    inputs, ledger_records = clean_inputs(settings)
    scoring = load_scoring_config(settings.scoring_config)
    models = load_models(
        settings.sql_dir,
        python_models(scoring.config),
        models_reads_path(settings.warehouse_path),
    )
    macros = load_macros(settings.sql_dir)
    variables = build_variables(settings, scoring.config)
    settings_fingerprint = {**variables, "config": scoring.sha256}
    fingerprint = build_fingerprint(inputs, models, macros, settings_fingerprint)
    fingerprint = extend_fingerprint(fingerprint, settings.sql_dir)
    previous = published_records(settings.lake_store)
    if (
        not force
        and previous
        and previous[-1].fingerprint == fingerprint
        and published_intact(settings, previous[-1])
    ):
        return BuildResult(
            False,
            previous[-1],
            settings.warehouse_path,
            f"marts already current (version {previous[-1].version}); nothing to do",
            readers_location(settings),
        )
    now = utc_now()
    record = PublishRecord(
        version=f"{now.strftime('%Y%m%dT%H%M%S.%f')[:-3]}Z-{fingerprint[:8]}",
        published_at=now.isoformat(),
        fingerprint=fingerprint,
        run_id=run_id,
        input_sha256s=sorted(
            {layout.sha256_from_clean_key(key) for keys in inputs.values() for key in keys}
        ),
        scoring_config_sha256=scoring.sha256,
    )
    version = model_version(
        extend_fingerprint(
            build_fingerprint({}, models, macros, settings_fingerprint), settings.sql_dir
        ),
        settings.sql_dir,
    )
    carried_now = {key: ledger_records[key] for key in inputs[CARRIED_DATASET]}
    kept = {
        name: inputs_digest(datasets, inputs, ledger_records)
        for name, datasets in kept_models(models, inputs.keys()).items()
    }
    if settings.warehouse_on_s3 and previous and not force:
        released_state(settings, previous[-1].version)
    state = plan_state(
        settings.warehouse_path,
        version,
        carried_now,
        previous[-1].version if previous else None,
        force,
    )
    building = settings.warehouse_path.with_name(
        f".{settings.warehouse_path.name}.building-{secrets.token_hex(4)}"
    )
    staging = building.with_name(f"{building.name}.parquet")
    job = BuildJob(
        settings,
        {**inputs, CARRIED_DATASET: state.new_inputs(carried_now)},
        models,
        macros,
        variables,
        [*previous, record],
        scoring.config,
        state,
        version,
        carried_now,
        kept,
    )
    try:
        row_counts = build_database(building, job)
        record = PublishRecord(**{**asdict(record), "row_counts": row_counts})
        export_parquet(building, staging, record, settings)
        if settings.warehouse_on_s3:
            keep = settings.warehouse_versions_kept
            release(settings.warehouse_store, building, staging, record, keep)
        os.replace(building, settings.warehouse_path)
        publish_parquet(staging, parquet_dir(settings))
        keep_state(state, settings.warehouse_path)
        if settings.warehouse_on_s3:
            # Before the publish record: a crash here is rebuilt by the next build.
            release_state(
                settings.warehouse_store, record.version, state_path(settings.warehouse_path)
            )
    finally:
        building.unlink(missing_ok=True)
        building.with_name(building.name + ".wal").unlink(missing_ok=True)
        shutil.rmtree(staging, ignore_errors=True)
        discard_state(state)
    record_publish(settings.lake_store, record)
    location = readers_location(settings)
    log.info("published marts version %s to %s (%s)", record.version, location, state.reason)
    return BuildResult(
        True,
        record,
        settings.warehouse_path,
        f"published marts version {record.version}",
        location,
    )


def models_reads_path(warehouse: Path) -> Path:
    """Where builds remember what each SQL model reads (``runner.ReadsCache``): hidden beside
    the warehouse, like the carried state."""
    return warehouse.with_name(f".{warehouse.name}.reads.json")


def released_state(settings: Settings, version: str) -> None:
    """With an S3 warehouse, the state released with ``version`` (the published one) when this
    worker's own state is not that version's: another worker built it, or a publish failed."""
    local = state_path(settings.warehouse_path)
    if published_as(local) != version:
        local.with_name(f"{local.name}.wal").unlink(missing_ok=True)  # belongs to the old file
        fetch_state(settings.warehouse_store, version, local)


def readers_location(settings: Settings) -> str:
    if settings.warehouse_on_s3:
        return settings.warehouse_store.uri_for(CURRENT)
    return str(settings.warehouse_path.resolve())


def published_intact(settings: Settings, record: PublishRecord) -> bool:
    """True when readers find exactly ``record``'s version where the settings publish it."""
    if settings.warehouse_on_s3:
        current = current_version(settings.warehouse_store)
        return current is not None and current.version == record.version
    return settings.warehouse_path.exists() and parquet_exports_current(settings, record)


def clean_inputs(settings: Settings) -> tuple[dict[str, list[str]], dict[str, str]]:
    """Clean Parquet keys per dataset, for files the ledger says are ingested (the commit point),
    and the key of the ledger record that ingested each (a replay writes a new one).

    A clean file without an ``ingested`` record is a leftover of a crashed ingest; ignore it.
    """
    ingested = {
        sha: entry.key
        for sha, entry in Ledger(settings.lake_store).latest_entries().items()
        if entry.status == "ingested"
    }
    inputs = {
        dataset: [
            obj.key
            for obj in settings.lake_store.list(layout.clean_prefix(dataset))
            if layout.sha256_from_clean_key(obj.key) in ingested
        ]
        for dataset in all_datasets()
    }
    records = {
        key: ingested[layout.sha256_from_clean_key(key)] for keys in inputs.values() for key in keys
    }
    return inputs, records


def python_models(config: ScoringConfig) -> list[PythonModel]:
    """The models computed in Python, each with its inputs and its output table by name.

    Phasing is an allocation, not a query: it reads the ranked sentra and its table is joined by
    the score mart, so the runner places it between them like any model.
    """
    return [
        PythonModel(
            layer="intermediate",
            name="int_sentra_phase_plan",
            inputs=("int_sentra_scored",),
            columns=PHASE_PLAN_COLUMNS,
            run=lambda inputs: phase_plan(inputs["int_sentra_scored"], config.phasing),
        )
    ]


def build_variables(settings: Settings, config: ScoringConfig) -> dict[str, Any]:
    return {"as_of": settings.reference_date(), **sql_variables(config)}


def build_fingerprint(
    inputs: dict[str, list[str]],
    models: list[Model],
    macros: list[Macro],
    variables: dict[str, Any],
) -> str:
    digest = hashlib.sha256()
    payload = {
        "inputs": inputs,
        "models": [(m.layer, m.name, m.definition) for m in models],
        "macros": [(m.name, m.sql) for m in macros],
        "variables": {key: str(value) for key, value in variables.items()},
    }
    digest.update(json.dumps(payload, sort_keys=True).encode())
    return digest.hexdigest()


@dataclass(frozen=True)
class BuildJob:
    """Everything one build reads: the clean inputs to scan (for the carried dataset, only the
    files the state does not hold yet; the ones it holds are read where their carried lines
    are needed), the models and their settings, and the state."""

    settings: Settings
    inputs: dict[str, list[str]]
    models: list[Model]
    macros: list[Macro]
    variables: dict[str, Any]
    publish_log: list[PublishRecord]
    config: ScoringConfig
    state: StatePlan
    model_version: str
    carried_inputs: dict[str, str]
    """The carried dataset's files (clean key and ledger record) the state holds after the build."""
    kept_models: dict[str, str]
    """The models whose rows the state keeps, with the digest of this build's inputs to each."""


def build_database(path: Path, job: BuildJob) -> dict[str, int]:
    with spill_folder(job.settings) as spill:
        return build_database_spilling(path, job, Path(spill))


def build_database_spilling(path: Path, job: BuildJob, spill: Path) -> dict[str, int]:
    settings = job.settings
    con = connect(path, storage_version=STORAGE_VERSION)
    try:
        bound_resources(con, settings, spill)
        carried = sorted(job.state.carried)
        keys = [key for listed in job.inputs.values() for key in listed] + carried
        paths = local_copies(settings.lake_store, keys, inputs_cache_path(settings.warehouse_path))
        register_sources(con, job, paths, spill)
        new_schemas = clean_schemas(con, {key: paths[key] for key in job.inputs[CARRIED_DATASET]})
        register_config_tables(con, job.config)
        for name, value in job.variables.items():
            con.execute(f"set variable {name} = {sql_literal(value)}")
        con.execute("create schema marts; create schema meta; set search_path = 'marts,main'")
        attach_state(con, job.state, settings.sql_dir)
        run_models(con, job.models, job.macros, job.state.reusable(job.kept_models))
        log.info("describing and checking the marts")
        write_publish_log(con, job.publish_log)
        published_at = datetime.fromisoformat(job.publish_log[-1].published_at)
        write_data_freshness(con, check_freshness(settings, now=published_at))
        built = built_tables(con)
        specs = load_table_specs(settings.sql_dir)
        document_tables(con, built, specs, settings.sql_dir)
        run_data_tests(con, built, specs, settings.sql_dir)
        row_counts = {table: mart_rows(con, table) for table in mart_names(built)}
        log.info("writing what the next build carries forward")
        write_state(
            con,
            settings.sql_dir,
            job.model_version,
            job.publish_log[-1].version,
            job.carried_inputs,
            job.kept_models,
            new_schemas,
        )
        con.execute("checkpoint")
        return row_counts
    finally:
        con.close()


def spill_folder(settings: Settings) -> tempfile.TemporaryDirectory[str]:
    """A folder of its own under SENTRA_DUCKDB_TEMP_DIRECTORY for one connection's spill."""
    settings.duckdb_temp_directory.mkdir(parents=True, exist_ok=True)
    return tempfile.TemporaryDirectory(prefix="build-", dir=settings.duckdb_temp_directory)


def bound_resources(con: duckdb.DuckDBPyConnection, settings: Settings, spill: Path) -> None:
    """Hold the build to the configured memory, spilling beyond it, on the configured threads.

    DuckDB's own default is 80% of the machine's memory: a build at national scale then peaks
    far above what it needs, on a host that also serves BI tools (docs/marts.md). ``spill`` is
    this connection's own folder: DuckDB names its spill files alike in every process.
    """
    con.execute(f"set memory_limit = {sql_string(settings.duckdb_memory_limit)}")
    con.execute(f"set temp_directory = {sql_string(spill)}")
    # The carried exports' ~600 clean files are bound by several views and queries: read each
    # footer once, not once per binding.
    con.execute("set parquet_metadata_cache = true")
    if settings.duckdb_threads is not None:
        con.execute(f"set threads = {int(settings.duckdb_threads)}")


def register_sources(
    con: duckdb.DuckDBPyConnection, job: BuildJob, paths: dict[str, Path], spill: Path
) -> None:
    """A ``src_<dataset>`` view per dataset over its clean files (``paths``, by key): the
    inputs to read and, for the carried dataset, the exports the state holds, where
    ``carried_export`` is true."""
    for dataset, new_keys in job.inputs.items():
        parts = [SourceScan(False, True, [paths[key] for key in new_keys])] if new_keys else []
        if dataset == CARRIED_DATASET:
            parts += carried_scans(job.state, paths)
        parts = parts or [SourceScan(False, True, [empty_clean_file(dataset, spill)])]
        scans = " union all by name ".join(part.sql() for part in parts)
        con.execute(f"create temp view src_{dataset} as {scans}")
    register_reference_tables(con)


@dataclass(frozen=True)
class SourceScan:
    """One ``read_parquet`` of clean files in a source view."""

    carried: bool
    by_name: bool
    """Match the files' columns by name (a column a file lacks reads as NULL). Reading every
    file's schema to do so costs ~0.03 s each time a query binds ~600 files."""
    files: list[Path]

    def sql(self) -> str:
        # DuckDB's own Parquet reader: parallel, and within the memory limit (an Arrow
        # dataset's read-ahead is not).
        return (
            f"select *, {str(self.carried).lower()} as carried_export from read_parquet("
            f"{path_list(self.files)}, union_by_name = {str(self.by_name).lower()})"
        )


def carried_scans(state: StatePlan, paths: dict[str, Path]) -> list[SourceScan]:
    """The carried exports' files, one scan per set of files with the same columns; files
    whose columns the state does not record are matched by name."""
    alike: dict[str | None, list[Path]] = {}
    for key in sorted(state.carried):
        alike.setdefault(state.carried_schemas.get(key), []).append(paths[key])
    return [SourceScan(True, schema is None, files) for schema, files in alike.items()]


def clean_schemas(con: duckdb.DuckDBPyConnection, paths: dict[str, Path]) -> dict[str, str]:
    """Clean key -> a digest of its file's column names and types (DuckDB's reading of them)."""
    if not paths:
        return {}
    rows = con.execute(f"""
        select file_name, sha256(string_agg(name || ' ' || duckdb_type, ', ' order by name))
        from parquet_schema({path_list(list(paths.values()))})
        where duckdb_type is not null
        group by file_name""").fetchall()
    digests = dict(rows)
    return {key: digests[str(path)] for key, path in paths.items()}


def path_list(paths: list[Path]) -> str:
    return "[" + ", ".join(sql_string(str(path)) for path in paths) + "]"


def register_reference_tables(con: duckdb.DuckDBPyConnection) -> None:
    regions = load_regions()
    reference = {
        "src_reference_provinces": [
            asdict(province) | {"province_code": province.code}
            for province in regions.provinces.values()
        ],
        "src_reference_regencies": [asdict(regency) for regency in regions.regencies.values()],
    }
    for name, rows in reference.items():
        columns = dict.fromkeys(rows[0], "varchar")  # every field of a region is text
        rows_sql = rows_query(columns, [tuple(row.values()) for row in rows])
        con.execute(f"create temp table {name} as {rows_sql}")


def empty_clean_file(dataset: str, folder: Path) -> Path:
    """A Parquet file of ``dataset``'s clean schema and no rows, for a dataset with no input: a
    registered empty Arrow table would do, but registering any Arrow object imports pandas."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = folder / f"empty-{dataset}.parquet"
    pq.write_table(pa.Table.from_batches([], schema=clean_schema(dataset)), path)
    return path


def inputs_cache_path(warehouse: Path) -> Path:
    """Where builds on this host keep local copies of an S3 lake's clean files: hidden beside
    the warehouse, like the carried state, whose carried exports are read from there."""
    return warehouse.with_name(f".{warehouse.name}.inputs")


def local_copies(lake: Storage, keys: list[str], cache: Path) -> dict[str, Path]:
    """Each clean file as a local path: the lake's own when it is a folder; otherwise a copy in
    ``cache``, downloaded only when it is not there yet.

    Clean files never change (their key names the sha256 of the file they came from), so a
    copy stays valid; copies of files no build reads any more, and unfinished downloads, are
    removed. DuckDB reads local Parquet itself. An S3 lake read through an Arrow dataset
    instead let DuckDB 1.5 push a join's bloom filter into the Arrow scan, which the Python
    client does not implement ("Pushdown Filter Type BLOOM_FILTER is not currently supported
    in PyArrow Scans"): every incremental build on the national lake failed (docs/marts.md).
    """
    if lake.is_local:
        return {key: Path(lake.uri_for(key)) for key in keys}
    paths = {key: cache.joinpath(*PurePosixPath(key).parts) for key in keys}
    missing = [(key, path) for key, path in paths.items() if not path.exists()]
    log.info(
        "downloading %d clean files from %s (%d already in %s)",
        len(missing),
        lake.uri,
        len(paths) - len(missing),
        cache,
    )
    lake.download_many(missing)
    kept = set(paths.values())
    for path in cache.rglob("*"):
        # Also what a build killed mid-download left behind (dot-named .tmp files).
        if path.is_file() and path not in kept:
            path.unlink()
    return paths


def write_publish_log(con: duckdb.DuckDBPyConnection, records: list[PublishRecord]) -> None:
    # No primary key: DuckDB 1.0 cannot open a file holding an index written by 1.5, whatever
    # the storage version (tests/marts/test_bi.py). Versions are unique by construction anyway.
    con.execute("""
        create table meta.publish_log (
            version varchar, published_at timestamptz, fingerprint varchar,
            run_id varchar, input_sha256s varchar[], scoring_config_sha256 varchar)""")
    rows = [
        (
            r.version,
            r.published_at,
            r.fingerprint,
            r.run_id,
            r.input_sha256s,
            r.scoring_config_sha256,
        )
        for r in records
    ]
    if rows:
        con.execute(f"insert into meta.publish_log values {sql_rows(rows)}")


def mart_names(built: dict[str, list[str]]) -> list[str]:
    """The marts among the built tables (``built_tables``), without their schema."""
    return [table.removeprefix("marts.") for table in built if table.startswith("marts.")]


def mart_rows(con: duckdb.DuckDBPyConnection, table: str) -> int:
    row = con.execute(f"select count(*) from marts.{quote_identifier(table)}").fetchone()
    return int(row[0]) if row else 0


def extend_fingerprint(fingerprint: str, sql_dir: Path) -> str:
    """The build fingerprint, also covering what shapes the file besides inputs and models.

    A changed column description or storage version must republish, as a changed model does.
    """
    docs = schema_file(sql_dir)
    digest = hashlib.sha256(fingerprint.encode())
    digest.update(STORAGE_VERSION.encode())
    digest.update(docs.read_bytes() if docs.exists() else b"")
    return digest.hexdigest()


# --- meta.data_freshness ---------------------------------------------------------------------


def write_data_freshness(con: duckdb.DuckDBPyConnection, report: FreshnessReport) -> None:
    """How recent each source was at build time. It depends on the clock, so it lives in meta.*
    (like publish_log) and stays out of the fingerprint: marts.* remain byte-identical for the
    same inputs and configuration."""
    con.execute("""
        create table meta.data_freshness (
            source varchar, scope varchar, scope_label varchar, last_landed_at timestamptz,
            age_days double, freshness_limit_days integer, overdue boolean,
            checked_at timestamptz)""")
    rows = [
        (
            scope.source,
            scope.scope,
            scope.label,
            scope.last_landed_at,
            scope.age_days,
            scope.limit_days,
            scope.overdue,
            report.checked_at,
        )
        for scope in report.scopes
    ]
    if rows:
        con.execute(f"insert into meta.data_freshness values {sql_rows(rows)}")


# --- Parquet exports beside the DuckDB file ---------------------------------------------------


def parquet_dir(settings: Settings) -> Path:
    """Where each mart is exported as ``<table>.parquet``, beside the published DuckDB file."""
    return settings.warehouse_path.parent / PARQUET_DIR


def export_parquet(database: Path, folder: Path, record: PublishRecord, settings: Settings) -> None:
    """Write every mart of the freshly built file as Parquet into a staging folder.

    Each file carries the publish version in its key-value metadata, so a reader (or the next
    build) can tell which version it holds.
    """
    folder.mkdir(parents=True)
    metadata = ", ".join(
        f"{key}: {sql_string(value)}"
        for key, value in (("publish_version", record.version), ("fingerprint", record.fingerprint))
    )
    with spill_folder(settings) as spill:
        con = connect(database, read_only=True)
        try:
            bound_resources(con, settings, Path(spill))
            for table in mart_names(built_tables(con)):
                target = sql_string(str(folder / f"{table}.parquet"))
                con.execute(
                    f"copy marts.{quote_identifier(table)} to {target} "
                    f"(format parquet, kv_metadata {{{metadata}}})"
                )
        finally:
            con.close()


def publish_parquet(staged: Path, folder: Path) -> None:
    """Rename each staged export over its published name (atomic per file); drop the exports of
    marts that no longer exist. Called only after the DuckDB file itself was published."""
    folder.mkdir(parents=True, exist_ok=True)
    published = set()
    for path in sorted(staged.glob("*.parquet")):
        os.replace(path, folder / path.name)
        published.add(path.name)
    for path in folder.glob("*.parquet"):
        if path.name not in published:
            path.unlink(missing_ok=True)


def parquet_exports_current(settings: Settings, record: PublishRecord) -> bool:
    """True when every mart of ``record`` has its export, from that very version."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    folder = parquet_dir(settings)
    for table in record.row_counts:
        try:
            metadata = pq.read_metadata(folder / f"{table}.parquet").metadata or {}
        except (FileNotFoundError, pa.ArrowInvalid):
            return False
        if metadata.get(b"publish_version") != record.version.encode():
            return False
    return True
