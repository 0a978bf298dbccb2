"""Run by tests/dags/test_dags_run.py: ``dag_scenarios.py OUT.json``, with AIRFLOW_HOME and SENTRA_*
pointing at a temporary folder. Runs the DAGs for real with ``dag.test()`` (SQLite, in-process
execution API) and writes what happened as JSON for the tests to assert on.

A subprocess, because Airflow reads its configuration once per interpreter and the test suite
must not import Airflow into its workers. One process runs every scenario so the database is
migrated once and Great Expectations is imported once (~15 s of the total).
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

PROJECT = Path(__file__).resolve().parents[2]


def asset_events(name: str) -> list[dict[str, Any]]:
    from airflow.models.asset import AssetEvent, AssetModel
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        rows = session.execute(
            select(AssetEvent.extra, AssetEvent.source_dag_id)
            .join(AssetModel, AssetModel.id == AssetEvent.asset_id)
            .where(AssetModel.name == name)
            .order_by(AssetEvent.id)
        ).all()
    return [{"extra": extra, "source_dag_id": dag_id} for extra, dag_id in rows]


def run(bag: Any, dag_id: str, **kwargs: Any) -> dict[str, Any]:
    started = time.perf_counter()
    dag_run = bag.get_dag(dag_id).test(**kwargs)
    return {
        "state": str(dag_run.state),
        "seconds": round(time.perf_counter() - started, 2),
        # A mapped task's instances as task[0], task[1], ...; one that expanded to none as task.
        "tasks": {
            ti.task_id if ti.map_index < 0 else f"{ti.task_id}[{ti.map_index}]": str(ti.state)
            for ti in dag_run.get_task_instances()
        },
    }


def main() -> None:
    output = Path(sys.argv[1])
    sys.path[:0] = [str(PROJECT / "dags"), str(PROJECT)]
    from airflow.dag_processing.dagbag import DagBag
    from airflow.utils.db import initdb

    from pipelines.platform.settings import Settings
    from tests.registry_files import (
        DIY_ROWS,
        JATIM_MEMBERS,
        JATIM_SENTRA,
        registry_csv,
        registry_xlsx,
    )

    started = time.perf_counter()
    initdb()
    results: dict[str, Any] = {"migrate_seconds": round(time.perf_counter() - started, 2)}
    landing = Settings().landing_store
    landing.write_bytes("registry/jatim.xlsx", registry_xlsx(JATIM_SENTRA, JATIM_MEMBERS))
    bad = [list(row) for row in DIY_ROWS]
    bad[1][1] = "Jawa Tenggara"  # a province that does not exist: the file is quarantined
    landing.write_bytes("registry/bad.csv", registry_csv(bad))
    bag = DagBag(dag_folder=str(PROJECT / "dags"), safe_mode=False)
    results["import_errors"] = {str(k): str(v) for k, v in bag.import_errors.items()}

    results["ingest"] = run(bag, "sentra_ingest_registry")
    results["marts"] = run(bag, "sentra_marts")
    results["marts_again"] = run(bag, "sentra_marts")
    results["ingest_again"] = run(bag, "sentra_ingest_registry")
    jatim_sha = results_sha(bag, "registry/jatim.xlsx")
    results["reprocess"] = run(
        bag,
        "sentra_reprocess",
        run_conf={"sha256s": [jatim_sha], "rebuild_marts": True, "force_rebuild": True},
    )
    results["freshness"] = run(bag, "sentra_freshness")
    # No SENTRA_BPS_API_KEY here: the poll skips before any request (and nothing leaves 127.0.0.1).
    results["bps"] = run(bag, "sentra_bps_pull")
    results["events"] = {
        name: asset_events(name)
        for name in ("sentra.validated.registry", "sentra.marts", "sentra.landed.registry")
    }
    output.write_text(json.dumps(results, default=str))


def results_sha(bag: Any, key: str) -> str:
    from pipelines.lake.ledger import Ledger
    from pipelines.platform.settings import Settings

    records = Ledger(Settings().lake_store).latest_records()
    return next(record.sha256 for record in records if record.original_name == key)


if __name__ == "__main__":
    main()
