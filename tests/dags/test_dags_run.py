"""The DAGs run for real with ``dag.test()``: ingest, quarantine + alert, marts, replay, lineage.

One subprocess (tests/airflow/dag_scenarios.py) runs every scenario against a temporary SQLite
metadata database and lake, delivering alerts and OpenLineage events (the provider's HTTP
transport) to HTTP receivers on 127.0.0.1 here; the tests below assert on what it reports and
what they received. About 40 s on 2 cores, most of it Airflow's and Great Expectations' imports.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest

from pipelines.platform.settings import PROJECT_ROOT
from tests.airflow.shared import once_per_run
from tests.conftest import TEST_AS_OF

PROJECT = PROJECT_ROOT


class JsonReceiver(BaseHTTPRequestHandler):
    """Keeps the JSON body of every POST: an alert (Apprise json://) or an OpenLineage event."""

    received: ClassVar[list[dict[str, Any]]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        type(self).received.append(json.loads(body or b"{}"))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args: Any) -> None:  # keep the test output quiet
        pass


@contextmanager
def json_receiver() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    """``127.0.0.1:<port>`` and the bodies posted to it, while the context lasts."""
    received: list[dict[str, Any]] = []
    handler = type("Receiver", (JsonReceiver,), {"received": received})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"127.0.0.1:{server.server_address[1]}", received
    finally:
        server.shutdown()


def run_scenarios(root: Path) -> dict[str, Any]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "SENTRA_"))}
    env.update(
        AIRFLOW_HOME=str(root / "airflow"),
        AIRFLOW__CORE__DAGS_FOLDER=str(PROJECT / "dags"),
        AIRFLOW__CORE__LOAD_EXAMPLES="False",
        PYTHONPATH=os.pathsep.join([str(PROJECT / "dags"), str(PROJECT)]),
        SENTRA_LANDING=str(root / "landing"),
        SENTRA_LAKE=str(root / "lake"),
        SENTRA_WAREHOUSE=str(root / "warehouse" / "sentra.duckdb"),
        SENTRA_AS_OF=TEST_AS_OF.isoformat(),
        # As in production: a secret salt, not the public demo one (which ingest refuses).
        SENTRA_PII_SALT="dag-tests-secret-salt-0123456789abcdef",
        # As docker/compose.yaml passes an unset key: empty. The BPS poll must skip, not fail.
        SENTRA_BPS_API_KEY="",
    )
    output = root / "scenarios.json"
    script = PROJECT / "tests" / "airflow" / "dag_scenarios.py"
    with json_receiver() as (alerts_at, received), json_receiver() as (lineage_at, lineage):
        completed = subprocess.run(
            [sys.executable, str(script), str(output)],
            env={
                **env,
                "SENTRA_ALERT_URLS": f"json://{alerts_at}/alerts",
                **lineage_env(lineage_at),
            },
            capture_output=True,
            text=True,
            timeout=300,
        )
    assert completed.returncode == 0, completed.stdout[-5000:] + completed.stderr[-5000:]
    results: dict[str, Any] = json.loads(output.read_text())
    timings = {
        k: v["seconds"] for k, v in results.items() if isinstance(v, dict) and "seconds" in v
    }
    print(f"\ndag.test() seconds: {timings}, migrate {results['migrate_seconds']} s")
    return {**results, "alerts": received, "lineage": lineage, "root": str(root)}


def lineage_env(receiver: str) -> dict[str, str]:
    """Airflow's standard OpenLineage settings, sending every event to the receiver over HTTP."""
    transport = {"type": "http", "url": f"http://{receiver}", "endpoint": "api/v1/lineage"}
    return {
        "AIRFLOW__OPENLINEAGE__TRANSPORT": json.dumps(transport),
        "AIRFLOW__OPENLINEAGE__NAMESPACE": "sentra",
        # Events are sent from a forked process the task waits for (10 s by default); on a loaded
        # 2-core machine that can pass, and a lost event would fail the test, not the product.
        "AIRFLOW__OPENLINEAGE__EXECUTION_TIMEOUT": "120",
    }


