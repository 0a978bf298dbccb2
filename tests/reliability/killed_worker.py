"""A worker process that pauses at one write so the test can ``kill -9`` it there.

``python -m tests.reliability.killed_worker ingest|publish ROOT WRITE_NUMBER MARKER``: runs an
ingest (run ``run-1``) or a publish (``run-p2``) of the lake under ROOT, with every store and
rename going through ``Faults``; at write WRITE_NUMBER it writes MARKER and waits to be killed.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from pipelines.marts.publish import build_and_publish
from tests.conftest import local_settings
from tests.reliability.faults import Faults, faulty_renames, faulty_stores
from tests.reliability.scenarios import ingest


def main(kind: str, root: str, write_number: str, marker: str) -> None:
    settings = local_settings(Path(root))
    faults = Faults(at=int(write_number), mode="pause", pause_marker=Path(marker))
    with pytest.MonkeyPatch.context() as monkeypatch, faulty_stores(monkeypatch, faults):
        if kind == "ingest":
            ingest(settings, "run-1")
        else:
            with faulty_renames(monkeypatch, faults):
                build_and_publish(settings, "run-p2")
    raise SystemExit(f"write {write_number} never came: the worker was not killed there")


if __name__ == "__main__":
    main(*sys.argv[1:])
