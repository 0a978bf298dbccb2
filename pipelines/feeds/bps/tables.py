"""Which BPS tables the feed reads (``pipelines/config/bps_tables.yaml``), and the crosswalk
from BPS province codes to Kemendagri codes (``pipelines/reference/bps_province_crosswalk.csv``).

A table is configured by what it is - its measure and words its title must contain - not by its
BPS id: the pull finds the id in BPS's own listing (``discovery``). An id written in the file is
a pin, checked against that listing.
"""

from __future__ import annotations

import csv
import functools
import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from pipelines.feeds.bps.api import clean_label
from pipelines.reference.regions import load_regions

SOURCE = "bps"
DATASET = "bps_imk_growth"
NATIONAL_DOMAIN = "0000"
NATIONAL_CODE = "00"
"""``province_code`` of national rows: Kemendagri has no code for Indonesia as a whole; ``00``
follows BPS's national domain ``0000``. ``region_level`` says ``nasional`` for these rows."""
CONFIG_NAME = "pipelines/config/bps_tables.yaml"

Measure = Literal["yoy", "qtq"]
MEASURE_TEXT = {"yoy": "y-on-y", "qtq": "q-to-q"}


class BpsConfigError(ValueError):
    """The table configuration or the API settings are unusable; nothing was pulled."""


def describe(var: int | None, measure: str | None = None, domain: str | None = None) -> str:
    """How messages name a table and domain: ``BPS table var 1053 (y-on-y), domain 3400``."""
    what = f"BPS table var {var}" if var is not None else "BPS response"
    if measure in MEASURE_TEXT:
        what += f" ({MEASURE_TEXT[measure]})"
    return what + (f", domain {domain}" if domain else "")


def title_words(text: str) -> str:
    """A title as lower-case words: no HTML, punctuation or case (``(Y-on-Y)`` -> ``y on y``)."""
    return " ".join(re.sub(r"[\W_]+", " ", clean_label(text).casefold()).split())


def _domain_codes(value: Any) -> Any:
    # YAML reads 0000 as 0 and 0100 as an octal 64: only quoted strings are unambiguous.
    for domain in value if isinstance(value, list | tuple) else [value]:
        if not isinstance(domain, str) or not re.fullmatch(r"\d{4}", domain):
            raise ValueError(
                f"domain {domain!r} must be a quoted 4-digit string such as '0000' or '3400'"
            )
    return value


class Search(BaseModel):
    """Where the tables are looked for: a BPS domain and the subject they are filed under."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    domain: str = NATIONAL_DOMAIN
    subject: str = Field(min_length=1)

    _quoted_domain = field_validator("domain", mode="before")(_domain_codes)


class BpsTable(BaseModel):
    """One dynamic table of the BPS Web API, as described in ``bps_tables.yaml``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    measure: Measure
    title_contains: tuple[str, ...] = Field(min_length=1)
    """Phrases the BPS title must contain, compared as ``title_words``."""
    var: int | None = Field(default=None, gt=0)
    """Optional pin: the id the listing must give this table."""
    turvar: int | None = Field(default=None, ge=0)
    domains: tuple[str, ...] = ()
    """Optional: the domains to pull; left out, national plus every province domain BPS lists."""

    _quoted_domains = field_validator("domains", mode="before")(_domain_codes)

    def matches(self, title: str) -> bool:
        words = f" {title_words(title)} "
        return all(f" {title_words(phrase)} " in words for phrase in self.title_contains)

    def describe(self) -> str:
        phrases = ", ".join(repr(phrase) for phrase in self.title_contains)
        return f"the {MEASURE_TEXT[self.measure]} table (title containing {phrases})"


class TableConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    search: Search
    tables: tuple[BpsTable, ...] = Field(min_length=1)

    def tables_titled(self, title: str) -> list[BpsTable]:
        """The configured tables whose title rule ``title`` satisfies."""
        return [table for table in self.tables if table.matches(title)]


@functools.cache
def load_config(path: Path | None = None) -> TableConfig:
    """The table configuration (``path`` or the built-in file), validated."""
    import yaml

    name = str(path or CONFIG_NAME)
    if path is None:
        text = resources.files("pipelines.config").joinpath("bps_tables.yaml").read_text("utf-8")
    else:
        text = path.read_text("utf-8")
    try:
        config = TableConfig.model_validate(yaml.safe_load(text))
    except (ValidationError, yaml.YAMLError) as error:
        raise BpsConfigError(f"invalid BPS table configuration {name}: {error}") from None
    check_tables(config.tables, name)
    return config


