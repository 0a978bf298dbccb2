"""S3 misbehaving for real: a 127.0.0.1 endpoint in front of the moto server stops and starts
again mid-ingest and mid-publish, throttles with 503 SlowDown and ``Retry-After``, or answers
late. Retries are bounded by the settings; what still fails ends as a clean ``failed`` with its
reason (in the ledger when the lake can be written, and in the alert); no partial object is
visible; the next run completes."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from pipelines.app import usecases
from pipelines.app.cli import app
from pipelines.app.usecases import IngestRun
from pipelines.lake.ledger import Ledger
from pipelines.lake.publications import PublishRecord
from pipelines.marts.publish import build_and_publish
from pipelines.marts.release import current_version, published_versions
from pipelines.platform.settings import Settings
from pipelines.platform.storage import StorageError
from tests.conftest import TEST_AS_OF, as_environment
from tests.registry_files import JATIM_MEMBERS, JATIM_SENTRA, registry_xlsx
from tests.reliability.faults import Faults, faulty_stores
from tests.reliability.lake_state import assert_nothing_half_visible
from tests.reliability.marts_state import assert_readers_see_a_whole_version
from tests.reliability.scenarios import land, shared_validator
from tests.s3_endpoint import S3Endpoint, reads_under, writes_under

pytestmark = pytest.mark.s3


@pytest.fixture
def on_s3(s3_endpoint: S3Endpoint, s3_env: str, tmp_path: Path) -> Settings:
    """Landing, lake and warehouse behind the endpoint; two tries per request."""
    settings = Settings(
        landing=f"{s3_env}/landing",
        lake=f"{s3_env}/lake",
        warehouse=f"{s3_env}/warehouse",
        warehouse_versions_kept=2,
        as_of=TEST_AS_OF,
        s3_max_attempts=2,
        s3_connect_timeout_seconds=5,
        s3_read_timeout_seconds=5,
    )
    land(settings, "ingested")
    return settings


def ingest(settings: Settings, run_id: str) -> IngestRun:
    """``sentra ingest`` as the CLI and the DAG tasks run it: the ingest, then its alerts."""
    with pytest.MonkeyPatch.context() as monkeypatch:
        monkeypatch.setattr("pipelines.ingest.engine.Ingestor.validator", shared_validator())
        return usecases.ingest(settings, run_id)


def assert_failed_cleanly(run: IngestRun, reason: str) -> str:
    """One failed file, its reason in the outcome and the alert, no traceback anywhere."""
    [outcome] = run.summary.outcomes
    [alert] = run.alerted.alerts
    assert outcome.status == "failed"
    assert reason in outcome.message and reason in alert.body
    assert "Traceback" not in outcome.message + alert.body
    return outcome.sha256


def assert_the_next_run_ingests(settings: Settings, run_id: str) -> None:
    [again] = ingest(settings, run_id).summary.outcomes
    assert again.status == "ingested"
    assert_nothing_half_visible(settings)


def published_with_a_new_file_since(settings: Settings) -> PublishRecord:
    """One version published, then one more file ingested: the next build has work to do."""
    ingest(settings, "run-0")
    first = build_and_publish(settings, "run-p1").record
    settings.landing_store.write_bytes(
        "registry/jatim.xlsx", registry_xlsx(JATIM_SENTRA, JATIM_MEMBERS)
    )
    ingest(settings, "run-0b")
    return first


def latest_record_error(settings: Settings, sha256: str) -> str:
    [record] = Ledger(settings.lake_store).latest_records()
    assert record.sha256 == sha256 and record.status == "failed"
    return record.error or ""


def test_the_endpoint_stopping_mid_ingest_fails_the_file_cleanly_and_the_next_run_ingests(
    on_s3: Settings, s3_endpoint: S3Endpoint, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Down during the clean Parquet upload; back once its tries have run out.
    s3_endpoint.stop_at = writes_under("clean")
    restart = Faults(on_error=lambda point: s3_endpoint.start())

    with faulty_stores(monkeypatch, restart):
        run = ingest(on_s3, "run-1")

    sha256 = assert_failed_cleanly(run, "S3 upload_file failed")
    # Refused, or dropped on a connection kept open from before: the endpoint is gone either way.
    assert "S3 upload_file failed for s3://" in latest_record_error(on_s3, sha256)
    assert_nothing_half_visible(on_s3)
    assert_the_next_run_ingests(on_s3, "run-2")


def test_the_endpoint_down_for_the_rest_of_the_run_is_retried_once_it_is_back(
    on_s3: Settings, s3_endpoint: S3Endpoint
) -> None:
    s3_endpoint.stop_at = writes_under("clean")

    run = ingest(on_s3, "run-1")

    assert_failed_cleanly(run, "recording it in the ledger failed too")
    s3_endpoint.start()
    assert_nothing_half_visible(on_s3)
    # Another run leaves the file to the claim's holder within the lease; Airflow's retry of
    # the same run takes it back at once.
    [other] = ingest(on_s3, "run-2").summary.outcomes
    assert other.status == "skipped" and "run-1" in other.message
    assert_the_next_run_ingests(on_s3, "run-1")


def test_persistent_throttling_is_retried_a_bounded_number_of_times_then_fails_cleanly(
    on_s3: Settings, s3_endpoint: S3Endpoint
) -> None:
    s3_endpoint.throttle = writes_under("clean")
    s3_endpoint.retry_after_seconds = 120  # not followed: a worker is not held for minutes

    run = ingest(on_s3, "run-1")

    sha256 = assert_failed_cleanly(run, "SlowDown")
    assert "Gave up after 2 attempts" in latest_record_error(on_s3, sha256)
    assert s3_endpoint.count("throttled") == on_s3.s3_max_attempts
    assert_nothing_half_visible(on_s3)
    s3_endpoint.throttle = None
    assert_the_next_run_ingests(on_s3, "run-2")


def test_answers_later_than_the_read_timeout_fail_cleanly_and_the_next_run_ingests(
    on_s3: Settings, s3_endpoint: S3Endpoint
) -> None:
    impatient = on_s3.model_copy(update={"s3_read_timeout_seconds": 2.0})
    s3_endpoint.slow, s3_endpoint.delay_seconds = writes_under("clean"), 4.0

    run = ingest(impatient, "run-1")

    sha256 = assert_failed_cleanly(run, "Read timeout on endpoint URL")
    assert "Read timeout" in latest_record_error(on_s3, sha256)
    assert s3_endpoint.count("slow") == on_s3.s3_max_attempts
    # The late PUTs still land: a clean file without its ingested record, which nothing reads.
    assert_nothing_half_visible(on_s3)
    s3_endpoint.delay_seconds = 0.2  # slow, within the timeout
    assert_the_next_run_ingests(impatient, "run-2")
    assert s3_endpoint.count("slow") == on_s3.s3_max_attempts + 1


def test_the_endpoint_stopping_mid_publish_leaves_readers_on_the_previous_version(
    on_s3: Settings, s3_endpoint: S3Endpoint
) -> None:
    first = published_with_a_new_file_since(on_s3)
    # Down while the new version's database is uploaded, after its Parquet exports.
    s3_endpoint.stop_at = lambda method, path: method == "PUT" and path.endswith("/sentra.duckdb")

    built = CliRunner().invoke(app, ["build"], env=as_environment(on_s3))

    assert built.exit_code == 1 and "Traceback" not in built.output
    assert "Marts not published: S3 upload_file failed for s3://" in " ".join(built.output.split())

    s3_endpoint.start()
    store = on_s3.warehouse_store
    assert current_version(store).version == first.version  # type: ignore[union-attr]
    assert assert_readers_see_a_whole_version(on_s3, first.version) == first.version
    second = build_and_publish(on_s3, "run-p3")
    assert second.published
    assert assert_readers_see_a_whole_version(on_s3, first.version) == second.record.version
    # The previous whole version stays for readers that followed the older pointer.
    assert {first.version, second.record.version} <= set(published_versions(store))


def test_throttled_reads_of_the_clean_lake_fail_the_build_and_readers_keep_their_version(
    on_s3: Settings, s3_endpoint: S3Endpoint
) -> None:
    first = published_with_a_new_file_since(on_s3)
    # The build downloads the clean Parquet it reads, several files at a time.
    s3_endpoint.throttle = reads_under("clean")

    with pytest.raises(StorageError, match=r"S3 download_file failed for s3://.*/clean/") as caught:
        build_and_publish(on_s3, "run-p2")

    assert "when calling the GetObject operation" in str(caught.value)
    # Each file's download tried SENTRA_S3_MAX_ATTEMPTS times; then the build stops.
    throttled = s3_endpoint.count("throttled")
    assert throttled and throttled % on_s3.s3_max_attempts == 0
    assert assert_readers_see_a_whole_version(on_s3, first.version) == first.version
    s3_endpoint.throttle = None
    assert build_and_publish(on_s3, "run-p3").published
