"""The model runner: the models of ``sql/`` (and Python models) into a DuckDB connection.

Like dbt on DuckDB, on a smaller scale: every ``sql/<layer>/<name>.sql`` is a model named after
its file; what a model reads is found by parsing its SQL (with sqlglot, so a name in a comment
or a string literal is not a reference) and remembered by the digest of that SQL in a small file
beside the warehouse (parsing every model again cost ~0.3 s of each build); the models run in
dependency order, each materialised as its layer says. The DuckDB macros of ``sql/macros/`` are
created before any model, as dbt loads its macros. A Python model (dbt's Python models) declares
its inputs and output by name and runs in the same graph: its inputs are handed to it as
relations, and the rows it returns are materialised like a SQL model of its layer.
"""

from __future__ import annotations

import graphlib
import hashlib
import importlib.metadata
import json
import logging
import os
import secrets
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from pipelines.platform.duckdb import rows_query

if TYPE_CHECKING:
    import duckdb

log = logging.getLogger(__name__)

LAYERS = ("staging", "intermediate", "marts")
MACRO_DIR = "macros"  # in <sql>/: DuckDB macros the models use, created before them

# Staging models only rename and cast: views. Intermediate models are read by several marts
# (the marketplace order lines by three), so each is computed once into a temporary table,
# which DuckDB spills to disk when large and which never reaches the published file.
MATERIALISATION = {"staging": "temp view ", "intermediate": "temp table ", "marts": "table marts."}
# An intermediate model whose SQL starts with this line is a temporary view instead (dbt's
# `materialized='view'`): for rows cheaper to read again from the clean Parquet than to copy
# into a table, such as every order line of a full build. Marts are always tables.
VIEW_DIRECTIVE = "-- materialised: view"


@dataclass(frozen=True)
class SqlModel:
    layer: str
    name: str
    sql: str
    reads: frozenset[str]  # every table or view the SQL selects from, models or not
    materialisation: str  # how it is created: ``create <materialisation><name> as <sql>``

    @property
    def definition(self) -> str:
        return self.sql


@dataclass(frozen=True)
class PythonModel:
    """A model computed in Python: ``run`` gets each of ``inputs`` as a relation, by name, and
    returns the rows of the table ``name``, whose columns are ``columns`` (SQL type by name).
    Its inputs are its only way to the data, so the declared dependencies are the real ones."""

    layer: str
    name: str
    inputs: tuple[str, ...]
    columns: Mapping[str, str]
    run: Callable[[Mapping[str, duckdb.DuckDBPyRelation]], Sequence[Sequence[object]]]

    @property
    def reads(self) -> frozenset[str]:
        return frozenset(self.inputs)

    @property
    def materialisation(self) -> str:
        return MATERIALISATION[self.layer]

    @property
    def definition(self) -> str:
        # The code itself ships with the package; what the graph knows of it is its inputs.
        return f"python model reading {', '.join(self.inputs)}"


Model = SqlModel | PythonModel


@dataclass(frozen=True)
class Macro:
    name: str
    sql: str


def load_models(
    sql_dir: Path, python_models: Iterable[PythonModel] = (), reads_cache: Path | None = None
) -> list[Model]:
    """The SQL models of ``sql_dir`` and the given Python models, in dependency order.

    ``reads_cache``: a file remembering what each SQL text reads (``ReadsCache``); without
    one, every model is parsed.
    """
    models: dict[str, Model] = {}
    every: list[Model] = [*sql_models(sql_dir, reads_cache), *python_models]
    for model in every:
        if model.layer not in LAYERS:
            raise ValueError(f"model {model.name}: layer {model.layer!r} is not one of {LAYERS}")
        if model.name in models:
            raise ValueError(f"two models are named {model.name}: model names must be unique")
        models[model.name] = model
    return dependency_order(models)


def sql_models(sql_dir: Path, reads_cache: Path | None = None) -> list[SqlModel]:
    cache = ReadsCache(reads_cache)
    models = []
    for layer in LAYERS:
        for path in sorted((sql_dir / layer).glob("*.sql")):
            sql = path.read_text(encoding="utf-8")
            materialisation = sql_materialisation(layer, sql, path)
            reads = cache.tables_read(sql, path)
            models.append(SqlModel(layer, path.stem, sql, reads, materialisation))
    cache.save()
    return models


