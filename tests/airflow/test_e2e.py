"""End to end with a real scheduler and triggerer: a landed file reaches the published marts.

Opt-in (``make airflow-e2e``): each test starts ``airflow standalone`` on SQLite, which takes
~20 s before the first event and a few minutes in all on 2 cores. The put-to-publish latency is
printed and written to ``<tmp>/latency.json``; docs/airflow.md records the figures.
"""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from docker.cluster import aws_env, notify_queue_of_landed_objects, wait_for
from tests.airflow.shared import measure_put_to_publish, report_latency, sentra_env
from tests.airflow.standalone import Standalone, airflow_standalone
from tests.registry_files import JATIM_MEMBERS, JATIM_SENTRA, registry_xlsx

pytestmark = pytest.mark.airflow_e2e

POLL_TRIGGER = "sentra_triggers.LandingStoreTrigger"
SQS_TRIGGER = "airflow.providers.amazon.aws.triggers.sqs.SqsSensorTrigger"
# A name S3 must URL-encode in its notification ("+" and a space).
ODD_KEY = "registry/Jawa Timur 2025+revisi.xlsx"


def record(tmp_path: Path, name: str, seconds: float, airflow: Standalone) -> None:
    report_latency(tmp_path, name, seconds, airflow.task_timings())


def test_a_file_dropped_into_the_landing_folder_reaches_the_marts(tmp_path: Path) -> None:
    from pipelines.platform.storage import open_storage

    landing, lake = tmp_path / "landing", tmp_path / "lake"
    env = sentra_env(str(landing), str(lake), tmp_path, SENTRA_WATCH_INTERVAL_SECONDS="1")
    lake_store = open_storage(str(lake))
    with airflow_standalone(tmp_path / "home", env) as airflow:
        wait_for(
            "the landing watcher", lambda: airflow.watchers_running(POLL_TRIGGER), 120, airflow
        )

        def drop() -> None:
            # Written beside and renamed in, as a producer should: a watcher never sees half.
            staging = landing / "registry" / ".incoming.xlsx"
            staging.parent.mkdir(parents=True, exist_ok=True)
            staging.write_bytes(registry_xlsx(JATIM_SENTRA, JATIM_MEMBERS))
            staging.rename(landing / ODD_KEY)

        latency = measure_put_to_publish(lake_store, drop, bool, 240, airflow.tail)
        record(tmp_path, "local folder", latency, airflow)
        assert (tmp_path / "warehouse" / "sentra.duckdb").exists()

        # A producer announcing through the REST API (docs/airflow.md) wakes the ingest too.
        def ingest_runs() -> dict[str, str]:
            runs = airflow.api("GET", "dags/sentra_ingest_registry/dagRuns")["dag_runs"]
            return {run["dag_run_id"]: run["state"] for run in runs}

        before = ingest_runs()
        assets = airflow.api("GET", "assets?name_pattern=sentra.landed.registry")["assets"]
        event = airflow.api(
            "POST", "assets/events", {"asset_id": assets[0]["id"], "extra": {"via": "api"}}
        )
        assert event["asset_id"] == assets[0]["id"]
        wait_for(
            "the ingest run the API event started",
            lambda: any(
                state == "success" for run, state in ingest_runs().items() if run not in before
            ),
            120,
            airflow.tail,
        )


def test_an_object_put_into_the_landing_bucket_reaches_the_marts_through_sqs(
    moto_server: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import boto3

    from pipelines.platform.storage import open_storage

    aws = aws_env(moto_server, tmp_path)
    for name, value in aws.items():
        monkeypatch.setenv(name, value)
    session = boto3.session.Session()
    s3, sqs = session.client("s3"), session.client("sqs")
    bucket = f"e2e-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=bucket)
    # Saving the notification sends an s3:TestEvent message first, as AWS does; ingest must
    # shrug it off.
    queue_url = notify_queue_of_landed_objects(s3, sqs, bucket, "landing")
    env = sentra_env(
        f"s3://{bucket}/landing",
        f"s3://{bucket}/lake",
        tmp_path,
        SENTRA_EVENT_SOURCE="sqs",
        SENTRA_SQS_QUEUE_URL=queue_url,
        **aws,
    )
    lake = open_storage(f"s3://{bucket}/lake")
    with airflow_standalone(tmp_path / "home", env) as airflow:
        wait_for(
            "the SQS watcher", lambda: airflow.watchers_running(SQS_TRIGGER), 120, airflow.tail
        )

        def put() -> None:
            body = registry_xlsx(JATIM_SENTRA, JATIM_MEMBERS)
            s3.put_object(Bucket=bucket, Key=f"landing/{ODD_KEY}", Body=body)

        latency = measure_put_to_publish(lake, put, bool, 240, airflow.tail)
        record(tmp_path, "S3 + SQS", latency, airflow)
        ingested = [obj.key for obj in lake.list("ledger/registry/") if "_ingested_" in obj.key]
        assert len(ingested) == 1
