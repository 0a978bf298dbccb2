"""The benchmark harness cannot rot: its smoke mode runs end to end in seconds.

The full runs (``make bench``) are not part of the suite; ``--skip-gx`` leaves out the paths
that import Great Expectations, whose import alone takes 15-50 s on a loaded CI machine.
"""

from __future__ import annotations

from pathlib import Path

from benchmarks import run


def test_smoke_run_measures_every_path_and_writes_its_report(tmp_path: Path) -> None:
    report = tmp_path / "benchmarks.md"
    argv = ["--scale", "smoke", "--repeats", "1", "--skip-gx"]
    argv += ["--output", str(report), "--cache", str(tmp_path / "cache")]

    assert run.main(argv) == 0

    text = report.read_text(encoding="utf-8")
    assert "<!-- bench scale=smoke -->" in text
    for label in (
        "plain DuckDB (limit)",
        "(unvalidated)",
        "load (1 min)",
        "CPUs (`nproc`)",
        "`smoke`",
    ):
        assert label in text
    # A rerun replaces the scale's section instead of appending a second one.
    run.write_section(report, "smoke", "rerun\n")
    run.write_section(report, "medium", "other scale\n")
    text = report.read_text(encoding="utf-8")
    assert text.count("<!-- bench scale=smoke -->") == 1 and "rerun" in text
    assert "plain DuckDB (limit)" not in text and "other scale" in text


def test_ratios_are_taken_run_by_run_and_targets_say_by_how_much() -> None:
    plain = run.Row(
        "ingest 1 lines", "plain DuckDB (limit)", [run.Run(1.0, 90, 6), run.Run(4.0, 90, 9)]
    )
    ours = run.Row("ingest 1 lines", "ours: Ingestor", [run.Run(2.0, 400, 6), run.Run(6.0, 410, 9)])

    assert run.ratios(ours, plain) == [2.0, 1.5]
    [ratio, memory] = run.targets([plain, ours], "smoke")
    assert "met (1.75x ≤ 2x)" in ratio and "missed by 1.40x" in ratio  # stretch: 1.25x
    assert "400 MiB → " not in memory and "410 MiB" in memory and "met" in memory
