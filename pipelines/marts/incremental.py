"""Incremental builds: what one build carries forward to the next, and when the next may use it.

The heavy part of the marts is the marketplace: every order line once in its latest version
(~10 M lines at national scale), then per sentra and month. A build keeps, in a DuckDB file
beside the published marts (``marts_state``, tables in ``sql/state/tables.sql``), which exports
it carries and which line versions in them lost to another version of the same line (the lines
stay in the exports' clean Parquet), and the sales it computed. The next build reads only the
exports ingested since and the carried lines they touch, works out which shops and sentra they
(or a changed member list) touch, recomputes those from the carried lines and carries
everything else; the registry, BPS, score and rank
models are small and run whole every time. A build on an empty state computes everything, so
full and incremental builds are the same SQL (docs/marts.md, "Incremental builds").

The state is used only when it is exactly the previous build's: written for the same models,
macros, configuration and settings (``model_version``), published as the marts version that
is current, and holding only exports that are still ingested as they were. Anything else, and
``--force``, starts from an empty state, and the log says why.
"""

from __future__ import annotations

import hashlib
import logging
import os
import secrets
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from pipelines.marts.runner import Model, SqlModel
from pipelines.platform.duckdb import connect, quote_identifier, sql_rows, sql_string
from pipelines.platform.locks import host_lock

if TYPE_CHECKING:
    import duckdb

log = logging.getLogger(__name__)

STATE_SCHEMA = "marts_state"  # the name the models read the carried state under
STATE_SQL_DIR = "state"  # in <sql>/: tables.sql (the state's tables), update.sql (the write)
CARRIED_DATASET = "marketplace_orders"  # the one dataset read incrementally
KEPT_TABLE_PREFIX = "kept__"  # marts_state.kept__<model>: a model's rows kept for the next build


@dataclass(frozen=True)
class StatePlan:
    """Where this build reads and writes its state, and what the state already holds."""

    path: Path
    """The state file the build attaches: the carried one, or a new one for a full build."""
    carried: Mapping[str, str]
    """Clean keys of the exports already in the state, with their ledger records."""
    full: bool
    reason: str
    kept: Mapping[str, str] = field(default_factory=dict)
    """Models whose rows the state keeps, with the digest of the inputs they were built from."""
    carried_schemas: Mapping[str, str] = field(default_factory=dict)
    """Clean key -> digest of its file's columns, for the carried exports (``clean_schemas``)."""

    def reusable(self, digests: Mapping[str, str]) -> dict[str, str]:
        """The kept models whose inputs are unchanged (``digests``: the current ones), with the
        state table that holds their rows."""
        return {
            name: f"{STATE_SCHEMA}.{quote_identifier(KEPT_TABLE_PREFIX + name)}"
            for name, digest in digests.items()
            if self.kept.get(name) == digest
        }

    def new_inputs(self, inputs: Mapping[str, str]) -> list[str]:
        """The exports of ``inputs`` this build still has to read."""
        return sorted(key for key in inputs if key not in self.carried)


def state_path(warehouse: Path) -> Path:
    """The carried state of the marts published at (or built into) ``warehouse``: hidden
    beside it, so the folder BI tools browse shows only the marts."""
    return warehouse.with_name(f".{warehouse.name}.state")


def model_version(fingerprint_without_inputs: str, sql_dir: Path) -> str:
    """What the carried state must have been computed with: the models, macros, configuration
    and settings (their fingerprint) and the state's own SQL."""
    digest = hashlib.sha256(fingerprint_without_inputs.encode())
    for path in sorted((sql_dir / STATE_SQL_DIR).glob("*.sql")):
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


@contextmanager
def one_build_at_a_time(warehouse: Path) -> Iterator[None]:
    """One build at a time per warehouse on this host: the state is read, updated and renamed
    by one build only, and the published file and its Parquet exports swapped in by builds
    that follow each other always come from one version (the later one wins)."""
    # On S3 each host keeps its own state (see plan_state).
    with host_lock("build", warehouse):
        yield


