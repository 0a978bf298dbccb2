"""DAG integrity: every DAG imports, parses fast, has docs, tags, owner, retries and its assets.

The DAG files are parsed in subprocesses (tests/airflow/inspect_dags.py) with a temporary
AIRFLOW_HOME, once per event source, so Airflow never loads into the test workers.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from pipelines.feeds.catalog import FEEDS
from tests.airflow.shared import once_per_run

PROJECT = Path(__file__).resolve().parent.parent
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
    assert inspected[mode]["import_errors"] == {}
    assert set(inspected[mode]["dags"]) == expected_dag_ids()


@pytest.mark.parametrize("mode", MODES)
def test_each_file_parses_well_under_a_second(inspected: dict[str, Any], mode: str) -> None:
    timings = inspected[mode]["parse_seconds"]
    print(f"\nparse seconds ({mode}): {timings}")
    assert timings, "no DAG files found"
    for name, spent in timings.items():
        # CPU time is the file's own cost. Wall time (printed, and in docs/airflow.md for a quiet
        # machine) also counts whatever else runs, e.g. the other test worker: not asserted.
        assert spent["cpu"] < 0.5, f"{name} took {spent['cpu']:.2f} s of CPU to parse"


def test_every_dag_is_documented_tagged_owned_and_retried(inspected: dict[str, Any]) -> None:
    for dag_id, dag in inspected["poll"]["dags"].items():
        assert "sentra" in dag["tags"], dag_id
        assert "**When it fails**" in dag["doc_md"], f"{dag_id}: doc_md must say what to do"
        for task_id, task in dag["tasks"].items():
            where = f"{dag_id}.{task_id}"
            assert task["owner"] == OWNER, where
            assert task["on_failure_callback"] == ["SentraAlertNotifier"], where
            if task["retries"]:
                assert task["exponential_backoff"] > 1, where
        work = [t for name, t in dag["tasks"].items() if not name.startswith(("announce", "check"))]
        if dag_id != "sentra_reprocess":  # manual: a person reruns it with new parameters
            assert all(task["retries"] >= 1 for task in work), dag_id


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
