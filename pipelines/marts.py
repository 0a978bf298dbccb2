"""Build the DuckDB marts from the clean Parquet lake and publish them with an atomic rename.

The build writes a brand-new file beside the published one, runs the SQL models in ``sql/``
(staging and intermediate as temporary views, marts as tables), checks the result, and only then
renames it over ``SENTRA_WAREHOUSE``. A reader holding the old file keeps its snapshot; a crash
or a failed check leaves the published file untouched. Publishing is skipped when the inputs,
models and settings are exactly those of the last publish.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import secrets
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pipelines import lake
from pipelines.feeds import all_datasets, clean_schema
from pipelines.ledger import Ledger, utc_now
from pipelines.regions import load_regions
from pipelines.scoring import (
    ScoringConfig,
    load_scoring_config,
    register_config_tables,
    register_phase_plan,
    sql_variables,
)

if TYPE_CHECKING:
    import duckdb

    from pipelines.settings import Settings

log = logging.getLogger(__name__)

LAYERS = ("staging", "intermediate", "marts")


class MartsCheckError(RuntimeError):
    """The freshly built marts failed a publish check; nothing was published."""


@dataclass(frozen=True)
class PublishRecord:
    version: str
    published_at: str
    fingerprint: str
    run_id: str
    input_sha256s: list[str]
    row_counts: dict[str, int] = field(default_factory=dict)
    scoring_config_sha256: str = ""
    """sha256 of the scoring configuration file the ranking was computed with."""


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
    previous = published_records(settings)
    if (
        not force
        and previous
        and previous[-1].fingerprint == fingerprint
        and settings.warehouse.exists()
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
            {lake.sha256_from_clean_key(key) for keys in inputs.values() for key in keys}
        ),
        scoring_config_sha256=scoring.sha256,
    )
    settings.warehouse.parent.mkdir(parents=True, exist_ok=True)
    building = settings.warehouse.with_name(
        f".{settings.warehouse.name}.building-{secrets.token_hex(4)}"
    )
    try:
        row_counts = build_database(
            building, settings, inputs, models, variables, [*previous, record], scoring.config
        )
        record = PublishRecord(**{**asdict(record), "row_counts": row_counts})
        os.replace(building, settings.warehouse)
    finally:
        building.unlink(missing_ok=True)
        building.with_name(building.name + ".wal").unlink(missing_ok=True)
    settings.lake_store.write_bytes(
        lake.publish_record_key(record.version), json.dumps(asdict(record), indent=1).encode()
    )
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
            for obj in settings.lake_store.list(lake.clean_prefix(dataset))
            if lake.sha256_from_clean_key(obj.key) in ingested
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


def published_records(settings: Settings) -> list[PublishRecord]:
    store = settings.lake_store
    known = set(PublishRecord.__dataclass_fields__)
    records = [
        # Records written before a field existed lack it; the defaults apply.
        PublishRecord(
            **{k: v for k, v in json.loads(store.read_bytes(obj.key)).items() if k in known}
        )
        for obj in store.list(f"{lake.PUBLISHES}/")
    ]
    return sorted(records, key=lambda record: record.published_at)


def connect(path: Path, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """A DuckDB connection that never tries to download extensions (no internet here)."""
    import duckdb

    return duckdb.connect(
        str(path),
        read_only=read_only,
        config={"autoinstall_known_extensions": False, "autoload_known_extensions": False},
    )


def build_database(
    path: Path,
    settings: Settings,
    inputs: dict[str, list[str]],
    models: list[Model],
    variables: dict[str, Any],
    publish_log: list[PublishRecord],
    config: ScoringConfig,
) -> dict[str, int]:
    con = connect(path)
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
            kind = "table marts." if model.layer == "marts" else "temp view "
            con.execute(f"create {kind}{model.name} as {model.sql}")
        write_publish_log(con, publish_log)
        row_counts = check_marts(con)
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
    con.execute("""
        create table meta.publish_log (
            version varchar primary key, published_at timestamptz, fingerprint varchar,
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
    tables = con.execute(
        "select table_name from duckdb_tables() where schema_name = 'marts' order by 1"
    ).fetchall()
    counts = {}
    for (table,) in tables:
        row = con.execute(f"select count(*) from marts.{table}").fetchone()
        counts[table] = int(row[0]) if row else 0
    return counts
