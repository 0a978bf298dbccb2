"""Quarantine reports: why a received file was not published, in words a data officer can act on.

A quarantined file keeps its raw copy in ``raw/``; its report (JSON for machines, Markdown for
people) lists the file-level problem if any, every unreadable cell with its location, and every
failed check with its count and sample rows.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from pipelines.lake import layout

if TYPE_CHECKING:
    from pipelines.platform.storage import Storage
    from pipelines.quality.validation import CheckResult

MAX_LISTED_ISSUES = 200


@dataclass(frozen=True)
class CellProblem:
    """A cell that could not be read, located like a spreadsheet user would look for it."""

    sheet: str | None
    row: int
    column: str
    value: str
    problem: str

    def describe(self) -> str:
        sheet = f"sheet '{self.sheet}', " if self.sheet else ""
        return f"{sheet}row {self.row}, column '{self.column}': {self.problem}"


@dataclass
class QuarantineReport:
    source: str
    file: str
    sha256: str
    run_id: str
    raw_uri: str
    rows_in: int = 0
    rows_rejected: int = 0
    file_error: str | None = None
    cell_problems: list[CellProblem] = field(default_factory=list)
    failed_checks: list[CheckResult] = field(default_factory=list)
    verdict: str = "file_quarantined"
    """``file_quarantined`` (nothing published) or ``rows_quarantined`` (the rest published)."""
    rejected_rows_uris: list[str] = field(default_factory=list)

    @property
    def blocking_checks(self) -> list[CheckResult]:
        return [check for check in self.failed_checks if check.severity == "critical"]

    def located_rows(self) -> set[tuple[Any, ...]]:
        """Every (sheet, row) named by an unreadable cell or a failed critical check."""
        located: set[tuple[Any, ...]] = {(p.sheet, p.row) for p in self.cell_problems}
        for check in self.blocking_checks:
            located.update(check.unexpected_rows)
        return located

    def rejected_locations(self) -> set[tuple[Any, ...]] | None:
        """The rows to hold back, or None when the bad rows cannot be separated from the rest.

        A file-level problem (unreadable file, a truncated-file check) or a check whose failing
        rows were not all located means only the whole file can be quarantined.
        """
        if self.file_error:
            return None
        for check in self.blocking_checks:
            if check.unexpected_count == 0 or len(check.unexpected_rows) < check.unexpected_count:
                return None
        return self.located_rows()

    def headline(self) -> str:
        if self.file_error:
            return self.file_error
        if self.verdict == "rows_quarantined":
            return (
                f"{self.rows_rejected} of {self.rows_in} rows quarantined, the rest "
                f"published; {self.failure_summary()}"
            )
        return f"{self.rows_rejected} of {self.rows_in} rows rejected; {self.failure_summary()}"

    def failure_summary(self) -> str:
        parts = []
        if self.cell_problems:
            parts.append(f"{len(self.cell_problems)} unreadable cells")
        if self.blocking_checks:
            checks = ", ".join(
                f"{check.check} ({check.unexpected_count} rows)" for check in self.blocking_checks
            )
            parts.append(f"failed checks: {checks}")
        return "; ".join(parts)

    def to_json(self) -> bytes:
        document: dict[str, Any] = asdict(self)
        document["cell_problems_total"] = len(self.cell_problems)
        document["cell_problems"] = document["cell_problems"][:MAX_LISTED_ISSUES]
        document["headline"] = self.headline()
        for check in document["failed_checks"]:
            check.pop("unexpected_rows", None)
        return json.dumps(document, ensure_ascii=False, indent=1, default=str).encode()

    def to_markdown(self) -> str:
        lines = [
            f"# Quarantined: {self.file}",
            "",
            f"- source feed: `{self.source}`",
            f"- sha256: `{self.sha256}`",
            f"- run: `{self.run_id}`",
            f"- raw copy (kept): `{self.raw_uri}`",
            f"- rows read: {self.rows_in}; rows with a problem: {self.rows_rejected}",
            "",
            self.consequence(),
            "Fix the file and land it again (a corrected file is a new version), or fix the "
            f"suite or reference data and run `sentra replay {self.sha256}`.",
            "",
        ]
        if self.rejected_rows_uris:
            lines += ["Rejected rows (typed, without personal data):", ""]
            lines += [f"- `{uri}`" for uri in self.rejected_rows_uris]
            lines.append("")
        if self.file_error:
            lines += ["## The file could not be read", "", self.file_error, ""]
        if self.failed_checks:
            lines += [
                "## Failed checks",
                "",
                "| check | severity | rows | what it means | sample rows |",
                "|---|---|---|---|---|",
            ]
            lines += [checks_row(check) for check in self.failed_checks]
            lines.append("")
        if self.cell_problems:
            lines += ["## Unreadable cells", ""]
            lines += [
                f"- {problem.describe()}" for problem in self.cell_problems[:MAX_LISTED_ISSUES]
            ]
            if len(self.cell_problems) > MAX_LISTED_ISSUES:
                lines.append(
                    f"- ... and {len(self.cell_problems) - MAX_LISTED_ISSUES} more "
                    "(see report.json)"
                )
        return "\n".join(lines) + "\n"

    def consequence(self) -> str:
        if self.verdict == "rows_quarantined":
            return (
                "Only the rejected rows were held back; the rest of the file was published "
                "under the source's row-rejection threshold."
            )
        return "Nothing from this file was published; the marts keep serving the previous data."


def checks_row(check: CheckResult) -> str:
    samples = "; ".join(
        ", ".join(f"{key}={value}" for key, value in row.items() if value is not None)
        for row in check.sample_rows[:5]
    )
    return (
        f"| {check.check} | {check.severity} | {check.unexpected_count} | "
        f"{check.description} | {samples} |"
    )


def write_quarantine_report(lake_store: Storage, report: QuarantineReport) -> str:
    """Write report.json and report.md; return the JSON report's key."""
    json_key = layout.quarantine_report_key(report.source, report.sha256, report.run_id, "json")
    lake_store.write_bytes(json_key, report.to_json())
    lake_store.write_bytes(
        layout.quarantine_report_key(report.source, report.sha256, report.run_id, "md"),
        report.to_markdown().encode(),
    )
    return json_key
