"""Secrets outside the demo: the public PII salt is refused unless explicitly allowed."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import SecretStr

from pipelines.app import usecases
from pipelines.platform.settings import DEMO_PII_SALT, ConfigurationError
from tests.conftest import local_settings


def test_ingest_refuses_the_public_demo_salt_unless_allowed(tmp_path: Path) -> None:
    refused = local_settings(tmp_path).model_copy(update={"allow_demo_salt": False})
    assert refused.pii_salt.get_secret_value() == DEMO_PII_SALT
    with pytest.raises(ConfigurationError, match="SENTRA_PII_SALT"):
        usecases.ingest(refused, None)
    with pytest.raises(ConfigurationError, match="SENTRA_PII_SALT"):
        usecases.replay(refused, None, ["0" * 64])
    secret = refused.model_copy(update={"pii_salt": SecretStr("a-long-random-secret-0123456789")})
    assert usecases.ingest(secret, None).summary.outcomes == []


def test_the_cli_says_what_to_set_and_exits_2(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SENTRA_")}
    env |= {"SENTRA_LANDING": str(tmp_path / "landing"), "SENTRA_LAKE": str(tmp_path / "lake")}
    done = subprocess.run(
        [sys.executable, "-m", "pipelines.app.cli", "ingest"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 2
    assert "SENTRA_PII_SALT" in done.stderr
    assert "SENTRA_ALLOW_DEMO_SALT" in done.stderr
    assert not (tmp_path / "lake").exists()