def plan_state(
    warehouse: Path,
    version: str,
    inputs: Mapping[str, str],
    published_version: str | None,
    force: bool,
) -> StatePlan:
    """Incremental on the carried state when it is the previous build's; otherwise full."""
    carried_path = state_path(warehouse)
    contents, reason = usable_state(carried_path, version, inputs, published_version, force)
    if contents is not None:
        new = len(inputs) - len(contents.carried)
        log.info("incremental build: %d exports carried, %d new", len(contents.carried), new)
        return StatePlan(
            carried_path,
            contents.carried,
            full=False,
            reason="incremental",
            kept=contents.kept,
            carried_schemas=contents.carried_schemas,
        )
    log.info("full build: %s", reason)
    fresh = carried_path.with_name(f"{carried_path.name}.building-{secrets.token_hex(4)}")
    return StatePlan(fresh, {}, full=True, reason=reason)


@dataclass(frozen=True)
class StateContents:
    """What a state records, besides the rows it carries."""

    model_version: str
    published_version: str
    carried: dict[str, str]
    """Clean key -> ledger record of every export it carries."""
    kept: dict[str, str]
    """Model -> digest of the inputs its kept rows were built from."""
    carried_schemas: dict[str, str]
    """Clean key -> digest of the columns of its file, for the carried exports."""


def usable_state(
    path: Path,
    version: str,
    inputs: Mapping[str, str],
    published_version: str | None,
    force: bool,
) -> tuple[StateContents | None, str]:
    """The state at ``path`` when it can be carried forward; otherwise None, and why not."""
    import duckdb

    if force:
        return None, "--force asks for a full rebuild"
    if not path.exists():
        return None, f"no state from a previous build at {path}"
    try:
        contents = read_state(path)
    except (duckdb.Error, LookupError) as error:
        return None, f"the state at {path} cannot be read ({error})"
    if contents.model_version != version:
        return (
            None,
            "the models, macros, configuration or settings changed since the state was written",
        )
    if contents.published_version != published_version:
        return None, (
            f"the state belongs to marts version {contents.published_version}, "
            f"but the published version is {published_version}"
        )
    changed = sorted(key for key, record in contents.carried.items() if inputs.get(key) != record)
    if changed:
        return (
            None,
            f"{len(changed)} carried exports are no longer ingested as they were ({changed[0]})",
        )
    return contents, "incremental"


def published_as(path: Path) -> str | None:
    """The marts version the state at ``path`` was published as; None without a usable one."""
    import duckdb

    try:
        return read_state(path).published_version if path.exists() else None
    except (duckdb.Error, LookupError):
        return None


def read_state(path: Path) -> StateContents:
    """The state's records, in one connection (each costs ~10-20 ms to open)."""
    con = connect(path, read_only=True)
    try:
        row = con.execute("select model_version, published_version from build").fetchone()
        if row is None:
            raise LookupError("it records no build")
        return StateContents(
            model_version=str(row[0]),
            published_version=str(row[1]),
            carried=dict(con.execute("select clean_key, ledger_record from inputs").fetchall()),
            kept=read_pairs(con, "kept_models", "model", "inputs_digest"),
            carried_schemas=read_pairs(con, "carried_schemas", "clean_key", "schema_digest"),
        )
    finally:
        con.close()


def read_pairs(con: duckdb.DuckDBPyConnection, table: str, key: str, value: str) -> dict[str, str]:
    """A two-column state table as a mapping; empty in a state written before the table was
    (whose model version differs anyway, so the log says that, not that it cannot be read)."""
    # The name as a literal: DuckDB then looks up that one table, not every table's size.
    found = con.execute(
        f"select count(*) from duckdb_tables() where table_name = {sql_string(table)}"
    )
    row = found.fetchone()
    if not row or not row[0]:
        return {}
    return dict(con.execute(f"select {key}, {value} from {table}").fetchall())


def kept_models(models: Iterable[Model], datasets: Iterable[str]) -> dict[str, frozenset[str]]:
    """The models whose rows the state keeps between builds, with the datasets they read.

    A temporary table qualifies when everything it reads, through other models, is the clean
    files of datasets read whole (every dataset but the carried one): its rows are then a
    function of those files and of the models' version, which the state is checked against
    (the registry models, whose ~300,000 member rows cost ~0.5 s a build to recompute).
    """
    by_name = {model.name: model for model in models}
    sources = {f"src_{dataset}": dataset for dataset in datasets if dataset != CARRIED_DATASET}
    read: dict[str, frozenset[str] | None] = {}

    def datasets_read(name: str) -> frozenset[str] | None:
        """The datasets a model reads, or None when it reads anything else."""
        if name not in read:
            found: set[str] = set()
            for source in by_name[name].reads:
                upstream = datasets_read(source) if source in by_name else None
                if source in sources:
                    found.add(sources[source])
                elif upstream is None:
                    read[name] = None
                    return None
                else:
                    found |= upstream
            read[name] = frozenset(found)
        return read[name]

    return {
        name: found
        for name, model in by_name.items()
        if isinstance(model, SqlModel)
        and model.materialisation == "temp table "
        and (found := datasets_read(name))
    }


