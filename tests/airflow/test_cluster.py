"""The multi-process deployment of docker/cluster.py end to end, in the default suite.

PostgreSQL, Redis, moto (S3 + SQS), the API server, scheduler, DAG processor, triggerer and two
Celery workers, as ``make airflow-cluster`` starts them. Registry files are put into the landing
bucket; S3 notifications through SQS trigger the ingest, whose mapped task instances spread the
files over both workers; the marts are published and open read-only. The put-to-publish latency
is printed (docs/airflow.md records it).
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest

from docker.cluster import Cluster, running_cluster, wait_for
from tests.airflow.shared import measure_put_to_publish, publish_records, report_latency
from tests.conftest import TEST_AS_OF
from tests.registry_files import DIY_ROWS, JATIM_MEMBERS, JATIM_SENTRA, registry_csv, registry_xlsx

SQS_TRIGGER = "airflow.providers.amazon.aws.triggers.sqs.SqsSensorTrigger"
INGEST_DAGS = ("sentra_ingest_registry", "sentra_ingest_marketplace", "sentra_ingest_bps")
# Four different contents (so four ingests), two provinces, both registry formats; one name
# S3 must URL-encode in its notification.
FILES = {
    "registry/jatim/Jawa Timur 2025+anggota.xlsx": registry_xlsx(JATIM_SENTRA, JATIM_MEMBERS),
    "registry/jatim/jatim-2025.xlsx": registry_xlsx(JATIM_SENTRA),
    "registry/diy/diy-2025.csv": registry_csv(DIY_ROWS),
    "registry/diy/diy-2025-untitled.csv": registry_csv(DIY_ROWS, title=None),
}


def finished_runs(cluster: Cluster) -> dict[str, list[str]]:
    rows = cluster.query(
        "select dag_id, state from dag_run where dag_id = any(%s) order by id", list(INGEST_DAGS)
    )
    runs: dict[str, list[str]] = defaultdict(list)
    for dag_id, state in rows:
        runs[dag_id].append(state)
    return runs


def all_settled(runs: dict[str, list[str]]) -> bool:
    return set(runs) == set(INGEST_DAGS) and all(
        state in ("success", "failed") for states in runs.values() for state in states
    )


def test_files_put_into_s3_are_ingested_on_both_workers_and_reach_the_marts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import boto3
    import duckdb

    from pipelines.marts.release import fetch_current
    from pipelines.platform.storage import open_storage

    with running_cluster(sentra={"SENTRA_AS_OF": TEST_AS_OF.isoformat()}) as cluster:
        for name in [n for n in cluster.env if n.startswith("AWS_")]:
            monkeypatch.setenv(name, cluster.env[name])
        s3 = boto3.session.Session().client("s3")
        lake = open_storage(cluster.env["SENTRA_LAKE"])
        wait_for(
            "the SQS watcher", lambda: cluster.watchers_running(SQS_TRIGGER), 180, cluster.tail
        )
        # Saving the bucket's notification configuration queued an s3:TestEvent: it wakes every
        # feed's ingest, which finds nothing and ends green. Let that settle before measuring.
        wait_for(
            "the s3:TestEvent runs", lambda: all_settled(finished_runs(cluster)), 180, cluster.tail
        )
        assert {state for states in finished_runs(cluster).values() for state in states} == {
            "success"
        }

        def put() -> None:
            for key, body in FILES.items():
                s3.put_object(Bucket=cluster.bucket, Key=f"landing/{key}", Body=body)

        contents = {hashlib.sha256(body).hexdigest() for body in FILES.values()}

        def all_files_published(records: list[dict[str, Any]]) -> bool:
            return any(contents <= set(record["input_sha256s"]) for record in records)

        latency = measure_put_to_publish(lake, put, all_files_published, 360, cluster.tail)
        report_latency(tmp_path, "cluster, 4 files, S3 + SQS", latency, cluster.task_timings())

        # Each file was ingested by one mapped task instance, and both workers took some.
        by_worker: dict[str, list[str]] = defaultdict(list)
        for key, hostname, pid in cluster.query(
            "select rendered_map_index, hostname, pid from task_instance "
            "where dag_id = 'sentra_ingest_registry' and task_id = 'ingest' and state = 'success'"
        ):
            assert pid, f"no pid recorded for the ingest of {key}"
            by_worker[hostname].append(key)
        print("ingested per worker:", dict(by_worker))
        assert sorted(key for keys in by_worker.values() for key in keys) == sorted(FILES)
        assert set(by_worker) == set(cluster.workers)

        # The ledger settled each content once: nothing was ingested twice.
        ingested = [obj.key for obj in lake.list("ledger/registry/") if "_ingested_" in obj.key]
        assert len(ingested) == len(FILES)

        # The marts were published to S3; a BI host fetches the current version and opens it
        # read-only, and sees both provinces.
        assert cluster.warehouse.startswith("s3://")
        bi_copy = tmp_path / "bi" / "sentra.duckdb"
        current = fetch_current(open_storage(cluster.warehouse), bi_copy)
        assert current.version in {record["version"] for record in publish_records(lake)}
        with duckdb.connect(str(bi_copy), read_only=True) as reader:
            provinces = reader.sql(
                "select distinct province_code from marts.sentra_revitalisation_score"
            ).fetchall()
        assert len(provinces) == 2
