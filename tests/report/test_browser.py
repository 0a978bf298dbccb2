"""The report in a real browser: Debian's headless Chromium, driven by Playwright, from disk.

Every page loads from file:// with no console error and no request other than file://, and its
figures are those of the marts it was written from. Screenshots go to a temporary folder;
``REPORT_SCREENSHOTS=docs/img .tools/bin/uv run pytest tests/report/test_browser.py`` writes
them where docs/report.md shows them.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import unquote, urlparse

import pytest

from pipelines.report.site import sentra_page
from tests.report.conftest import DemoMarts

if TYPE_CHECKING:
    import duckdb
    from playwright.sync_api import Browser, ConsoleMessage, Page, Request

CHROMIUM = Path("/usr/bin/chromium")
# The top sentra's page is the sentra page shown in docs/report.md.
PAGES = {
    "ranking": "index.html",
    "map": "map.html",
    "sentra-list": "sentra/index.html",
    "phases": "phases.html",
    "growth": "growth.html",
    "quality": "quality.html",
}
VIEWPORT = {"width": 1280, "height": 900}


@dataclass
class Watched:
    """A browser tab that records console errors, uncaught exceptions and every request."""

    page: Page
    errors: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.page.on("console", self.console)
        self.page.on("pageerror", lambda error: self.errors.append(f"uncaught: {error}"))
        self.page.on("request", self.request)

    def console(self, message: ConsoleMessage) -> None:
        if message.type in ("error", "warning"):
            self.errors.append(f"{message.type}: {message.text}")

    def request(self, request: Request) -> None:
        self.requests.append(request.url)

    def open(self, path: Path) -> None:
        self.page.goto(path.as_uri(), wait_until="load")
        # Plotly draws after load; a drawn chart has its SVG root.
        for figure in self.page.locator("[data-figure]").all():
            figure.locator("svg.main-svg").first.wait_for(state="attached")

    @property
    def off_disk(self) -> list[str]:
        return [url for url in self.requests if not url.startswith("file://")]


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    from playwright.sync_api import sync_playwright

    assert CHROMIUM.exists(), (
        f"{CHROMIUM} not found: install Debian's chromium (`apt-get install -y chromium`; "
        ".ci/run does)"
    )
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM))
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def tab(browser: Browser) -> Iterator[Watched]:
    context = browser.new_context(viewport=VIEWPORT)  # type: ignore[arg-type]
    try:
        yield Watched(context.new_page())
    finally:
        context.close()


@pytest.fixture(scope="module")
def screenshots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    wanted = os.environ.get("REPORT_SCREENSHOTS")
    folder = Path(wanted) if wanted else tmp_path_factory.mktemp("screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def top_sentra_page(demo_marts: DemoMarts, marts: duckdb.DuckDBPyConnection) -> Path:
    row = marts.execute(
        "select sentra_id from marts.sentra_revitalisation_score where rank_national = 1"
    ).fetchone()
    assert row is not None
    return demo_marts.report.parent / sentra_page(row[0])


@pytest.mark.parametrize("name", [*PAGES, "sentra"])
def test_each_page_loads_from_disk_without_errors_or_network(
    name: str,
    tab: Watched,
    demo_marts: DemoMarts,
    marts: duckdb.DuckDBPyConnection,
    screenshots: Path,
) -> None:
    root = demo_marts.report.parent
    path = top_sentra_page(demo_marts, marts) if name == "sentra" else root / PAGES[name]

    tab.open(path)
    tab.page.screenshot(path=screenshots / f"report-{name}.png")

    assert tab.errors == []
    assert tab.off_disk == []
    assert tab.page.locator("h1").inner_text()
    drawn = tab.page.locator("[data-figure] svg.main-svg").count()
    assert drawn >= tab.page.locator("[data-figure]").count()


def test_the_ranking_shows_the_marts_top_ten_and_eligible_count(
    tab: Watched, demo_marts: DemoMarts, marts: duckdb.DuckDBPyConnection
) -> None:
    top_ten = [
        name
        for (name,) in marts.execute(
            "select nama_sentra from marts.sentra_revitalisation_score "
            "where eligible order by rank_national limit 10"
        ).fetchall()
    ]
    eligible = marts.execute(
        "select count(*) from marts.sentra_revitalisation_score where eligible"
    ).fetchone()

    tab.open(demo_marts.report)

    names = tab.page.locator("#ranking tbody tr td.name").all_inner_texts()
    assert names[:10] == top_ten
    assert eligible is not None
    assert tab.page.locator("#eligible-count").inner_text() == str(eligible[0])


def test_the_province_filter_keeps_that_province_s_ranked_sentra(
    tab: Watched, demo_marts: DemoMarts, marts: duckdb.DuckDBPyConnection
) -> None:
    province, ranked = marts.execute(
        "select province_name, sentra_ranked from marts.province_summary where province_code = '34'"
    ).fetchone() or ("", 0)
    assert ranked > 0

    tab.open(demo_marts.report)
    tab.page.select_option("#filter-provinsi", province)

    visible = tab.page.locator("#ranking tbody tr:visible")
    assert visible.count() == ranked
    assert set(visible.locator("td:nth-child(4)").all_inner_texts()) == {province}
    assert tab.page.locator("#shown-count").inner_text() == f"{ranked} sentra shown"


def test_imk_growth_page_shows_a_province_against_the_national_figure(
    tab: Watched, demo_marts: DemoMarts, marts: duckdb.DuckDBPyConnection
) -> None:
    growth = marts.execute("""
        select p.yoy_growth_pct, n.yoy_growth_pct
        from marts.fct_imk_growth p join marts.fct_imk_growth n using (year)
        where p.province_code = '34' and p.quarter is null and n.province_code = '00'
          and n.quarter is null and n.yoy_growth_pct is not null
        order by year desc limit 1""").fetchone()
    assert growth is not None
    diy, national = growth

    tab.open(demo_marts.report.parent / "growth.html")

    row = tab.page.locator('#growth-table tr[data-province-code="34"]')
    assert row.locator("td.growth").inner_text() == f"{diy:,.2f}%"
    assert tab.page.locator("#national-growth").inner_text() == f"{national:,.2f}%"


def test_the_sentra_page_shows_its_score_rank_and_drivers(
    tab: Watched, demo_marts: DemoMarts, marts: duckdb.DuckDBPyConnection
) -> None:
    score, drivers = marts.execute(
        "select score, top_drivers from marts.sentra_revitalisation_score where rank_national = 1"
    ).fetchone() or (0, "")

    tab.open(top_sentra_page(demo_marts, marts))

    assert tab.page.locator("#score").inner_text() == f"{score:.2f}"
    assert tab.page.locator("#rank").inner_text() == "1"
    assert demo_marts.version in tab.page.locator(".version").inner_text()
    assert tab.page.locator("ul.drivers li").all_inner_texts() == drivers.split("; ")


def test_quality_page_links_each_quarantined_file_to_its_report(
    tab: Watched, demo_marts: DemoMarts
) -> None:
    tab.open(demo_marts.report.parent / "quality.html")

    links = tab.page.locator("#held-back a", has_text="report")
    hrefs = [links.nth(i).get_attribute("href") or "" for i in range(links.count())]
    assert hrefs, "the demo quarantines files: the page must list them"
    for href in hrefs:
        assert href.startswith("file://")
        assert Path(unquote(urlparse(href).path)).is_file()
