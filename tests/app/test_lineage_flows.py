"""What the use cases say a run read and wrote (``DataFlow``), which the DAGs report as lineage.

On S3 (moto server), where names must be the objects' own ``s3://bucket/key``; the local names
are checked end to end through Airflow in tests/dags/test_dags_run.py.
"""

from __future__ import annotations

import pytest

from pipelines.app.usecases import DataFlow, build, build_flow, ingest_flow
from pipelines.ingest.engine import Ingestor
from pipelines.platform.settings import Settings
from tests.registry_files import DIY_ROWS, registry_csv

pytestmark = pytest.mark.s3


def test_an_ingest_then_a_build_name_the_objects_they_read_and_wrote(
    s3_settings: Settings, s3_env: str
) -> None:
    settings = s3_settings.model_copy(update={"warehouse": f"{s3_env}/warehouse"})
    bad = [list(row) for row in DIY_ROWS]
    bad[1][1] = "Jawa Tenggara"  # no such province: quarantined
    settings.landing_store.write_bytes("registry/diy.csv", registry_csv(DIY_ROWS))
    settings.landing_store.write_bytes("registry/bad.csv", registry_csv(bad))

    ingested = ingest_flow(settings, Ingestor(settings, "run-1").run())
    # Both were read; only the published one wrote to the clean lake, as a whole dataset.
    assert sorted(ingested.inputs) == [
        f"{s3_env}/landing/registry/bad.csv",
        f"{s3_env}/landing/registry/diy.csv",
    ]
    assert ingested.outputs == [f"{s3_env}/lake/clean/registry_sentra"]
    assert settings.lake_store.list("clean/registry_sentra/")
    # Nothing new: nothing read, nothing written.
    assert ingest_flow(settings, Ingestor(settings, "run-2").run()) == DataFlow()

    result = build(settings, "build-1")
    built = build_flow(settings, result)
    assert built.inputs == ingested.outputs
    version = f"{s3_env}/warehouse/versions/{result.record.version}"
    assert built.outputs == [
        f"{version}/sentra.duckdb",
        *(f"{version}/parquet/{table}.parquet" for table in sorted(result.record.row_counts)),
    ]
    # Every name is an object the warehouse holds.
    prefix = f"{s3_env}/warehouse/"
    assert all(settings.warehouse_store.exists(uri.removeprefix(prefix)) for uri in built.outputs)
    assert build_flow(settings, build(settings, "build-2")) == DataFlow()
