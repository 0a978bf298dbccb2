"""The data-quality policy (``pipelines/config/quality.yaml``), validated on load."""

from __future__ import annotations

import functools
from importlib import resources
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError


class SourcePolicy(BaseModel):
    """How strict validation is for one source."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    max_rejected_row_share: float = Field(ge=0.0, le=1.0)
    """Share of rows that may fail row-level checks and be quarantined alone; above it, or for
    any file-level failure, the whole file is quarantined."""
    min_share_of_previous_rows: float = Field(ge=0.0, le=1.0)
    """A file smaller than this share of the previous release of the same scope is truncated."""
    freshness_days: int = Field(gt=0)
    """The longest a source (or one of its provinces or shops) may go without a new file."""


class ParserLimits(BaseModel):
    """How large a landed file may be before it is refused as a data problem (never a crash).

    Each limit is named in the quarantine report of a file that exceeds it, so an office knows
    what to split or fix, and an operator which value to raise here.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    max_field_bytes: int = Field(default=1 << 20, gt=0)
    """One CSV cell (a 40 MB cell is a damaged file, not a long name)."""
    max_line_bytes: int = Field(default=2 << 20, gt=0)
    """One CSV line, quotes included."""
    max_columns: int = Field(default=500, gt=0)
    """Cells in one row of a registry table."""
    max_rows: int = Field(default=2_000_000, gt=0)
    """Rows in one registry file or sheet (a national registry has ~300,000 member rows)."""
    max_xlsx_uncompressed_bytes: int = Field(default=512 << 20, gt=0)
    """The unzipped size of an XLSX workbook (a zip bomb is refused before it is opened)."""


class QualityPolicy(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    sources: dict[str, SourcePolicy]
    limits: ParserLimits = ParserLimits()
    max_failed_attempts: int = Field(default=3, gt=0)
    """A file whose ingest fails this many times in a row (an operational error each time) is
    parked: recorded with its last error, alerted once, and not tried again until replayed."""

    def for_source(self, source: str) -> SourcePolicy:
        try:
            return self.sources[source]
        except KeyError:
            raise KeyError(
                f"no data-quality policy for source {source!r}; add it to "
                "pipelines/config/quality.yaml"
            ) from None


@functools.cache
def load_policy(path: Path | None = None) -> QualityPolicy:
    """The policy from ``path`` (``SENTRA_QUALITY_POLICY``) or the built-in file."""
    import yaml

    if path is None:
        text = resources.files("pipelines.config").joinpath("quality.yaml").read_text("utf-8")
    else:
        text = path.read_text("utf-8")
    document: dict[str, Any] = yaml.safe_load(text)
    try:
        return QualityPolicy.model_validate(document)
    except ValidationError as error:
        raise ValueError(
            f"invalid data-quality policy {path or 'quality.yaml'}: {error}"
        ) from error
