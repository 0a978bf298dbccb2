"""Build the DuckDB marts from the clean Parquet lake and publish them with an atomic rename.

The build writes a brand-new file beside the published one, runs the SQL models in ``sql/``
(staging and intermediate as temporary views, marts as tables), checks the result, and only then
renames it over ``SENTRA_WAREHOUSE``. A reader holding the old file keeps its snapshot; a crash
or a failed check leaves the published file untouched. Publishing is skipped when the inputs,
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
import re
import secrets
import shutil
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pipelines.feeds.catalog import all_datasets, clean_schema
from pipelines.ingest.freshness import FreshnessReport, check_freshness
from pipelines.lake import layout
from pipelines.lake.ledger import Ledger, utc_now
from pipelines.lake.publications import PublishRecord, published_records, record_publish
from pipelines.marts.scoring import (
    ScoringConfig,
    load_scoring_config,
    register_config_tables,
    register_phase_plan,
    sql_variables,
)
from pipelines.platform.duckdb import connect, quote_identifier, sql_string
from pipelines.reference.regions import load_regions

if TYPE_CHECKING:
    import duckdb

    from pipelines.platform.settings import Settings

log = logging.getLogger(__name__)

LAYERS = ("staging", "intermediate", "marts")

# The published file's storage format, chosen deliberately: 'v1.0.0' (format 64) is what DuckDB
# 1.0 to 1.5 write by default and every DuckDB since 0.10 reads, including the 1.x versions the
# BI drivers embed (Metabase, DBeaver, duckdb_engine). Newer formats would lock those readers
# out, and a future writer (2.x defaults to a format 1.x cannot read) must not change it
# silently. Verified with an older duckdb in tests/test_bi.py; see docs/marts.md.
STORAGE_VERSION = "v1.0.0"
DOCUMENTATION_FILE = "schema.yml"  # in <sql>/marts/: a description of every table and column
DOCUMENTED_SCHEMAS = ("marts", "meta")
PARQUET_DIR = "parquet"  # beside the DuckDB file: one <table>.parquet per mart


# Staging models only rename and cast: views. Intermediate models are read by several marts
# (the marketplace order lines by three), so each is computed once into a temporary table,
# which DuckDB spills to disk when large and which never reaches the published file.
MATERIALISATION = {"staging": "temp view ", "intermediate": "temp table ", "marts": "table marts."}


class MartsCheckError(RuntimeError):
    """The freshly built marts failed a publish check; nothing was published."""


@dataclass(frozen=True)
class BuildResult:
    published: bool
    record: PublishRecord
    warehouse: Path
    message: str


@dataclass(frozen=True)
class Model:
    layer: str
    name: str
    sql: str


def build_and_publish(settings: Settings, run_id: str, force: bool = False) -> BuildResult:
    inputs = clean_inputs(settings)
    models = load_models(settings.sql_dir)
    scoring = load_scoring_config(settings.scoring_config)
    variables = build_variables(settings, scoring.config)
    fingerprint = build_fingerprint(inputs, models, {**variables, "config": scoring.sha256})
    fingerprint = extend_fingerprint(fingerprint, settings.sql_dir)
    previous = published_records(settings.lake_store)
    if (
        not force
        and previous
        and previous[-1].fingerprint == fingerprint
        and settings.warehouse.exists()
        and parquet_exports_current(settings, previous[-1])
    ):
        return BuildResult(
            False,
            previous[-1],
            settings.warehouse,
            f"marts already current (version {previous[-1].version}); nothing to do",
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
    settings.warehouse.parent.mkdir(parents=True, exist_ok=True)
    building = settings.warehouse.with_name(
        f".{settings.warehouse.name}.building-{secrets.token_hex(4)}"
    )
    staging = building.with_name(f"{building.name}.parquet")
    try:
        row_counts = build_database(
            building, settings, inputs, models, variables, [*previous, record], scoring.config
        )
        record = PublishRecord(**{**asdict(record), "row_counts": row_counts})
        export_parquet(building, staging, record)
        os.replace(building, settings.warehouse)
        publish_parquet(staging, parquet_dir(settings))
    finally:
        building.unlink(missing_ok=True)
        building.with_name(building.name + ".wal").unlink(missing_ok=True)
        shutil.rmtree(staging, ignore_errors=True)
    record_publish(settings.lake_store, record)
    log.info("published marts version %s to %s", record.version, settings.warehouse)
    return BuildResult(
        True, record, settings.warehouse, f"published marts version {record.version}"
    )


def clean_inputs(settings: Settings) -> dict[str, list[str]]:
    """Clean Parquet keys per dataset, for files the ledger says are ingested (the commit point).

    A clean file without an ``ingested`` record is a leftover of a crashed ingest; ignore it.
    """
    ingested = {
        sha
        for sha, entry in Ledger(settings.lake_store).latest_entries().items()
        if entry.status == "ingested"
    }
    return {
        dataset: [
            obj.key
            for obj in settings.lake_store.list(layout.clean_prefix(dataset))
            if layout.sha256_from_clean_key(obj.key) in ingested
        ]
        for dataset in all_datasets()
    }


def load_models(sql_dir: Path) -> list[Model]:
    """The SQL models in dependency order: by layer, then so each follows what it reads."""
    ordered: list[Model] = []
    for layer in LAYERS:
        pending = {
            path.stem: Model(layer, path.stem, path.read_text(encoding="utf-8"))
            for path in sorted((sql_dir / layer).glob("*.sql"))
        }
        while pending:
            ready = [
                model
                for model in pending.values()
                if not any(
                    re.search(rf"\b{other}\b", model.sql)
                    for other in pending
                    if other != model.name
                )
            ]
            if not ready:
                raise ValueError(
                    f"circular references between SQL models in {sql_dir / layer}: "
                    f"{', '.join(sorted(pending))}"
                )
            for model in ready:
                ordered.append(model)
                del pending[model.name]
    return ordered


def build_variables(settings: Settings, config: ScoringConfig) -> dict[str, Any]:
    return {"as_of": settings.reference_date(), **sql_variables(config)}


def build_fingerprint(
    inputs: dict[str, list[str]], models: list[Model], variables: dict[str, Any]
) -> str:
    digest = hashlib.sha256()
    payload = {
        "inputs": inputs,
        "models": [(m.layer, m.name, m.sql) for m in models],
        "variables": {key: str(value) for key, value in variables.items()},
    }
    digest.update(json.dumps(payload, sort_keys=True).encode())
    return digest.hexdigest()


def build_database(
    path: Path,
    settings: Settings,
    inputs: dict[str, list[str]],
    models: list[Model],
    variables: dict[str, Any],
    publish_log: list[PublishRecord],
    config: ScoringConfig,
) -> dict[str, int]:
    con = connect(path, storage_version=STORAGE_VERSION)
    try:
        register_sources(con, settings, inputs)
        register_config_tables(con, config)
        for name, value in variables.items():
            con.execute(f"set variable {name} = ?", [value])
        con.execute("create schema marts; create schema meta; set search_path = 'marts,main'")
        phases_planned = False
        for model in models:
            if model.layer == "marts" and not phases_planned:
                # Phasing is an allocation, not a query: it runs between the intermediate
                # models that rank sentra and the marts that publish the plan.
                register_phase_plan(con, config)
                phases_planned = True
            log.info("building %s.%s", model.layer, model.name)
            con.execute(f"create {MATERIALISATION[model.layer]}{model.name} as {model.sql}")
        write_publish_log(con, publish_log)
        published_at = datetime.fromisoformat(publish_log[-1].published_at)
        write_data_freshness(con, check_freshness(settings, now=published_at))
        row_counts = check_marts(con)
        document_tables(con, settings.sql_dir)
        con.execute("checkpoint")
        return row_counts
    finally:
        con.close()


def register_sources(
    con: duckdb.DuckDBPyConnection, settings: Settings, inputs: dict[str, list[str]]
) -> None:
    import pyarrow as pa

    for dataset, keys in inputs.items():
        source = (
            settings.lake_store.arrow_dataset(keys) if keys else clean_schema(dataset).empty_table()
        )
        con.register(f"src_{dataset}", source)
    regions = load_regions()
    con.register(
        "src_reference_provinces",
        pa.Table.from_pylist(
            [
                asdict(province) | {"province_code": province.code}
                for province in regions.provinces.values()
            ]
        ),
    )
    con.register(
        "src_reference_regencies",
        pa.Table.from_pylist([asdict(regency) for regency in regions.regencies.values()]),
    )


def write_publish_log(con: duckdb.DuckDBPyConnection, records: list[PublishRecord]) -> None:
    # No primary key: DuckDB 1.0 cannot open a file holding an index written by 1.5, whatever
    # the storage version (tests/test_bi.py). Versions are unique by construction anyway.
    con.execute("""
        create table meta.publish_log (
            version varchar, published_at timestamptz, fingerprint varchar,
            run_id varchar, input_sha256s varchar[], scoring_config_sha256 varchar)""")
    con.executemany(
        "insert into meta.publish_log values (?, ?, ?, ?, ?, ?)",
        [
            [
                r.version,
                r.published_at,
                r.fingerprint,
                r.run_id,
                r.input_sha256s,
                r.scoring_config_sha256,
            ]
            for r in records
        ],
    )


def check_marts(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """Publish checks: a mart that breaks them must never replace the serving file."""
    duplicates = con.execute(
        "select count(*) - count(distinct sentra_id) from marts.dim_sentra"
    ).fetchone()
    if duplicates and duplicates[0]:
        raise MartsCheckError(f"marts.dim_sentra has {duplicates[0]} duplicate sentra_id values")
    scored, sentra = (
        con.execute(f"select count(*) from marts.{name}").fetchone()
        for name in ("sentra_revitalisation_score", "dim_sentra")
    )
    if scored != sentra:
        raise MartsCheckError(
            f"marts.sentra_revitalisation_score has {scored} rows but dim_sentra has {sentra}"
        )
    counts = {}
    for table in mart_tables(con):
        row = con.execute(f"select count(*) from marts.{table}").fetchone()
        counts[table] = int(row[0]) if row else 0
    return counts


def mart_tables(con: duckdb.DuckDBPyConnection) -> list[str]:
    rows = con.execute(
        "select table_name from duckdb_tables() "
        "where database_name = current_database() and schema_name = 'marts' order by 1"
    ).fetchall()
    return [str(table) for (table,) in rows]


def extend_fingerprint(fingerprint: str, sql_dir: Path) -> str:
    """The build fingerprint, also covering what shapes the file besides inputs and models.

    A changed column description or storage version must republish, as a changed model does.
    """
    docs = documentation_file(sql_dir)
    digest = hashlib.sha256(fingerprint.encode())
    digest.update(STORAGE_VERSION.encode())
    digest.update(docs.read_bytes() if docs.exists() else b"")
    return digest.hexdigest()


# --- Column descriptions (sql/marts/schema.yml) ---------------------------------------------


@dataclass(frozen=True)
class TableDoc:
    schema: str
    name: str
    description: str
    columns: dict[str, str]

    @property
    def qualified_name(self) -> str:
        return f"{self.schema}.{self.name}"


def documentation_file(sql_dir: Path) -> Path:
    return sql_dir / "marts" / DOCUMENTATION_FILE


def load_table_docs(sql_dir: Path) -> dict[str, TableDoc]:
    """The descriptions of ``schema.yml`` by qualified table name, structure checked."""
    import yaml

    path = documentation_file(sql_dir)
    try:
        # The C loader when PyYAML has it: the pure-Python one takes ~0.4 s for this file.
        loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
        parsed = yaml.load(path.read_text(encoding="utf-8"), Loader=loader)
    except FileNotFoundError:
        raise MartsCheckError(
            f"{path} is missing: every published table and column needs a description there"
        ) from None
    except yaml.YAMLError as error:
        raise MartsCheckError(f"{path} is not valid YAML: {error}") from None
    models = parsed.get("models") if isinstance(parsed, dict) else None
    if not isinstance(models, list):
        raise MartsCheckError(f"{path}: expected a top-level 'models:' list of tables")
    docs: dict[str, TableDoc] = {}
    for number, entry in enumerate(models, 1):
        doc = table_doc(entry, f"{path}, models entry {number}")
        if doc.qualified_name in docs:
            raise MartsCheckError(f"{path}: {doc.qualified_name} is described twice")
        docs[doc.qualified_name] = doc
    return docs


def table_doc(entry: object, where: str) -> TableDoc:
    if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
        raise MartsCheckError(f"{where}: expected a mapping with 'name' and 'description'")
    config = entry.get("config") or {}
    schema = config.get("schema", "marts") if isinstance(config, dict) else None
    if schema not in DOCUMENTED_SCHEMAS:
        raise MartsCheckError(
            f"{where} ({entry['name']}): config.schema must be one of {DOCUMENTED_SCHEMAS}"
        )
    columns: dict[str, str] = {}
    for column in entry.get("columns") or []:
        if not isinstance(column, dict) or not isinstance(column.get("name"), str):
            raise MartsCheckError(f"{where} ({entry['name']}): each column needs a 'name'")
        if column["name"] in columns:
            raise MartsCheckError(f"{where}: column {column['name']} is described twice")
        columns[column["name"]] = description_text(column.get("description"))
    return TableDoc(schema, entry["name"], description_text(entry.get("description")), columns)


def description_text(value: object) -> str:
    return " ".join(value.split()) if isinstance(value, str) else ""


def built_columns(con: duckdb.DuckDBPyConnection) -> dict[str, list[str]]:
    """Columns of every table in the documented schemas, in table order."""
    rows = con.execute(
        """
        select c.schema_name || '.' || c.table_name, list(c.column_name order by c.column_index)
        from duckdb_columns() as c
        inner join duckdb_tables() as t using (database_name, schema_name, table_name)
        where c.database_name = current_database() and c.schema_name in ('marts', 'meta')
        group by all
        order by 1"""
    ).fetchall()
    return {str(table): list(columns) for table, columns in rows}


def documentation_problems(built: dict[str, list[str]], docs: dict[str, TableDoc]) -> list[str]:
    problems: list[str] = []
    for table, columns in built.items():
        doc = docs.get(table)
        if doc is None or not doc.description:
            problems.append(f"table {table} has no description")
        described = doc.columns if doc else {}
        problems += [
            f"column {table}.{column} has no description"
            for column in columns
            if not described.get(column)
        ]
        problems += [
            f"column {table}.{column} is described but {table} has no such column"
            for column in described
            if column not in columns
        ]
    return problems


def document_tables(con: duckdb.DuckDBPyConnection, sql_dir: Path) -> None:
    """Check that every table and column is described, then write the descriptions as comments.

    Raises MartsCheckError listing every gap at once, so one edit of schema.yml fixes them all.
    """
    docs = load_table_docs(sql_dir)
    built = built_columns(con)
    problems = documentation_problems(built, docs)
    if problems:
        raise MartsCheckError(
            f"{documentation_file(sql_dir)} must describe every published table and column "
            f"({len(problems)} problems; nothing was published):\n  - " + "\n  - ".join(problems)
        )
    for name in sorted(set(docs) - set(built)):
        # Not an error: a model may be documented in the same change that adds it, ahead of it.
        log.warning(
            "%s describes %s, which this build did not create", documentation_file(sql_dir), name
        )
    # One transaction: committing each COMMENT on its own costs ~4 ms apiece.
    con.execute("begin transaction")
    for table in built:
        doc = docs[table]
        target = ".".join(quote_identifier(part) for part in (doc.schema, doc.name))
        con.execute(f"comment on table {target} is {sql_string(doc.description)}")
        for column, text in doc.columns.items():
            con.execute(
                f"comment on column {target}.{quote_identifier(column)} is {sql_string(text)}"
            )
    con.execute("commit")


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
        [
            scope.source,
            scope.scope,
            scope.label,
            scope.last_landed_at,
            scope.age_days,
            scope.limit_days,
            scope.overdue,
            report.checked_at,
        ]
        for scope in report.scopes
    ]
    if rows:
        con.execute("begin transaction")
        con.executemany("insert into meta.data_freshness values (?, ?, ?, ?, ?, ?, ?, ?)", rows)
        con.execute("commit")


# --- Parquet exports beside the DuckDB file ---------------------------------------------------


def parquet_dir(settings: Settings) -> Path:
    """Where each mart is exported as ``<table>.parquet``, beside the published DuckDB file."""
    return settings.warehouse.parent / PARQUET_DIR


def export_parquet(database: Path, folder: Path, record: PublishRecord) -> None:
    """Write every mart of the freshly built file as Parquet into a staging folder.

    Each file carries the publish version in its key-value metadata, so a reader (or the next
    build) can tell which version it holds.
    """
    folder.mkdir(parents=True)
    metadata = ", ".join(
        f"{key}: {sql_string(value)}"
        for key, value in (("publish_version", record.version), ("fingerprint", record.fingerprint))
    )
    con = connect(database, read_only=True)
    try:
        for table in mart_tables(con):
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
