"""Exports converted in a worker thread, ahead of the files being validated, get what
converting them one at a time gives.

The same landing is ingested twice into two lakes: once with the worker up to
``PREPARE_AHEAD_FILES`` files ahead (the default), once with none ahead (each export joins the
batch as soon as it is converted, as before the worker). Outcomes, ledger records, reports,
kept Data Docs results (but for GX's random data source names) and clean rows must be the
same; a conversion that raises fails its file alone, and a run cut off while files are in the
worker leaves nothing behind.
"""

from __future__ import annotations

import gc
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from pipelines.feeds.marketplace import handler
from pipelines.ingest import engine
from pipelines.ingest.engine import Ingestor, PreparingFile, ValidationBatch
from pipelines.quality.validation import Validator
from tests.conftest import local_settings
from tests.ingest.test_batch_validation import (
    clean_tables,
    ingested,
    lake_documents,
    landing_files,
    shop,
    what_each_file_got,
)
from tests.marketplace_files import shopee_csv, shopee_lines
from tests.registry_files import JATIM_MEMBERS, JATIM_SENTRA, registry_xlsx

EXPLODES = "explodes.csv"


def more_files() -> dict[str, bytes]:
    """After the batch test's files: a conversion that raises, the same bytes landed twice in a
    shop folder (skipped while its first landing is still in the worker), a registry workbook
    parsed between exports."""
    again = shopee_csv(shopee_lines(40, start_row=900))
    return {
        f"{shop('anyaman_mendong')}/{EXPLODES}": shopee_csv(shopee_lines(30, start_row=700)),
        f"{shop('kopi_gayo')}/orders.csv": again,
        "registry/jatim/sentra.xlsx": registry_xlsx(JATIM_SENTRA, JATIM_MEMBERS),
        f"{shop('kopi_gayo')}/orders-again.csv": again,
        f"{shop('sasirangan')}/orders.csv": shopee_csv(shopee_lines(50, start_row=1000)),
    }


@pytest.fixture
def converted_in(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The threads conversions ran in; ``EXPLODES`` raises an internal error."""
    threads: list[str] = []
    convert = handler.convert

    def recorded(export: Any, context: Any, target: Path) -> Any:
        threads.append(threading.current_thread().name)
        if context.name.endswith(EXPLODES):
            raise RuntimeError("scratch disk on fire")
        return convert(export, context, target)

    monkeypatch.setattr(handler, "convert", recorded)
    return threads


def test_exports_converted_ahead_get_what_converting_one_at_a_time_gives(
    tmp_path: Path,
    validator: Validator,
    monkeypatch: pytest.MonkeyPatch,
    converted_in: list[str],
) -> None:
    in_the_worker: list[int] = []
    validate_held = ValidationBatch.validate_held

    def observed(batch: ValidationBatch) -> None:
        in_the_worker.append(sum(isinstance(f, PreparingFile) for f in batch.preparing))
        validate_held(batch)

    monkeypatch.setattr(ValidationBatch, "validate_held", observed)
    landing = {**landing_files(), **more_files()}  # once: a workbook's bytes carry its time
    ahead_settings, ahead = ingested(tmp_path / "ahead", validator, landing)
    assert max(in_the_worker) > 0  # files were converted while others were validated
    workers = {f"sentra-prepare_{number}" for number in range(engine.PREPARE_WORKERS)}
    assert set(converted_in) <= workers  # never on the thread that validates
    monkeypatch.setattr(engine, "PREPARE_AHEAD_FILES", 0)
    in_the_worker.clear()
    one_settings, one_at_a_time = ingested(tmp_path / "one", validator, landing)
    assert max(in_the_worker) == 0

    assert ahead[f"{shop('anyaman_mendong')}/{EXPLODES}"].status == "failed"
    assert "scratch disk on fire" in ahead[f"{shop('anyaman_mendong')}/{EXPLODES}"].message
    assert ahead[f"{shop('kopi_gayo')}/orders-again.csv"].status == "skipped"
    assert ahead["registry/jatim/sentra.xlsx"].status == "ingested"
    assert list(ahead) == list(landing)  # outcomes in landing order
    assert what_each_file_got(ahead) == what_each_file_got(one_at_a_time)
    assert lake_documents(ahead_settings) == lake_documents(one_settings)
    assert clean_tables(ahead_settings) == clean_tables(one_settings)


def test_a_run_of_several_exports_converts_each_on_one_core_and_a_lone_export_on_all(
    tmp_path: Path, validator: Validator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Beside other files, one pass on one core spends less CPU; alone, two passes on every
    core finish sooner (``ConversionContext.shares_cores``, docs/benchmarks.md)."""
    shares_cores: dict[str, bool] = {}
    convert = handler.convert

    def recorded(export: Any, context: Any, target: Path) -> Any:
        shares_cores[context.name] = context.shares_cores
        return convert(export, context, target)

    monkeypatch.setattr(handler, "convert", recorded)
    two = {
        f"{shop('kopi_gayo')}/orders.csv": shopee_csv(shopee_lines(20)),
        f"{shop('sasirangan')}/orders.csv": shopee_csv(shopee_lines(20, start_row=100)),
    }
    ingested(tmp_path / "two", validator, two)
    assert shares_cores == dict.fromkeys(two, True)

    shares_cores.clear()
    one = {f"{shop('kopi_gayo')}/orders.csv": shopee_csv(shopee_lines(20))}
    ingested(tmp_path / "one", validator, one)
    assert shares_cores == dict.fromkeys(one, False)


def test_a_run_cut_off_with_exports_in_the_worker_leaves_nothing_behind(
    tmp_path: Path,
    validator: Validator,
    monkeypatch: pytest.MonkeyPatch,
    converted_in: list[str],
) -> None:
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))

    def cut_off(self: Ingestor, held: Any) -> Any:
        raise KeyboardInterrupt

    with monkeypatch.context() as patch:
        patch.setattr(Ingestor, "conclude_held", cut_off)
        with pytest.raises(KeyboardInterrupt):
            ingested(tmp_path / "run", validator, landing_files())
    assert len(converted_in) > 1
    assert not list(scratch.iterdir())  # no converted Parquet left by the worker
    assert not local_settings(tmp_path / "run").lake_store.list("clean/")

    # The same run again (its own claims are its to retake): every export is converted anew.
    _, retried = ingested(tmp_path / "run", validator, landing_files())
    assert retried[f"{shop('batik_sari')}/few-bad.csv"].status == "ingested"
    assert not list(scratch.iterdir())


