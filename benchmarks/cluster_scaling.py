"""Ingest on the Celery cluster with one worker against two: national registry submissions.

    uv run python -m benchmarks.cluster_scaling --workers 1 2 [--scale national]

For each worker count this starts the deployment of ``make airflow-cluster`` (PostgreSQL, Redis,
moto S3 + SQS, Airflow with CeleryExecutor, each worker of concurrency 2), waits for the SQS
watcher and the runs of the bucket's ``s3:TestEvent``, puts every registry submission of the
sample into the landing bucket at once and times put -> a marts version that includes all of them
is published to the S3 warehouse. It prints one Markdown row per worker count: the wall time, the
ingest task instances per worker and the longest ingest task.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import tempfile
import time
from collections import Counter
from collections.abc import Sequence

from docker.cluster import running_cluster, wait_for

SQS_TRIGGER = "airflow.providers.amazon.aws.triggers.sqs.SqsSensorTrigger"
AS_OF = "2026-06-30"


def registry_submissions(scale: str) -> dict[str, bytes]:
    """The sample's registry files (none deliberately broken), by landing key."""
    from pipelines.platform.storage import open_storage
    from pipelines.samples.registry import build_registry, write_registry_samples

    with tempfile.TemporaryDirectory(prefix="sentra-bench-") as folder:
        store = open_storage(folder)
        keys, _ = write_registry_samples(store, build_registry(scale, 20261128), False)
        return {key: store.read_bytes(key) for key in keys}


def published_inputs(lake_uri: str) -> list[set[str]]:
    from pipelines.platform.storage import open_storage

    lake = open_storage(lake_uri)
    return [
        set(json.loads(lake.read_bytes(obj.key))["input_sha256s"])
        for obj in lake.list("publishes/")
    ]


def measure(workers: int, files: dict[str, bytes]) -> str:
    import boto3

    with running_cluster(workers=workers, sentra={"SENTRA_AS_OF": AS_OF}) as cluster:
        # This process talks to the cluster's moto as its components do.
        os.environ.update({k: v for k, v in cluster.env.items() if k.startswith("AWS_")})
        s3 = boto3.session.Session().client("s3")
        lake = cluster.env["SENTRA_LAKE"]
        wait_for(
            "the SQS watcher", lambda: cluster.watchers_running(SQS_TRIGGER), 300, cluster.tail
        )
        time.sleep(20)  # the s3:TestEvent runs find nothing; let them end
        contents = {hashlib.sha256(body).hexdigest() for body in files.values()}
        started = time.monotonic()
        for key, body in files.items():
            s3.put_object(Bucket=cluster.bucket, Key=f"landing/{key}", Body=body)
        wait_for(
            "a marts version with every file",
            lambda: any(contents <= inputs for inputs in published_inputs(lake)),
            3600,
            cluster.tail,
        )
        seconds = time.monotonic() - started
        rows = cluster.query(
            "select hostname, extract(epoch from end_date - start_date) from task_instance "
            "where dag_id = 'sentra_ingest_registry' and task_id = 'ingest' and state = 'success'"
        )
        per_worker = Counter(hostname for hostname, _ in rows)
        longest = max(float(duration) for _, duration in rows)
        return (
            f"| {workers} | {len(files)} | {seconds:.1f} s | "
            f"{', '.join(f'{h}: {n}' for h, n in sorted(per_worker.items()))} | {longest:.1f} s |"
        )


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--scale", default="national")
    arguments = parser.parse_args(argv)
    files = registry_submissions(arguments.scale)
    print("| workers | files | put -> published on S3 | ingest tasks per worker | longest task |")
    print("|---|---|---|---|---|")
    for workers in arguments.workers:
        print(measure(workers, files), flush=True)


if __name__ == "__main__":
    main()
