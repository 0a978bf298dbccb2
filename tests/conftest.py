"""Shared fixtures. S3 tests talk real HTTP to a moto server, never an in-process mock."""

from __future__ import annotations

import os
import tempfile
import uuid
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

    from pipelines.platform.settings import Settings
    from tests.s3_endpoint import S3Endpoint


# The fuzz tests (tests/feeds/test_fuzz_*.py) run in every `make test`: on a fixed seed there, so a
# green suite stays green and a red one is red for everyone; no deadline, since CI machines vary
# and a hang is caught by tests.hostile.hang_guard instead. A deeper exploration on new seeds:
# `pytest --hypothesis-profile=deep tests/feeds/test_fuzz_*.py` (docs/reliability.md).
_FUZZ_HEALTH = [HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example]
hypothesis_settings.register_profile(
    "ci",
    max_examples=200,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=_FUZZ_HEALTH,
)
hypothesis_settings.register_profile(
    "deep", max_examples=4000, deadline=None, suppress_health_check=_FUZZ_HEALTH
)
hypothesis_settings.load_profile("ci")


def pytest_configure(config: pytest.Config) -> None:
    """Tests ingest invented buyers: the public demo salt is allowed, in subprocesses too.

    The test of the refusal itself asks for ``allow_demo_salt=False`` explicitly.
    """
    os.environ.setdefault("SENTRA_ALLOW_DEMO_SALT", "true")


@pytest.fixture(scope="session")
def moto_server() -> Iterator[str]:
    """A moto S3 server in a subprocess; yields its endpoint URL."""
    from docker.cluster import start_moto, stop

    with tempfile.TemporaryDirectory(prefix="moto-") as folder:
        url, process = start_moto(Path(folder, "moto.log"))
        try:
            yield url
        finally:
            stop(process, grace=10)


def _no_real_aws(monkeypatch: pytest.MonkeyPatch, config_path: str) -> None:
    monkeypatch.setenv("AWS_CONFIG_FILE", config_path)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", config_path)
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL_S3", "AWS_REGION"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(scope="session")
def moto_admin(moto_server: str, tmp_path_factory: pytest.TempPathFactory) -> S3Client:
    """One client for test set-up (creating buckets); a client costs ~0.15 s to build."""
    import boto3

    with pytest.MonkeyPatch.context() as monkeypatch:
        _no_real_aws(monkeypatch, str(tmp_path_factory.mktemp("aws") / "absent"))
        return boto3.session.Session().client(
            "s3",
            endpoint_url=moto_server,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
            region_name="us-east-1",
        )


@pytest.fixture
def s3_env(
    moto_server: str, moto_admin: S3Client, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> str:
    """AWS_* pointed at moto, a fresh bucket; returns the store URI ``s3://<bucket>/some-prefix``."""
    _no_real_aws(monkeypatch, str(tmp_path / "no-such-aws-config"))
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_server)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    bucket = f"test-{uuid.uuid4().hex[:16]}"
    moto_admin.create_bucket(Bucket=bucket)
    return f"s3://{bucket}/some-prefix"


@pytest.fixture
def s3_endpoint(
    s3_env: str, moto_server: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[S3Endpoint]:
    """AWS_ENDPOINT_URL pointed at an endpoint in front of moto that can misbehave on cue."""
    from tests.s3_endpoint import S3Endpoint

    endpoint = S3Endpoint(moto_server)
    monkeypatch.setenv("AWS_ENDPOINT_URL", endpoint.url)
    yield endpoint
    endpoint.stop()


# A fixed reference date keeps survey-staleness gates independent of when the tests run.
TEST_AS_OF = date(2026, 6, 30)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Local landing, lake and warehouse in a fresh temporary folder."""
    return local_settings(tmp_path)


def local_settings(root: Path) -> Settings:
    """Landing, lake and warehouse under ``root``, for fixtures of any scope."""
    from pipelines.platform.settings import Settings

    return Settings(
        landing=str(root / "landing"),
        lake=str(root / "lake"),
        warehouse=root / "warehouse" / "sentra.duckdb",
        as_of=TEST_AS_OF,
    )


def as_environment(settings: Settings) -> dict[str, str]:
    """The settings as the SENTRA_* variables the CLI reads."""
    return {
        f"SENTRA_{name.upper()}": str(value)
        for name, value in settings.model_dump(exclude_none=True).items()
        if isinstance(value, str | int | float | date)
    }


@pytest.fixture
def s3_settings(s3_env: str, tmp_path: Path) -> Settings:
    """Landing and lake in a fresh moto bucket; the warehouse stays a local file."""
    from pipelines.platform.settings import Settings

    return Settings(
        landing=f"{s3_env}/landing",
        lake=f"{s3_env}/lake",
        warehouse=tmp_path / "warehouse" / "sentra.duckdb",
        as_of=TEST_AS_OF,
    )
