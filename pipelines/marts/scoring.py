"""The scoring configuration (``pipelines/config/scoring.yaml``) and the phasing plan.

The score itself is SQL (``sql/intermediate/int_sentra_*.sql``, ``sql/marts/``); this module
validates the configuration, hands it to DuckDB as variables and small tables, and schedules
eligible sentra into revitalisation years, which is an allocation, not a query: the rows of the
Python model ``int_sentra_phase_plan`` (declared in ``publish``, run by ``runner``).
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from pipelines.platform.duckdb import rows_query

if TYPE_CHECKING:
    import duckdb

COMPONENTS = (
    "cluster_strength",
    "growth_momentum",
    "market_traction",
    "digital_gap",
    "commodity_priority",
)
WEIGHT_TOLERANCE = 1e-9
PHASE_PLAN_COLUMNS = {"sentra_id": "varchar", "phase_year": "bigint"}


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Weights(Strict):
    cluster_strength: float = Field(ge=0, le=1)
    growth_momentum: float = Field(ge=0, le=1)
    market_traction: float = Field(ge=0, le=1)
    digital_gap: float = Field(ge=0, le=1)
    commodity_priority: float = Field(ge=0, le=1)

    @model_validator(mode="after")
    def _sum_to_one(self) -> Weights:
        total = sum(self.model_dump().values())
        if abs(total - 1) > WEIGHT_TOLERANCE:
            raise ValueError(f"weights must sum to 1, they sum to {total:.6f}")
        return self


class Eligibility(Strict):
    min_units: int = Field(ge=1)
    min_units_by_island_group: dict[str, int]
    resurvey_after_years: float = Field(gt=0)
    priority_groups: list[str] = Field(min_length=1)


class CommodityPriority(Strict):
    first_phase_groups: list[str]
    first_phase_value: float = Field(ge=0, le=100)
    other_priority_value: float = Field(ge=0, le=100)


class Components(Strict):
    neutral_value: float = Field(ge=0, le=100)
    imk_growth_quarters: int = Field(ge=1, le=20)
    market_months: int = Field(ge=2, le=36)
    market_level_share: float = Field(ge=0, le=1)


class Phasing(Strict):
    start_year: int = Field(ge=2000, le=2100)
    annual_capacity: int = Field(ge=1)
    max_per_province_per_year: int | None = Field(default=None, ge=1)


class ScoringConfig(Strict):
    weights: Weights
    eligibility: Eligibility
    commodity_priority: CommodityPriority
    components: Components
    phasing: Phasing

    @model_validator(mode="after")
    def _first_phase_is_priority(self) -> ScoringConfig:
        unknown = set(self.commodity_priority.first_phase_groups) - set(
            self.eligibility.priority_groups
        )
        if unknown:
            raise ValueError(f"first_phase_groups not among priority_groups: {sorted(unknown)}")
        return self


@dataclass(frozen=True)
class LoadedScoringConfig:
    config: ScoringConfig
    sha256: str
    source: str


def load_scoring_config(path: Path | None = None) -> LoadedScoringConfig:
    """The configuration from ``path`` (``SENTRA_SCORING_CONFIG``) or the built-in file."""
    import yaml

    if path is None:
        data = resources.files("pipelines.config").joinpath("scoring.yaml").read_bytes()
        source = "pipelines/config/scoring.yaml"
    else:
        data, source = Path(path).read_bytes(), str(path)
    try:
        config = ScoringConfig.model_validate(yaml.safe_load(data))
    except ValidationError as error:
        raise ValueError(f"invalid scoring configuration {source}: {error}") from error
    return LoadedScoringConfig(config, hashlib.sha256(data).hexdigest(), source)


def sql_variables(config: ScoringConfig) -> dict[str, Any]:
    """Scalars the SQL models read with ``getvariable(...)``."""
    return {
        "min_units": config.eligibility.min_units,
        "resurvey_after_years": config.eligibility.resurvey_after_years,
        "neutral_value": config.components.neutral_value,
        "imk_growth_quarters": config.components.imk_growth_quarters,
        "market_months": config.components.market_months,
        "market_level_share": config.components.market_level_share,
    }


def register_config_tables(con: duckdb.DuckDBPyConnection, config: ScoringConfig) -> None:
    """Lists and maps of the configuration as small tables the SQL models join."""
    weights = config.weights.model_dump()
    first = set(config.commodity_priority.first_phase_groups)
    priority = config.commodity_priority
    tables: dict[str, tuple[dict[str, str], list[tuple[object, ...]]]] = {
        "src_scoring_weights": (
            {"component": "varchar", "weight": "double"},
            [(name, weights[name]) for name in COMPONENTS],
        ),
        "src_scoring_commodities": (
            {"komoditas_group": "varchar", "priority_tier": "bigint", "priority_value": "double"},
            [
                (group, 1, priority.first_phase_value)
                if group in first
                else (group, 2, priority.other_priority_value)
                for group in config.eligibility.priority_groups
            ],
        ),
        "src_scoring_min_units": (
            {"island_group": "varchar", "min_units": "bigint"},
            list(config.eligibility.min_units_by_island_group.items()),
        ),
    }
    for name, (columns, rows) in tables.items():
        con.execute(f"create temp table {name} as {rows_query(columns, rows)}")


@dataclass(frozen=True)
class Candidate:
    sentra_id: str
    province_code: str


def plan_phases(candidates: list[Candidate], phasing: Phasing) -> dict[str, int]:
    """Schedule candidates, already in priority order, into years under the capacity rules.

    Each year takes the best remaining candidates up to the annual capacity; with a provincial
    cap, a province's surplus waits for the next year while others fill the places. Greedy and
    deterministic: the same ordered input always gives the same plan.
    """
    plan: dict[str, int] = {}
    remaining = list(candidates)
    year = phasing.start_year
    province_cap = phasing.max_per_province_per_year or math.inf
    while remaining:
        placed: dict[str, int] = {}
        waiting = []
        for candidate in remaining:
            full = sum(placed.values()) >= phasing.annual_capacity
            if full or placed.get(candidate.province_code, 0) >= province_cap:
                waiting.append(candidate)
                continue
            plan[candidate.sentra_id] = year
            placed[candidate.province_code] = placed.get(candidate.province_code, 0) + 1
        remaining = waiting
        year += 1
    return plan


def phase_plan(scored: duckdb.DuckDBPyRelation, phasing: Phasing) -> list[tuple[str, int]]:
    """The phase year of every eligible sentra of ``scored`` (``int_sentra_scored``), planned in
    priority order: the rows of the Python model ``int_sentra_phase_plan``
    (``PHASE_PLAN_COLUMNS``)."""
    rows = scored.query(
        "scored",
        "select sentra_id, province_code from scored "
        "where eligible order by priority_tier, score desc, sentra_id",
    ).fetchall()
    return list(plan_phases([Candidate(*row) for row in rows], phasing).items())
