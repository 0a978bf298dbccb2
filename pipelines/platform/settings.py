"""The one settings object: every location the pipeline touches comes from here.

Values come from environment variables with the ``SENTRA_`` prefix (or a ``.env`` file).
``SENTRA_LANDING`` and ``SENTRA_LAKE`` may be local folders or ``s3://bucket/prefix`` URIs;
S3 credentials and endpoint follow the standard ``AWS_*`` variables boto3 already honours.
"""

from __future__ import annotations

import hashlib
import tempfile
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

if TYPE_CHECKING:
    from pipelines.platform.storage import Storage

PACKAGE_ROOT = Path(__file__).resolve().parents[1]
PROJECT_ROOT = PACKAGE_ROOT.parent


def bundled(name: str) -> Path:
    """A top-level folder of the repository that the pipeline reads at run time (sql/, ...).

    The wheel carries it inside the package (``pipelines/_bundled/<name>``, see pyproject.toml),
    so an installed pipeline needs no checkout; in a checkout it is read where it lies.
    """
    inside = PACKAGE_ROOT / "_bundled" / name
    return inside if inside.is_dir() else PROJECT_ROOT / name


SQL_DIR = bundled("sql")
EXPECTATIONS_DIR = bundled("expectations")
# Public on purpose: the demo and the tests need no secret. Production sets SENTRA_PII_SALT.
DEMO_PII_SALT = "sentra-demo-salt-not-secret"


class ConfigurationError(ValueError):
    """The settings are valid but not fit for what was asked; the message says what to set."""