class ReadsCache:
    """What each SQL text reads, by the digest of the text and of the parser's version.

    A model whose file changed has a new digest and is parsed again, so the graph always
    follows the SQL as it is; a new sqlglot version parses everything again. The file keeps the
    entries of the models loaded last only, and is replaced whole (a reader sees the old file or
    the new one). An unreadable file is parsed around and replaced.
    """

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self.parser = f"sqlglot {importlib.metadata.version('sqlglot')}"
        self.remembered = self._read()
        self.used: dict[str, list[str]] = {}

    def _read(self) -> dict[str, list[str]]:
        if self.path is None:
            return {}
        try:
            content = json.loads(self.path.read_bytes())
        except (OSError, ValueError):
            return {}
        if not isinstance(content, dict) or content.get("parser") != self.parser:
            return {}
        reads = content.get("reads")
        return reads if isinstance(reads, dict) else {}

    def tables_read(self, sql: str, path: Path) -> frozenset[str]:
        digest = hashlib.sha256(sql.encode()).hexdigest()
        known = self.remembered.get(digest)
        reads = frozenset(known) if isinstance(known, list) else tables_read(sql, path)
        self.used[digest] = sorted(reads)
        return reads

    def save(self) -> None:
        """Write the entries used since loading, unless the file holds exactly those."""
        if self.path is None or self.used == self.remembered:
            return
        content = json.dumps({"parser": self.parser, "reads": self.used}, sort_keys=True)
        partial = self.path.with_name(f"{self.path.name}.{secrets.token_hex(4)}.tmp")
        try:
            partial.write_text(content, encoding="utf-8")
            os.replace(partial, self.path)
        except OSError as error:  # the next build parses again; this one is right regardless
            log.warning("could not remember the models' reads in %s: %s", self.path, error)
        finally:
            partial.unlink(missing_ok=True)


def sql_materialisation(layer: str, sql: str, path: Path) -> str:
    """The layer's materialisation, or a view when the SQL's first line asks for one."""
    if not sql.startswith(VIEW_DIRECTIVE + "\n"):
        return MATERIALISATION[layer]
    if layer == "marts":
        raise ValueError(f"the SQL model {path}: marts are published tables, not views")
    return "temp view "


def tables_read(sql: str, path: Path) -> frozenset[str]:
    """The tables and views a query selects from: not its CTEs, and nothing that a comment or a
    string literal merely mentions (the parser never sees those as references)."""
    import sqlglot
    from sqlglot import exp
    from sqlglot.optimizer.scope import traverse_scope

    try:
        tree = sqlglot.parse_one(sql, read="duckdb")
    except sqlglot.ParseError as error:
        raise ValueError(f"cannot parse the SQL model {path}: {error}") from None
    return frozenset(
        source.name
        for scope in traverse_scope(tree)
        for source in scope.sources.values()
        if isinstance(source, exp.Table)
    )


def dependency_order(models: Mapping[str, Model]) -> list[Model]:
    """Each model after every model it reads; otherwise by layer, then name (stable)."""
    ranked = sorted(models.values(), key=lambda model: (LAYERS.index(model.layer), model.name))
    graph = graphlib.TopologicalSorter[str]()
    for model in ranked:
        graph.add(model.name, *sorted(model.reads & models.keys()))
    try:
        order = list(graph.static_order())
    except graphlib.CycleError as error:
        cycle = " -> ".join(error.args[1])
        raise ValueError(f"the models read each other in a circle: {cycle}") from None
    return [models[name] for name in order]


def load_macros(sql_dir: Path) -> list[Macro]:
    """The macro files of ``<sql>/macros/``, each a ``create or replace temp macro`` script.

    Temporary on purpose: the models use them while the file is built, and the published file
    holds only tables, as BI readers expect.
    """
    return [
        Macro(path.stem, path.read_text(encoding="utf-8"))
        for path in sorted((sql_dir / MACRO_DIR).glob("*.sql"))
    ]


def run_models(
    con: duckdb.DuckDBPyConnection,
    models: Iterable[Model],
    macros: Iterable[Macro],
    reuse: Mapping[str, str] | None = None,
) -> None:
    """Create the macros, then every model in the order given (``load_models`` order).

    ``reuse``: models whose rows are read from the given table instead of computed (an
    incremental build's unchanged ones, ``incremental.StatePlan.reusable``).
    """
    reuse = reuse or {}
    row = con.execute("select current_setting('threads')").fetchone()
    threads = int(row[0]) if row else 1
    for macro in macros:
        con.execute(macro.sql)
    for model in models:
        # The marts are small (~77,000 rows at most nationally, read from tables the
        # intermediate models already reduced) and sorted for BI readers: DuckDB's parallel
        # sort costs more than it saves at that size (0.27 s against 0.09 s on one thread for
        # the monthly sales).
        con.execute(f"set threads = {1 if model.layer == 'marts' else threads}")
        if model.name in reuse:
            # A view, not a copy: the rows are read where they are kept (~300,000 member rows
            # nationally, 0.06 s to copy), and nothing changes them during the build.
            log.info("reading %s.%s from %s", model.layer, model.name, reuse[model.name])
            con.execute(f"create temp view {model.name} as select * from {reuse[model.name]}")
            continue
        log.info("building %s.%s", model.layer, model.name)
        # Only the marts keep the order their SQL gives them (BI users read them as stored);
        # intermediate tables are sets, and not keeping their order saves memory and time.
        con.execute(f"set preserve_insertion_order = {model.layer == 'marts'}")
        create = f"create {model.materialisation}{model.name} as"
        if isinstance(model, SqlModel):
            con.execute(f"{create} {model.sql}")
            continue
        rows = model.run({name: con.table(name) for name in model.inputs})
        con.execute(f"{create} {rows_query(model.columns, rows)}")
    con.execute(f"set threads = {threads}")
