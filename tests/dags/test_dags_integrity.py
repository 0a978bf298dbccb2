"""DAG integrity: every DAG imports, parses without heavy imports, has docs, tags, owner, retries
and its assets.

The DAG files are parsed in subprocesses (tests/airflow/inspect_dags.py) with a temporary
AIRFLOW_HOME, once per event source, so Airflow never loads into the test workers. Their parse
times are measured there and printed (``-s``), not asserted: docs/airflow.md has the figures.
"""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from pipelines.feeds.catalog import FEEDS
from pipelines.platform.settings import PROJECT_ROOT
from tests.airflow.shared import once_per_run

PROJECT = PROJECT_ROOT
OWNER = "sentra-data-engineering"
MODES = {
    "poll": {},
    "sqs": {
        "SENTRA_EVENT_SOURCE": "sqs",
        "SENTRA_SQS_QUEUE_URL": "http://127.0.0.1:9/123456789012/landing",
        "AWS_DEFAULT_REGION": "us-east-1",
    },
}


def inspect_all_modes(root: Path) -> dict[str, Any]:
    running = {}
    for mode, extra in MODES.items():
        env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "SENTRA_"))}
        # Bytecode caching on (in a private folder): the DAG processor parses with .pyc files.
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env.update(
            AIRFLOW_HOME=str(root / mode / "airflow"),
            AIRFLOW__CORE__LOAD_EXAMPLES="False",
            PYTHONPYCACHEPREFIX=str(root / "pycache"),
            PYTHONPATH=str(PROJECT),
            SENTRA_LANDING=str(root / mode / "landing"),
            SENTRA_LAKE=str(root / mode / "lake"),
            **extra,
        )
        output = root / f"{mode}.json"
        script = PROJECT / "tests" / "airflow" / "inspect_dags.py"
        process = subprocess.Popen(
            [sys.executable, str(script), str(PROJECT / "dags"), str(output)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        running[mode] = (process, output)
    results = {}
    for mode, (process, output) in running.items():
        log, _ = process.communicate(timeout=300)
        assert process.returncode == 0, log[-5000:]
        results[mode] = json.loads(output.read_text())
    return results


@pytest.fixture(scope="module")
def inspected(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    return once_per_run(tmp_path_factory, "inspect-dags", inspect_all_modes)


def expected_dag_ids() -> set[str]:
    fixed = {"sentra_marts", "sentra_reprocess", "sentra_freshness", "sentra_bps_pull"}
    return fixed | {f"sentra_ingest_{source}" for source in FEEDS}


@pytest.mark.parametrize("mode", MODES)
def test_every_dag_imports_without_errors(inspected: dict[str, Any], mode: str) -> None:
    print(f"\nparse seconds ({mode}): {inspected[mode]['parse_seconds']}")
    assert inspected[mode]["import_errors"] == {}
    assert set(inspected[mode]["dags"]) == expected_dag_ids()


# What makes a parse slow: libraries that take seconds to import. The feeds import them inside
# the functions that use them (pipelines/feeds/catalog.py), so listing the feeds stays cheap.
HEAVY_LIBRARIES = (
    "apprise", "boto3", "duckdb", "great_expectations", "numpy", "openpyxl", "pandas", "pyarrow",
    "sqlalchemy",
)  # fmt: skip


def module_level_pipelines_imports() -> list[str]:
    """The ``pipelines`` imports the dags folder's modules run when a DAG file is parsed."""
    statements = []
    for path in sorted((PROJECT / "dags").glob("*.py")):
        for node in ast.parse(path.read_text()).body:
            names = (
                [node.module or ""]
                if isinstance(node, ast.ImportFrom)
                else [alias.name for alias in node.names]
                if isinstance(node, ast.Import)
                else []
            )
            if any(name.split(".")[0] == "pipelines" for name in names):
                statements.append(ast.unparse(node))
    return sorted(set(statements))


def test_parsing_a_dag_file_loads_no_heavy_library_from_pipelines() -> None:
    statements = module_level_pipelines_imports()
    assert statements, "the DAG files import nothing from pipelines at module level"
    probe = [
        *statements,
        "import json, sys",
        f"print(json.dumps(sorted(set({HEAVY_LIBRARIES!r}) & sys.modules.keys())))",
    ]
    loaded = subprocess.run(
        [sys.executable, "-c", "\n".join(probe)],
        cwd=PROJECT,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    ).stdout
    assert json.loads(loaded) == [], f"imported when {statements} run"


def test_every_dag_is_documented_tagged_owned_and_retried(inspected: dict[str, Any]) -> None:
    dags = inspected["poll"]["dags"]
    assert dags.keys() == expected_dag_ids()
    tasks = {
        f"{dag_id}.{task_id}": task
        for dag_id, dag in dags.items()
        for task_id, task in dag["tasks"].items()
    }
    # Work is what is not announcing or checking; the manual replay is rerun by a person instead.
    work = [
        where
        for where in tasks
        if not where.startswith("sentra_reprocess.")
        and not where.split(".")[1].startswith(("announce", "check"))
    ]
    retried = [where for where, task in tasks.items() if task["retries"]]

    assert [d for d, dag in dags.items() if "sentra" not in dag["tags"]] == []
    assert [d for d, dag in dags.items() if "**When it fails**" not in dag["doc_md"]] == []
    unowned_or_silent = [
        where
        for where, task in tasks.items()
        if task["owner"] != OWNER or task["on_failure_callback"] != ["SentraAlertNotifier"]
    ]
    assert unowned_or_silent == []
    assert work and set(work) <= set(retried)
    assert [where for where in retried if tasks[where]["exponential_backoff"] <= 1] == []


def outlets(dag: dict[str, Any]) -> set[str]:
    return {outlet for task in dag["tasks"].values() for outlet in task["outlets"]}


def test_assets_chain_landed_to_validated_to_marts(inspected: dict[str, Any]) -> None:
    dags = inspected["poll"]["dags"]
    for source in FEEDS:
        ingest = dags[f"sentra_ingest_{source}"]
        assert ingest["schedule"] == [f"sentra.landed.{source}"]
        assert outlets(ingest) == {f"sentra.validated.{source}"}
        assert ingest["tasks"]["announce_validated"]["outlets"] == [f"sentra.validated.{source}"]
    assert set(dags["sentra_marts"]["schedule"]) == {f"sentra.validated.{s}" for s in FEEDS}
    assert outlets(dags["sentra_marts"]) == {"sentra.marts"}
    # A replay announces the marts it built, never a validated feed: no second marts run.
    assert outlets(dags["sentra_reprocess"]) == {"sentra.marts"}
    assert dags["sentra_reprocess"]["params"] == [
        "force_rebuild",
        "landing_keys",
        "rebuild_marts",
        "sha256s",
    ]
    assert outlets(dags["sentra_bps_pull"]) == {"sentra.validated.bps"}
    assert dags["sentra_bps_pull"]["timetable"] == "CronTriggerTimetable"
    assert dags["sentra_freshness"]["timetable"] == "CronTriggerTimetable"


def test_watchers_follow_the_event_source_setting(inspected: dict[str, Any]) -> None:
    for source in FEEDS:
        asset = f"sentra.landed.{source}"
        poll = inspected["poll"]["dags"][f"sentra_ingest_{source}"]["watchers"][asset]
        assert poll == [
            {
                "name": f"sentra_landing_poll_{source}",
                "trigger": "sentra_triggers.LandingStoreTrigger",
            }
        ]
        sqs = inspected["sqs"]["dags"][f"sentra_ingest_{source}"]["watchers"][asset]
        # One queue for the landing bucket: the same watcher on every feed's asset.
        assert sqs == [
            {
                "name": "sentra_landing_sqs",
                "trigger": "airflow.providers.amazon.aws.triggers.sqs.SqsSensorTrigger",
            }
        ]
