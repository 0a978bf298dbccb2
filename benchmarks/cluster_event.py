"""One new export at national scale on the Celery cluster: put -> marts republished, broken down.

    uv run python -m benchmarks.cluster_event --lake /work/national/lake \\
        --export /work/national/landing/marketplace/shopee/<shop>/<export>.csv \\
        --output docs/benchmarks.md

Starts the deployment of ``make airflow-cluster`` (PostgreSQL, Redis, moto S3 + SQS, Airflow with
CeleryExecutor and two workers), seeds its S3 lake with an ingested lake's clean Parquet and
ledger (``--lake``, e.g. the national sample's) and publishes a first marts version with
``sentra build`` (not timed). Then, for each event, it puts a corrected copy of ``--export`` (the
shop's export again with completed lines cancelled: a resubmission that supersedes) into the
landing bucket and times put -> a new ``current.json`` in the S3 warehouse, with every task of
the ingest and marts runs it caused, from Airflow's metadata database.

Two events: the first with the build's carried state on this host (the steady state), the second
after deleting it and the host's copies of the lake's clean files, so the building worker
downloads the published version's state and every clean file from S3 (a host that did not build
the previous version). The results replace the ``cluster-event``
section of ``--output``.
"""

from __future__ import annotations

import argparse
import os
import platform
import shlex
import shutil
import subprocess
import sys
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from benchmarks.marts_build import corrected, lake_size, verdict, write_section
from benchmarks.run import sentra
from docker.cluster import Cluster, running_cluster, wait_for

SECTION = "cluster-event"
SQS_TRIGGER = "airflow.providers.amazon.aws.triggers.sqs.SqsSensorTrigger"
AS_OF = "2026-06-30"
SEEDED = ("clean", "ledger")  # what an ingest and a build read from the lake
WORK_TARGET_SECONDS = 10.0  # our tasks' share of put -> published (issue 11)
RUNS = ("sentra_ingest_marketplace", "sentra_marts")


@dataclass(frozen=True)
class TaskTiming:
    dag: str
    task: str
    queued: float
    started: float
    ended: float
    worker: str

    @property
    def seconds(self) -> float:
        return self.ended - self.started


@dataclass(frozen=True)
class Event:
    label: str
    published_after: float
    tasks: list[TaskTiming]

    @property
    def work(self) -> float:
        """Seconds before the publish during which at least one of our tasks was running.

        The union of the task instances' start-end intervals, so tasks running side by side
        count once; the rest of put -> published is Airflow's (watcher, scheduling, queueing).
        """
        covered, reached = 0.0, 0.0
        for task in sorted(self.tasks, key=lambda task: task.started):
            start, end = max(task.started, reached), min(task.ended, self.published_after)
            if end > start:
                covered += end - start
            reached = max(reached, min(task.ended, self.published_after))
        return covered

    @property
    def build(self) -> TaskTiming:
        return next(task for task in self.tasks if task.task == "build")


def seed_lake(cluster: Cluster, lake: Path) -> int:
    """Upload the lake's clean Parquet and ledger into the cluster's S3 lake; returns objects."""
    import boto3

    s3 = boto3.session.Session().client("s3")
    prefix = cluster.env["SENTRA_LAKE"].removeprefix(f"s3://{cluster.bucket}/")
    files = [path for folder in SEEDED for path in (lake / folder).rglob("*") if path.is_file()]

    def upload(path: Path) -> None:
        s3.upload_file(str(path), cluster.bucket, f"{prefix}/{path.relative_to(lake).as_posix()}")

    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(upload, files))
    return len(files)


def published_version(cluster: Cluster) -> str | None:
    from pipelines.marts.release import current_version
    from pipelines.platform.storage import open_storage

    current = current_version(open_storage(cluster.warehouse))
    return current.version if current else None


def run_sentra(cluster: Cluster, *args: str) -> float:
    started = time.monotonic()
    subprocess.run(sentra(*args), env={**os.environ, **cluster.env}, check=True)
    return time.monotonic() - started


def drop_carried_state(cluster: Cluster) -> None:
    """Delete this host's carried build state and its copies of the lake's clean files: the
    next build downloads the published state and every clean file it reads."""
    from pipelines.marts.incremental import state_path
    from pipelines.marts.publish import inputs_cache_path
    from pipelines.platform.settings import Settings

    settings = Settings(
        landing=cluster.env["SENTRA_LANDING"],
        lake=cluster.env["SENTRA_LAKE"],
        warehouse=cluster.warehouse,
    )
    state_path(settings.warehouse_path).unlink(missing_ok=True)
    shutil.rmtree(inputs_cache_path(settings.warehouse_path), ignore_errors=True)


def put_event(cluster: Cluster, export: Path, number: int, label: str) -> Event:
    """Land the ``number``-th correction of ``export`` and time it to a new published version."""
    import boto3

    s3 = boto3.session.Session().client("s3")
    shop = export.parent.relative_to(export.parents[3])  # marketplace/<platform>/<shop>
    key = f"landing/{shop.as_posix()}/{export.stem}.koreksi{number}{export.suffix}"
    body = corrected(export.read_bytes(), lines=number)
    before = published_version(cluster)
    put_at = datetime.now(UTC)
    s3.put_object(Bucket=cluster.bucket, Key=key, Body=body)
    wait_for(
        f"a new marts version after {key}",
        lambda: published_version(cluster) != before,
        1800,
        cluster.tail,
    )
    published_after = (datetime.now(UTC) - put_at).total_seconds()
    # The marts run's last task may still be announcing: wait for both runs to end.
    wait_for("the runs to end", lambda: runs_ended(cluster, put_at), 300, cluster.tail)
    return Event(label, published_after, task_timings(cluster, put_at))