class Settings(BaseSettings):
    """Where feeds land, where the lake lives and where the published marts go."""

    model_config = SettingsConfigDict(env_prefix="SENTRA_", env_file=".env", extra="ignore")

    landing: str = Field(
        default="./data/landing",
        description="Where feeds drop files: a folder or s3://bucket/prefix.",
    )
    lake: str = Field(
        default="./data/lake",
        description="The Parquet lake (raw copies, clean Parquet, ledger, quarantine): "
        "a folder or s3://bucket/prefix.",
    )
    warehouse: str = Field(
        default="./data/warehouse/sentra.duckdb",
        description="Where the marts are published: a local DuckDB file BI tools open "
        "read-only, or s3://bucket/prefix, where each version goes under versions/<version>/ "
        "and current.json names the current one (`sentra fetch-marts` copies it to a BI host).",
    )
    warehouse_versions_kept: int = Field(
        default=5,
        gt=0,
        description="With an S3 warehouse: how many published versions to keep (the current "
        "one included); older ones are deleted after a publish.",
    )
    duckdb_memory_limit: str = Field(
        default="1GB",
        pattern=r"^\s*\d+(\.\d+)?\s*(KB|MB|GB|TB|KiB|MiB|GiB|TiB)\s*$",
        description="The most memory DuckDB may use while it builds the marts (e.g. 1GB, "
        "1500MiB); beyond it, sorts, joins and windows spill to SENTRA_DUCKDB_TEMP_DIRECTORY. "
        "Without a limit DuckDB takes up to 80% of the machine's memory.",
    )
    duckdb_temp_directory: Path = Field(
        default=Path(tempfile.gettempdir()) / "sentra-duckdb",
        description="Where DuckDB spills what does not fit in SENTRA_DUCKDB_MEMORY_LIMIT; "
        "a local folder with free space (it is emptied as queries finish).",
    )
    duckdb_threads: int | None = Field(
        default=None,
        gt=0,
        description="How many threads DuckDB uses for the marts build; unset means one per "
        "core. Fewer threads also need less memory.",
    )
    as_of: date | None = Field(
        default=None,
        description="Reference date for survey staleness; defaults to today. Set it to "
        "reproduce a past ranking exactly.",
    )
    scoring_config: Path | None = Field(
        default=None,
        description="A scoring configuration YAML replacing the built-in "
        "pipelines/config/scoring.yaml (weights, eligibility gates, phasing).",
    )

    expectations_dir: Path = Field(
        default=EXPECTATIONS_DIR,
        description="Great Expectations suites (JSON), one per dataset.",
    )
    sql_dir: Path = Field(
        default=SQL_DIR,
        description="The SQL models that build the marts (staging, intermediate, marts).",
    )

    quality_policy: Path | None = Field(
        default=None,
        description="A data-quality policy YAML replacing the built-in "
        "pipelines/config/quality.yaml (row-rejection thresholds, volume and freshness rules).",
    )
    alert_urls: str = Field(
        default="",
        description="Apprise URLs alerts are delivered to (mailto://, json://, slack://, ...), "
        "separated by spaces or commas; empty means console only.",
    )

    event_source: Literal["poll", "sqs"] = Field(
        default="poll",
        description="How Airflow notices landed files: 'poll' lists the landing store (folders, "
        "MinIO); 'sqs' reads S3 event notifications from SENTRA_SQS_QUEUE_URL (AWS).",
    )
    sqs_queue_url: str | None = Field(
        default=None,
        description="The SQS queue the landing bucket sends its event notifications to.",
    )
    claim_lease_seconds: float = Field(
        default=3600.0,
        gt=0,
        description="How long a worker's claim on a file it is ingesting holds without a result; "
        "after it, the attempt counts as failed (the worker died) and another worker takes over.",
    )
    s3_max_attempts: int = Field(
        default=5,
        ge=1,
        description="How many times one S3 request is tried (the first included) when S3 "
        "throttles, answers 5xx, times out or cannot be reached; between tries the client backs "
        "off exponentially with jitter (up to 1, 2, 4, 8 ... s, at most 20 s).",
    )
    s3_connect_timeout_seconds: float = Field(
        default=10.0,
        gt=0,
        description="How long one S3 request may wait to connect before it counts as failed.",
    )
    s3_read_timeout_seconds: float = Field(
        default=60.0,
        gt=0,
        description="How long one S3 request may wait for the server's answer (or between two "
        "reads of it) before it counts as failed.",
    )
    watch_interval_seconds: float = Field(
        default=5.0,
        gt=0,
        description="How often the 'poll' watcher lists the landing store.",
    )

    bps_api_url: str = Field(
        default="https://webapi.bps.go.id/v1/api",
        description="Base URL of the BPS Web API (a local server in tests and offline demos).",
    )
    bps_api_key: SecretStr | None = Field(
        default=None,
        description="The BPS Web API key; needed only by `sentra ingest bps`. Never logged: "
        "every URL shown anywhere has it replaced by ***.",
    )

    pii_salt: SecretStr = Field(
        default=SecretStr(DEMO_PII_SALT),
        description="Secret mixed into the hash that replaces marketplace buyer identifiers (so "
        "distinct buyers can be counted without keeping who they are). The default is public "
        "and only fit for the demo (ingest refuses it elsewhere, see allow_demo_salt): set a "
        "long random secret in production (e.g. `openssl rand -hex 32`) and keep it, since a new "
        "salt makes every buyer look new.",
    )
    allow_demo_salt: bool = Field(
        default=False,
        description="Let ingest run with the public demo salt outside `sentra demo` (a throwaway "
        "test environment). Without it, ingest refuses the demo salt.",
    )

    def refuse_demo_salt(self) -> None:
        """Outside the demo, buyer ids must never be hashed with the salt everyone can read."""
        if self.pii_salt.get_secret_value() == DEMO_PII_SALT and not self.allow_demo_salt:
            raise ConfigurationError(
                "SENTRA_PII_SALT is the public demo value, so marketplace buyer hashes could be "
                "recomputed by anyone who knows a buyer's username. Set SENTRA_PII_SALT to a long "
                "random secret (e.g. `openssl rand -hex 32`) and keep it; for a throwaway test "
                "environment set SENTRA_ALLOW_DEMO_SALT=true instead. (`sentra demo` allows it.)"
            )

    @field_validator("warehouse", mode="before")
    @classmethod
    def _path_as_text(cls, value: object) -> object:
        return str(value) if isinstance(value, Path) else value

    @field_validator("landing", "lake")
    @classmethod
    def _strip_trailing_slash(cls, value: str) -> str:
        stripped = value.rstrip("/")
        return stripped or value

    @model_validator(mode="after")
    def _sqs_needs_a_queue(self) -> Settings:
        if self.event_source == "sqs" and not self.sqs_queue_url:
            raise ValueError("SENTRA_EVENT_SOURCE=sqs needs SENTRA_SQS_QUEUE_URL (the queue URL)")
        return self

    # Plain properties over a cache keyed by URI: a copy of the settings with another lake
    # (model_copy) must never keep serving the first lake's store.
    @property
    def landing_store(self) -> Storage:
        return self._store(absolute_uri(self.landing))

    @property
    def lake_store(self) -> Storage:
        return self._store(absolute_uri(self.lake))

    @property
    def warehouse_on_s3(self) -> bool:
        return self.warehouse.startswith("s3://")

    @property
    def warehouse_store(self) -> Storage:
        """The S3 prefix the marts are published under (``warehouse_on_s3`` only)."""
        if not self.warehouse_on_s3:
            raise ValueError(f"SENTRA_WAREHOUSE={self.warehouse} is a local file, not s3://")
        return self._store(self.warehouse.rstrip("/"))

    def _store(self, uri: str) -> Storage:
        return store_for(
            uri,
            self.s3_max_attempts,
            self.s3_connect_timeout_seconds,
            self.s3_read_timeout_seconds,
        )

    @property
    def warehouse_path(self) -> Path:
        """The marts' DuckDB file on this machine.

        Local warehouse: the published file itself. S3 warehouse: this machine's working copy
        of the last version it built (readers elsewhere use ``sentra fetch-marts``).
        """
        if not self.warehouse_on_s3:
            return Path(self.warehouse)
        digest = hashlib.sha256(self.warehouse.encode()).hexdigest()[:12]
        return Path(tempfile.gettempdir()) / "sentra-marts" / digest / "sentra.duckdb"

    def reference_date(self) -> date:
        return self.as_of or date.today()


def absolute_uri(uri: str) -> str:
    """URIs as they are; plain folders made absolute, so the cache never outlives a chdir."""
    return uri if uri.startswith(("s3://", "file://")) else str(Path(uri).resolve())


@lru_cache(maxsize=32)
def store_for(
    uri: str, s3_max_attempts: int, connect_timeout: float, read_timeout: float
) -> Storage:
    from pipelines.platform.storage import open_storage

    return open_storage(
        uri,
        max_attempts=s3_max_attempts,
        connect_timeout=connect_timeout,
        read_timeout=read_timeout,
    )
