"""Run by tests/dags/test_dags_integrity.py: ``inspect_dags.py DAGS_FOLDER OUT.json``.

A subprocess, because Airflow reads its configuration (AIRFLOW_HOME) once per interpreter and
the test suite must not import Airflow into its workers. Parse times (wall clock, and CPU time,
which other load on the machine disturbs less) are measured the way the
DAG processor parses: Airflow pre-imported in a parent (including the ``airflow.*`` modules the
file imports at top level, see ``parsing_pre_import_modules``), then each file executed in a
forked child.
"""

from __future__ import annotations

import importlib
import json
import os
import runpy
import sys
import time
from pathlib import Path
from typing import Any


def parse_seconds(path: Path) -> dict[str, float]:
    """Steady state: the second parse, once the first has left its bytecode cache behind."""
    from airflow.utils.file import iter_airflow_imports

    for module in iter_airflow_imports(str(path)):
        importlib.import_module(module)
    parse_once(path)
    return parse_once(path)


def parse_once(path: Path) -> dict[str, float]:
    read, write = os.pipe()
    child = os.fork()
    if child == 0:  # the child: time one file, report, leave without cleanup
        os.close(read)
        wall, cpu = time.perf_counter(), time.process_time()
        runpy.run_path(str(path), run_name=f"parse_{path.stem}")
        spent = {"wall": time.perf_counter() - wall, "cpu": time.process_time() - cpu}
        os.write(write, json.dumps(spent).encode())
        os._exit(0)
    os.close(write)
    with os.fdopen(read) as stream:
        elapsed = stream.read()
    os.waitpid(child, 0)
    spent: dict[str, float] = json.loads(elapsed)
    return spent


def assets_in(condition: Any) -> list[Any]:
    """The assets of a schedule condition (an asset, or any/all of several)."""
    if condition is None:
        return []
    if hasattr(condition, "objects"):
        return [asset for part in condition.objects for asset in assets_in(part)]
    return [condition]


def describe(dag: Any) -> dict[str, Any]:
    assets = assets_in(getattr(dag.timetable, "asset_condition", None))
    return {
        "tags": sorted(dag.tags),
        "doc_md": dag.doc_md or "",
        "timetable": type(dag.timetable).__name__,
        "schedule": [asset.name for asset in assets],
        "watchers": {
            asset.name: [
                {"name": watcher.name, "trigger": watcher.trigger.serialize()[0]}
                for watcher in asset.watchers
            ]
            for asset in assets
        },
        "params": sorted(dag.params.keys()),
        "tasks": {
            task.task_id: {
                "owner": task.owner,
                "retries": task.retries,
                "exponential_backoff": task.retry_exponential_backoff,
                "on_failure_callback": [type(c).__name__ for c in task.on_failure_callback or []],
                "outlets": [outlet.name for outlet in task.outlets],
            }
            for task in dag.tasks
        },
    }


def dag_files(dags_folder: Path) -> list[Path]:
    ignored = {
        line.strip()
        for line in (dags_folder / ".airflowignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    }
    return sorted(p for p in dags_folder.glob("*.py") if p.name not in ignored)


def main() -> None:
    dags_folder, output = Path(sys.argv[1]), Path(sys.argv[2])
    sys.path.insert(0, str(dags_folder))
    import airflow.sdk  # noqa: F401  (what the processor has loaded before any file)
    from airflow.dag_processing.dagbag import DagBag

    timings = {path.name: parse_seconds(path) for path in dag_files(dags_folder)}
    bag = DagBag(dag_folder=str(dags_folder))
    output.write_text(
        json.dumps(
            {
                "import_errors": {str(k): str(v) for k, v in bag.import_errors.items()},
                "parse_seconds": timings,
                "dags": {dag_id: describe(dag) for dag_id, dag in bag.dags.items()},
            }
        )
    )


if __name__ == "__main__":
    main()