def check_tables(tables: tuple[BpsTable, ...], name: str) -> None:
    """One table per measure and per pinned id; pinned domains national or in the crosswalk."""
    known_domains = {f"{entry.bps_code}00" for entry in load_crosswalk().entries}
    for position, table in enumerate(tables):
        for other in tables[:position]:
            if other.measure == table.measure:
                raise BpsConfigError(f"{name}: measure {table.measure} is listed twice")
            if table.var is not None and other.var == table.var:
                raise BpsConfigError(f"{name}: var {table.var} is pinned for two tables")
        unknown = sorted(set(table.domains) - known_domains)
        if unknown:
            raise BpsConfigError(
                f"{name}: {table.describe()} lists domains {', '.join(unknown)}, which are "
                "neither national (0000) nor a province in "
                "pipelines/reference/bps_province_crosswalk.csv"
            )


# --- BPS region codes to Kemendagri province codes ------------------------------------------


class NotYetNumbered(LookupError):
    """A BPS province code used for a year before BPS numbered that province (or after)."""


@dataclass(frozen=True)
class CrosswalkEntry:
    bps_code: str
    province_code: str
    valid_from: int | None
    valid_to: int | None
    bps_name: str
    territory_note: str | None

    def covers(self, year: int) -> bool:
        return (self.valid_from or year) <= year <= (self.valid_to or year)


@dataclass(frozen=True)
class Crosswalk:
    entries: tuple[CrosswalkEntry, ...]

    def resolve(self, bps_code: str, year: int) -> CrosswalkEntry:
        """The Kemendagri province BPS code ``bps_code`` stands for in ``year``."""
        candidates = [entry for entry in self.entries if entry.bps_code == bps_code]
        for entry in candidates:
            if entry.covers(year):
                return entry
        if not candidates:
            raise LookupError(
                f"BPS province code {bps_code!r} is not in the crosswalk "
                "(pipelines/reference/bps_province_crosswalk.csv)"
            )
        spans = ", ".join(f"{e.valid_from or '...'}-{e.valid_to or '...'}" for e in candidates)
        raise NotYetNumbered(
            f"BPS province code {bps_code} ({candidates[0].bps_name}) has no crosswalk entry "
            f"for {year} (it is valid for {spans}); the province did not exist in BPS "
            "numbering then, so the release is checked rather than guessed"
        )

    def current(self, bps_code: str) -> CrosswalkEntry | None:
        """The entry of ``bps_code`` in today's numbering, if BPS uses the code today."""
        return next(
            (e for e in self.entries if e.bps_code == bps_code and e.valid_to is None), None
        )


def _optional_year(text: str) -> int | None:
    return int(text) if text.strip() else None


@functools.cache
def load_crosswalk() -> Crosswalk:
    """The crosswalk, checked against ``provinces.csv`` so the two can never disagree."""
    text = resources.files("pipelines.reference").joinpath("bps_province_crosswalk.csv")
    entries = tuple(
        CrosswalkEntry(
            bps_code=row["bps_code"],
            province_code=row["province_code"],
            valid_from=_optional_year(row["valid_from_year"]),
            valid_to=_optional_year(row["valid_to_year"]),
            bps_name=row["bps_name"],
            territory_note=row["territory_note"] or None,
        )
        for row in csv.DictReader(text.read_text("utf-8").splitlines())
    )
    for entry in entries:
        overlapping = [
            e
            for e in entries
            if e is not entry
            and e.bps_code == entry.bps_code
            and (e.valid_from or 0) <= (entry.valid_to or 9999)
            and (entry.valid_from or 0) <= (e.valid_to or 9999)
        ]
        if overlapping:
            raise ValueError(
                f"bps_province_crosswalk.csv: BPS code {entry.bps_code} has overlapping "
                "validity periods; each year must map to one province"
            )
    current = {e.bps_code: e.province_code for e in entries if e.valid_to is None}
    expected = {p.bps_code: p.code for p in load_regions().provinces.values()}
    expected[NATIONAL_CODE] = NATIONAL_CODE
    if current != expected:
        raise ValueError(
            "bps_province_crosswalk.csv disagrees with provinces.csv on the current BPS codes: "
            f"{sorted(set(current.items()) ^ set(expected.items()))}"
        )
    return Crosswalk(entries)
