"""Fixtures shared by the ingest tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipelines.quality.validation import Validator

EXPECTATIONS_DIR = Path(__file__).resolve().parents[2] / "expectations"


@pytest.fixture(scope="module")
def validator() -> Validator:
    """One validator per test module: GX's context and suites are built once."""
    return Validator(EXPECTATIONS_DIR)