def inputs_digest(
    datasets: Iterable[str], inputs: Mapping[str, Iterable[str]], records: Mapping[str, str]
) -> str:
    """What a kept model was built from: the clean files of its datasets and the ledger records
    that ingested them (a replay writes a new record)."""
    digest = hashlib.sha256()
    for dataset in sorted(datasets):
        for key in sorted(inputs.get(dataset, ())):
            digest.update(f"{dataset}\0{key}\0{records[key]}\n".encode())
    return digest.hexdigest()


def attach_state(con: duckdb.DuckDBPyConnection, plan: StatePlan, sql_dir: Path) -> None:
    """Attach the plan's state as ``marts_state`` (a new one gets its empty tables)."""
    con.execute(f"attach {sql_string(plan.path)} as {STATE_SCHEMA}")
    con.execute(state_sql(sql_dir, "tables"))


def write_state(
    con: duckdb.DuckDBPyConnection,
    sql_dir: Path,
    version: str,
    published_version: str,
    inputs: Mapping[str, str],
    kept: Mapping[str, str],
    new_schemas: Mapping[str, str],
) -> None:
    """Apply this build to the attached state, all of it or nothing (one transaction).

    ``kept``: the models whose rows the state keeps, with the digest of this build's inputs;
    those whose rows the build did not take from the state are written again.
    ``new_schemas``: the column digests of the exports the state carries from now on."""
    # The state's tables are sets: inserting in parallel, in any order, is much faster.
    con.execute("set preserve_insertion_order = false")
    con.execute("begin transaction")
    try:
        con.execute(state_sql(sql_dir, "update"))
        con.execute(f"delete from {STATE_SCHEMA}.build")
        con.execute(
            f"insert into {STATE_SCHEMA}.build values {sql_rows([(version, published_version)])}"
        )
        con.execute(f"delete from {STATE_SCHEMA}.inputs")
        if inputs:
            con.execute(f"insert into {STATE_SCHEMA}.inputs values {sql_rows(inputs.items())}")
        write_kept_models(con, kept)
        if new_schemas:
            con.execute(
                f"insert into {STATE_SCHEMA}.carried_schemas values {sql_rows(new_schemas.items())}"
            )
        con.execute("commit")
    except BaseException:
        con.execute("rollback")
        raise
    con.execute(f"detach {STATE_SCHEMA}")


def write_kept_models(con: duckdb.DuckDBPyConnection, kept: Mapping[str, str]) -> None:
    state_digests = dict(
        con.execute(f"select model, inputs_digest from {STATE_SCHEMA}.kept_models").fetchall()
    )
    for name, digest in kept.items():
        if state_digests.get(name) != digest:
            table = f"{STATE_SCHEMA}.{quote_identifier(KEPT_TABLE_PREFIX + name)}"
            con.execute(f"create or replace table {table} as select * from {name}")
    con.execute(f"delete from {STATE_SCHEMA}.kept_models")
    if kept:
        con.execute(f"insert into {STATE_SCHEMA}.kept_models values {sql_rows(kept.items())}")


def keep_state(plan: StatePlan, warehouse: Path) -> None:
    """Make a full build's new state the one the next build carries forward."""
    if plan.full:
        os.replace(plan.path, state_path(warehouse))


def discard_state(plan: StatePlan) -> None:
    """Remove a full build's unfinished state (the carried one is updated in place, whole)."""
    if plan.full:
        plan.path.unlink(missing_ok=True)
        plan.path.with_name(plan.path.name + ".wal").unlink(missing_ok=True)


def state_sql(sql_dir: Path, name: str) -> str:
    return (sql_dir / STATE_SQL_DIR / f"{name}.sql").read_text(encoding="utf-8")
