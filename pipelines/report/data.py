"""What the report shows, read from the published marts (read-only) and the lake's ledger."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pipelines.lake import layout
from pipelines.lake.ledger import Ledger
from pipelines.marts.scoring import load_scoring_config
from pipelines.platform.duckdb import connect

if TYPE_CHECKING:
    from pipelines.platform.settings import Settings
    from pipelines.platform.storage import Storage

Row = dict[str, Any]
QUERIES = "report"  # the report's queries: sql/report/<name>.sql


@dataclass(frozen=True)
class LakeLink:
    """A file of the lake the quality page points at: a browsable link when the lake is local."""

    label: str
    uri: str

    @property
    def href(self) -> str | None:
        return Path(self.uri).as_uri() if self.uri.startswith("/") else None


@dataclass(frozen=True)
class HeldBack:
    """A received file the pipeline quarantined whole, or some of whose rows it held back."""

    source: str
    original_name: str
    sha256: str
    received_at: str
    what: str
    report: LakeLink | None
    data_docs: list[LakeLink]


@dataclass(frozen=True)
class ReportData:
    queries: dict[str, list[Row]]
    """Rows of each ``sql/report`` query, by the query's file name."""
    annual_capacity: int
    max_per_province_per_year: int | None
    ledger_by_source: dict[str, Counter[str]] = field(default_factory=dict)
    held_back: list[HeldBack] = field(default_factory=list)
    data_docs_index: LakeLink | None = None

    @property
    def sentra(self) -> list[Row]:
        return self.queries["sentra"]

    @property
    def ranked(self) -> list[Row]:
        return ranked_sentra(self.sentra)

    @property
    def version(self) -> str:
        return str(self.queries["publish"][0]["version"])

    def sales_by_sentra(self) -> dict[str, list[Row]]:
        history: dict[str, list[Row]] = defaultdict(list)
        for row in self.queries["sales_history"]:
            history[row["sentra_id"]].append(row)
        return history


def ranked_sentra(sentra: list[Row]) -> list[Row]:
    """The sentra with a national rank, in their order (``sentra`` is in rank order)."""
    return [row for row in sentra if row["rank_national"] is not None]


def load_report_data(settings: Settings, database: Path) -> ReportData:
    scoring = load_scoring_config(settings.scoring_config).config
    lake = settings.lake_store
    ledger_by_source, held_back = ledger_view(lake)
    return ReportData(
        queries=run_queries(database, settings.sql_dir / QUERIES),
        annual_capacity=scoring.phasing.annual_capacity,
        max_per_province_per_year=scoring.phasing.max_per_province_per_year,
        ledger_by_source=ledger_by_source,
        held_back=held_back,
        data_docs_index=(
            LakeLink("Data Docs index", lake.uri_for(layout.DATA_DOCS_INDEX))
            if lake.exists(layout.DATA_DOCS_INDEX)
            else None
        ),
    )


def run_queries(database: Path, folder: Path, names: tuple[str, ...] = ()) -> dict[str, list[Row]]:
    """The queries of ``folder`` (all, or those named) against the published file, read-only."""
    con = connect(database, read_only=True)
    try:
        results = {}
        for path in sorted(folder.glob("*.sql")):
            if names and path.stem not in names:
                continue
            cursor = con.execute(path.read_text())
            columns = [description[0] for description in cursor.description or []]
            results[path.stem] = [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]
        return results
    finally:
        con.close()


def sentra_rows(settings: Settings, database: Path) -> list[Row]:
    """Every sentra with its ranking, components and gates: ranked first, by national rank."""
    return run_queries(database, settings.sql_dir / QUERIES, ("sentra",))["sentra"]


def ledger_view(lake: Storage) -> tuple[dict[str, Counter[str]], list[HeldBack]]:
    """The latest status of each received file per source, and the files held back."""
    ledger = Ledger(lake)
    counts: dict[str, Counter[str]] = defaultdict(Counter)
    held_back = []
    for entry in ledger.latest_entries().values():
        counts[entry.source][entry.status] += 1
        if entry.status not in ("quarantined", "ingested"):
            continue
        record = ledger.read(entry)
        if entry.status == "ingested" and not record.rows_rejected:
            continue
        what = (
            record.error or "quarantined"
            if entry.status == "quarantined"
            else f"{record.rows_rejected} of {record.rows_in} rows held back"
        )
        held_back.append(
            HeldBack(
                source=record.source,
                original_name=record.original_name,
                sha256=record.sha256,
                received_at=record.received_at,
                what=what,
                report=(
                    LakeLink("report", lake.uri_for(record.report_key))
                    if record.report_key
                    else None
                ),
                data_docs=[LakeLink(Path(key).stem, lake.uri_for(key)) for key in record.data_docs],
            )
        )
    held_back.sort(key=lambda item: (item.source, item.received_at))
    return dict(counts), held_back
