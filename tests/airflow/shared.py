"""Run an expensive fixture once per test run, even when pytest-xdist spreads its tests over
several workers (each would otherwise build its own copy of a module-scoped fixture)."""

from __future__ import annotations

import fcntl
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest


def once_per_run(
    tmp_path_factory: pytest.TempPathFactory, name: str, produce: Callable[[Path], dict[str, Any]]
) -> dict[str, Any]:
    """``produce(folder)`` in the first worker that asks; the others wait and read its result."""
    base = tmp_path_factory.getbasetemp()
    # Under xdist each worker's base is a sub-folder of this run's; alone, the base is the run's.
    shared = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base
    folder = shared / name
    folder.mkdir(exist_ok=True)
    with (folder / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        done = folder / "result.json"
        if not done.exists():
            done.write_text(json.dumps(produce(folder), default=str))
        result: dict[str, Any] = json.loads(done.read_text())
        return result
