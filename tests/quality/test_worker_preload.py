"""The Celery workers' preload: wired through Celery's own ``imports`` setting, GX only there,
with what the DAG files import."""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[2]
PRELOAD = "pipelines.quality.worker_preload"


def dag_imports() -> list[str]:
    """The ``pipelines`` modules the DAG files import at their top level: each task process
    parses its DAG file first, so these are imported by every task unless the worker has them."""
    found = set()
    for path in (PROJECT / "dags").glob("*.py"):
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("pipelines"):
                found.add(str(node.module))
            elif isinstance(node, ast.Import):
                found |= {alias.name for alias in node.names if alias.name.startswith("pipelines")}
    return sorted(found)


def test_the_celery_app_imports_gx_at_worker_start_and_not_before(tmp_path: Path) -> None:
    assert dag_imports()  # the DAG files do import the pipeline's modules
    probe = "\n".join(
        [
            "import json, sys",
            f"DAG_IMPORTS = {dag_imports()!r}",
            "from airflow.providers.celery.executors.celery_executor_utils import app",
            "before = 'great_expectations' in sys.modules",
            "app.loader.import_default_modules()  # what a starting worker does, before forking",
            "loaded = [m in sys.modules for m in ('great_expectations', *DAG_IMPORTS)]",
            "print(json.dumps([app.conf.imports, before, all(loaded)]))",
        ]
    )
    env = {
        **os.environ,
        "AIRFLOW_HOME": str(tmp_path),
        "AIRFLOW__CORE__EXECUTOR": "CeleryExecutor",
        "AIRFLOW__CELERY__EXTRA_CELERY_CONFIG": json.dumps({"imports": [PRELOAD]}),
    }
    done = subprocess.run(
        [sys.executable, "-c", probe], cwd=PROJECT, env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr[-2000:]
    imports, before, after = json.loads(done.stdout.strip().splitlines()[-1])
    # The scheduler builds the same app to send tasks: it must not import GX for it.
    assert imports == [PRELOAD] and not before and after


def test_both_deployments_configure_the_preload() -> None:
    from docker import cluster

    compose = (PROJECT / "docker" / "compose.yaml").read_text(encoding="utf-8")
    assert f'{{"imports": ["{PRELOAD}"]}}' in compose
    assert cluster.WORKER_PRELOAD == PRELOAD