def runs_ended(cluster: Cluster, since: datetime) -> bool:
    rows = cluster.query(
        "select dag_id, count(*) filter (where end_date is null) from dag_run "
        "where queued_at >= %s and dag_id in %s group by dag_id",
        since,
        RUNS,
    )
    return len(rows) == len(RUNS) and all(open_runs == 0 for _, open_runs in rows)


def task_timings(cluster: Cluster, since: datetime) -> list[TaskTiming]:
    rows = cluster.query(
        "select ti.dag_id, ti.task_id, ti.queued_dttm, ti.start_date, ti.end_date, ti.hostname "
        "from task_instance ti join dag_run dr on dr.dag_id = ti.dag_id and dr.run_id = ti.run_id "
        "where dr.queued_at >= %s and dr.dag_id in %s and ti.start_date is not null "
        "order by ti.start_date",
        since,
        RUNS,
    )

    def offset(moment: Any) -> float:
        return float((moment - since).total_seconds())

    return [
        TaskTiming(dag, task, offset(queued or started), offset(started), offset(ended), host)
        for dag, task, queued, started, ended, host in rows
        if ended is not None
    ]


def report(events: list[Event], seed: dict[str, Any], command: str) -> str:
    sections = [
        f"""## The Celery cluster: one new export at national scale, put -> published \
({datetime.now(UTC):%Y-%m-%d})

`{command}`

Machine: {platform.platform()}, {os.cpu_count()} CPUs (`nproc`); load average (1 min) at the
start {seed["load"]:.2f}. The cluster of `make airflow-cluster` (two Celery workers of
concurrency 2, moto for S3 and SQS, all on this machine) with its S3 lake seeded from an ingested
lake: {seed["exports"]:,} clean marketplace exports, {seed["order_lines"]:,} order lines
({seed["objects"]:,} objects uploaded in {seed["upload"]:.0f} s); the first version published by
`sentra build` in {seed["build"]:.0f} s (a full build, not timed below). Each event puts the
shop's export again with completed lines cancelled (a resubmission that supersedes:
{seed["export"]}); times are seconds after the put.
"""
    ]
    for event in events:
        rows = "\n".join(
            f"| {task.dag} | {task.task} | {task.queued:.1f} | {task.started:.1f} | "
            f"{task.ended:.1f} | {task.seconds:.1f} | {task.worker} |"
            for task in event.tasks
        )
        waiting = event.published_after - event.work
        build = event.build
        sections.append(
            f"""### {event.label}

Put -> new `current.json`: **{event.published_after:.1f} s**. Our tasks were running for
{event.work:.1f} s of it (task instances' start to end, side by side counted once); Airflow's
watcher, scheduling and queueing took the other {waiting:.1f} s. The build published
{event.published_after - build.started:.1f} s after it started and ran on
{build.ended - event.published_after:.1f} s after the publish (the carried state's upload, the
publish record, lineage); the report is its own task, `report`.

| DAG | task | queued | started | ended | ran | worker |
|---|---|---|---|---|---|---|
{rows}

Our share against the target (≤ {WORK_TARGET_SECONDS:g} s beyond the scheduler's own delay): \
{verdict(event.work, WORK_TARGET_SECONDS, " s")}
"""
        )
    return "\n".join(sections)


def measure(lake: Path, export: Path, keep_logs: Path | None) -> tuple[list[Event], dict[str, Any]]:
    from pipelines.platform.settings import DEMO_PII_SALT

    order_lines, exports = lake_size(lake)
    settings = {
        "SENTRA_AS_OF": AS_OF,
        # The lake was ingested with the demo salt: the new export's buyer hashes must match.
        "SENTRA_PII_SALT": DEMO_PII_SALT,
        "SENTRA_ALLOW_DEMO_SALT": "true",
    }
    with running_cluster(sentra=settings) as cluster:
        os.environ.update({k: v for k, v in cluster.env.items() if k.startswith("AWS_")})
        load = os.getloadavg()[0]
        started = time.monotonic()
        objects = seed_lake(cluster, lake)
        upload = time.monotonic() - started
        drop_carried_state(cluster)  # a previous cluster's, for the same warehouse URI
        build = run_sentra(cluster, "build")
        wait_for(
            "the SQS watcher", lambda: cluster.watchers_running(SQS_TRIGGER), 300, cluster.tail
        )
        time.sleep(20)  # the bucket's s3:TestEvent runs find nothing; let them end
        events = [put_event(cluster, export, 1, "Event 1: the building host holds the state")]
        drop_carried_state(cluster)
        events.append(
            put_event(
                cluster,
                export,
                2,
                "Event 2: the state and the clean files downloaded from S3 first",
            )
        )
        if keep_logs:  # the task logs say where a task's time went; the cluster folder goes
            shutil.copytree(Path(cluster.env["AIRFLOW_HOME"]) / "logs", keep_logs)
    seed = {
        "load": load,
        "exports": exports,
        "order_lines": order_lines,
        "objects": objects,
        "upload": upload,
        "build": build,
        "export": f"`{export.name}` of `{export.parent.name}`",
    }
    return events, seed


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--lake", type=Path, required=True, help="an ingested local lake")
    parser.add_argument("--export", type=Path, required=True, help="a landed Shopee export")
    parser.add_argument("--output", type=Path, default=Path("docs/benchmarks.md"))
    parser.add_argument("--keep-logs", type=Path, help="copy the Airflow task logs here")
    args = parser.parse_args(argv)
    events, seed = measure(args.lake, args.export, args.keep_logs)
    command = "uv run python -m benchmarks.cluster_event " + shlex.join(argv or sys.argv[1:])
    text = report(events, seed, command)
    write_section(args.output, text, SECTION)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