def test_pages_are_rendered_while_waiting_for_the_worker_and_all_exist_at_the_end(
    tmp_path: Path, validator: Validator, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pipelines.quality import data_docs

    convert = handler.convert

    def slow_last(export: Any, context: Any, target: Path) -> Any:
        if context.name.endswith("sasirangan/orders.csv"):
            time.sleep(1)  # this thread waits for it, with the settled files' pages queued
        return convert(export, context, target)

    rendered: list[str] = []
    write_page = data_docs.write_validation_page
    render_at_the_end = Ingestor.render_data_docs
    monkeypatch.setattr(handler, "convert", slow_last)
    monkeypatch.setattr(
        data_docs,
        "write_validation_page",
        lambda store, key, result: rendered.append(key) or write_page(store, key, result),
    )
    monkeypatch.setattr(
        Ingestor,
        "render_data_docs",
        lambda ingestor: rendered.append("the run's end") or render_at_the_end(ingestor),
    )
    files = {**landing_files(), **more_files()}
    del files[f"{shop('anyaman_mendong')}/{EXPLODES}"]
    settings, outcomes = ingested(tmp_path, validator, files)

    assert rendered.index("the run's end") > 0  # pages rendered while the worker converted
    pages = [page for outcome in outcomes.values() for page in outcome.data_docs]
    assert len(pages) == len(set(rendered) - {"the run's end"}) == 12
    index = settings.lake_store.read_bytes("docs/index.html").decode()
    for page in pages:
        assert "Great Expectations" in Path(page).read_text(encoding="utf-8")
        assert page.split("/docs/", 1)[1] in index


def test_a_run_collects_garbage_less_often_and_leaves_the_process_as_it_found_it(
    tmp_path: Path, validator: Validator, monkeypatch: pytest.MonkeyPatch
) -> None:
    during: list[tuple[int, int, int]] = []
    convert = handler.convert

    def observed(*args: Any) -> Any:
        during.append(gc.get_threshold())
        return convert(*args)

    monkeypatch.setattr(handler, "convert", observed)
    before = gc.get_threshold()
    try:
        gc.set_threshold(900, 11, 12)  # an application's own thresholds
        _, outcomes = ingested(tmp_path, validator, {f"{shop('kopi_gayo')}/a.csv": shopee_csv()})
        after = gc.get_threshold()
    finally:
        gc.set_threshold(*before)

    assert [o.status for o in outcomes.values()] == ["ingested"]
    assert during == [engine.RUN_COLLECTOR_THRESHOLDS]
    assert after == (900, 11, 12)
