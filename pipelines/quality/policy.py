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


class QualityPolicy(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    sources: dict[str, SourcePolicy]

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