@pytest.fixture(scope="module")
def scenarios(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    return once_per_run(tmp_path_factory, "dag-test", run_scenarios)


def test_dags_import_for_dag_test(scenarios: dict[str, Any]) -> None:
    assert scenarios["import_errors"] == {}


def test_ingest_publishes_the_good_file_and_fails_the_run_on_the_quarantined_one(
    scenarios: dict[str, Any],
) -> None:
    ingest = scenarios["ingest"]
    # One mapped ingest per landed file.
    assert ingest["tasks"] == {
        "unsettled": "success",
        "ingest[0]": "success",
        "ingest[1]": "success",
        "summarise": "success",
        "announce_validated": "success",
        "check_outcomes": "failed",
    }
    assert ingest["state"] == "failed"
    (event,) = scenarios["events"]["sentra.validated.registry"]
    assert event["source_dag_id"] == "sentra_ingest_registry"
    extra = event["extra"]
    assert extra["statuses"] == {"ingested": 1, "quarantined": 1}
    assert len(extra["sha256s"]) == 1 and extra["rows_in"] == extra["rows_valid"] > 0
    assert extra["files"][0]["key"] == "registry/jatim.xlsx"
    reports = list(Path(scenarios["root"], "lake", "quarantine", "registry").rglob("report.json"))
    assert len(reports) == 1


def test_a_quarantined_file_is_alerted_with_a_link_to_the_run(scenarios: dict[str, Any]) -> None:
    quarantine = [a for a in scenarios["alerts"] if "quarantined" in a.get("title", "")]
    assert quarantine, scenarios["alerts"]
    body = quarantine[0]["message"]
    assert "registry/bad.csv" in body and "province" in body.lower()
    assert "/dags/sentra_ingest_registry/runs/" in body


def test_marts_publish_once_and_a_repeat_is_a_no_op(scenarios: dict[str, Any]) -> None:
    assert scenarios["marts"]["tasks"] == {
        "build": "success",
        "announce_marts": "success",
        "report": "success",
    }
    assert scenarios["marts_again"]["tasks"] == {
        "build": "success",
        "announce_marts": "skipped",
        "report": "success",
    }
    first = scenarios["events"]["sentra.marts"][0]["extra"]
    assert first["row_counts"]["dim_sentra"] > 0 and first["input_files"] == 1
    assert Path(scenarios["root"], "warehouse", "sentra.duckdb").exists()
    assert Path(scenarios["root"], "warehouse", "report", "index.html").is_file()


def test_nothing_new_announces_nothing(scenarios: dict[str, Any]) -> None:
    assert scenarios["ingest_again"]["tasks"] == {
        "unsettled": "success",
        "ingest": "skipped",
        "summarise": "success",
        "announce_validated": "skipped",
        "check_outcomes": "success",
    }


def test_a_replay_builds_once_without_fanning_out(scenarios: dict[str, Any]) -> None:
    assert scenarios["reprocess"]["tasks"] == {
        "replay_and_build": "success",
        "announce_marts": "success",
    }
    # One validated event in all (the first ingest): the replay announced only the marts.
    assert len(scenarios["events"]["sentra.validated.registry"]) == 1
    marts = scenarios["events"]["sentra.marts"]
    assert [event["source_dag_id"] for event in marts] == ["sentra_marts", "sentra_reprocess"]


def test_the_freshness_watchdog_alerts_on_overdue_feeds(scenarios: dict[str, Any]) -> None:
    freshness = scenarios["freshness"]["tasks"]["check"]
    # Only one province sent a registry: the others are overdue, so the run alerts and fails.
    assert freshness == "failed"
    assert any("overdue" in alert.get("title", "") for alert in scenarios["alerts"])


def test_the_bps_poll_skips_cleanly_without_an_api_key(scenarios: dict[str, Any]) -> None:
    assert scenarios["bps"]["tasks"] == {
        "pull": "skipped",
        "announce_validated": "skipped",
        "check_outcomes": "skipped",
    }
    assert scenarios["bps"]["state"] == "success"


# -- OpenLineage: what the provider sent to the HTTP receiver -----------------------------------


def lineage_events(scenarios: dict[str, Any], job: str) -> list[dict[str, Any]]:
    """The events of one job (``<dag_id>.<task_id>``, or a DAG's own), in the order received."""
    return [event for event in scenarios["lineage"] if event["job"]["name"] == job]


def names(datasets: list[dict[str, Any]]) -> list[tuple[str, str]]:
    return [(dataset["namespace"], dataset["name"]) for dataset in datasets]


def local(scenarios: dict[str, Any], *parts: str) -> tuple[str, str]:
    """A local file or folder as the OpenLineage naming spec names it: ``file``, absolute path."""
    return ("file", str(Path(scenarios["root"], *parts).resolve()))


def test_every_task_run_is_reported_as_a_start_and_an_end_in_the_configured_namespace(
    scenarios: dict[str, Any],
) -> None:
    assert {event["job"]["namespace"] for event in scenarios["lineage"]} == {"sentra"}
    ingest_run = [
        (event["eventType"], event["job"]["name"])
        for event in scenarios["lineage"]
        if event["job"]["name"].startswith("sentra_ingest_registry")
    ]
    # The first ingest run: two mapped ingests, the summary, the announcement, the failed check.
    for task in ("unsettled", "summarise", "announce_validated"):
        job = f"sentra_ingest_registry.{task}"
        assert ingest_run.index(("START", job)) < ingest_run.index(("COMPLETE", job))
    assert ingest_run.count(("START", "sentra_ingest_registry.ingest")) == 2
    assert ingest_run.count(("COMPLETE", "sentra_ingest_registry.ingest")) == 2
    assert ("FAIL", "sentra_ingest_registry.check_outcomes") in ingest_run
    assert ("FAIL", "sentra_ingest_registry") in ingest_run
    # Tasks that move no data name no datasets.
    for event in lineage_events(scenarios, "sentra_ingest_registry.summarise"):
        assert event["inputs"] == event["outputs"] == []


def test_an_ingest_reads_its_landed_file_and_writes_the_clean_datasets(
    scenarios: dict[str, Any],
) -> None:
    ingests = lineage_events(scenarios, "sentra_ingest_registry.ingest")
    # Known from the mapped argument before the file is read: the START event carries it.
    assert sorted(
        names(event["inputs"])[0] for event in ingests if event["eventType"] == "START"
    ) == [
        local(scenarios, "landing", "registry", "bad.csv"),
        local(scenarios, "landing", "registry", "jatim.xlsx"),
    ]
    completed = {
        names(event["inputs"])[0]: names(event["outputs"])
        for event in ingests
        if event["eventType"] == "COMPLETE"
    }
    assert completed == {
        # Published: its rows are in the clean lake, one Parquet file per dataset of the feed.
        local(scenarios, "landing", "registry", "jatim.xlsx"): [
            local(scenarios, "lake", "clean", "registry_sentra"),
            local(scenarios, "lake", "clean", "registry_members"),
        ],
        # Quarantined: read, nothing written to the clean lake.
        local(scenarios, "landing", "registry", "bad.csv"): [],
    }


def test_the_marts_build_reads_the_clean_datasets_and_writes_the_published_marts(
    scenarios: dict[str, Any],
) -> None:
    builds = [
        event
        for event in lineage_events(scenarios, "sentra_marts.build")
        if event["eventType"] == "COMPLETE"
    ]
    published, no_op = builds
    # The same names the ingest wrote, so a lineage backend joins the two jobs' graphs.
    assert names(published["inputs"]) == [
        local(scenarios, "lake", "clean", "registry_sentra"),
        local(scenarios, "lake", "clean", "registry_members"),
    ]
    outputs = names(published["outputs"])
    assert outputs[0] == local(scenarios, "warehouse", "sentra.duckdb")
    tables = scenarios["events"]["sentra.marts"][0]["extra"]["row_counts"]
    assert sorted(outputs[1:]) == sorted(
        local(scenarios, "warehouse", "parquet", f"{table}.parquet") for table in tables
    )
    # Nothing changed, nothing published: no data moved.
    assert no_op["inputs"] == no_op["outputs"] == []
    (replay,) = [
        event
        for event in lineage_events(scenarios, "sentra_reprocess.replay_and_build")
        if event["eventType"] == "COMPLETE"
    ]
    assert names(replay["outputs"]) == outputs
