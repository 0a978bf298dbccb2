"""The marts build benchmark cannot rot: on a tiny lake it runs its three paths end to end and
writes its section (figures only; no timing is asserted)."""

from __future__ import annotations

import re
from pathlib import Path

from benchmarks import marts_build
from pipelines.ingest.engine import Ingestor
from pipelines.platform.settings import Settings
from tests.marketplace_files import shopee_csv
from tests.registry_files import JATIM_MEMBERS, JATIM_SENTRA, registry_xlsx


def test_smoke_run_measures_plain_full_and_incremental_and_writes_its_section(
    settings: Settings, tmp_path: Path
) -> None:
    settings.landing_store.write_bytes(
        "registry/jatim.xlsx", registry_xlsx(JATIM_SENTRA, JATIM_MEMBERS)
    )
    settings.landing_store.write_bytes("marketplace/shopee/keripik_rohani/Order.csv", shopee_csv())
    Ingestor(settings).run()
    export = tmp_path / "Order.all.csv"
    export.write_bytes(shopee_csv())
    doc = tmp_path / "benchmarks.md"
    doc.write_text("# Benchmarks\n\nother sections stay\n", encoding="utf-8")

    argv = ["--lake", settings.lake, "--export", str(export), "--work", str(tmp_path / "work")]
    assert marts_build.main([*argv, "--output", str(doc)]) == 0

    text = doc.read_text(encoding="utf-8")
    assert "other sections stay" in text
    labels = ("plain one-query mart step", "(full)", "(incremental)", "report task", "load average")
    for label in labels:
        assert label in text
    figures = re.findall(r"^\| [^|]+ \| ([\d.]+) \| ([\d,]+) \| ([\d.]+) \|$", text, re.M)
    assert len(figures) == 5 and all(float(seconds) > 0 for seconds, _, _ in figures)
    assert "Lake: 1 clean\nmarketplace exports, 4 order lines" in text
    assert text.count("| met (") + text.count("| **missed** (") == 3
    # A rerun replaces the section instead of appending a second one.
    marts_build.write_section(doc, "rerun\n")
    text = doc.read_text(encoding="utf-8")
    assert text.count("<!-- marts-build -->") == 1 and "rerun" in text and "(full)" not in text
