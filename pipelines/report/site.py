"""Render the report's pages and publish them beside the marts, one folder per marts version.

Local warehouse: the pages are written into ``.report-<version>/`` beside the DuckDB file and
``report`` (a symbolic link) is renamed over to point at it, so a reader sees the previous
report or the new one, whole; older folders are then deleted. S3 warehouse: the pages are
uploaded under ``versions/<version>/report/`` beside that version's DuckDB file, ``index.html``
last; ``sentra fetch-marts --report`` installs them on a host the same way as locally.
"""

from __future__ import annotations

import functools
import importlib.metadata
import json
import logging
import os
import re
import secrets
import shutil
import tempfile
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

from pipelines.marts.release import version_prefix
from pipelines.platform.locks import host_lock
from pipelines.report import figures
from pipelines.report.data import (
    HeldBack,
    LakeLink,
    ReportData,
    Row,
    load_report_data,
    ranked_sentra,
)
from pipelines.report.reuse import (
    MANIFEST,
    EarlierReport,
    InstalledReport,
    PageManifest,
    UploadedReport,
    inputs_digest,
    renderer_digest,
)

if TYPE_CHECKING:
    import jinja2

    from pipelines.platform.settings import Settings
    from pipelines.platform.storage import Storage

REPORT = "report"  # beside the DuckDB file, or under the S3 version's prefix
# S3: which version's report was uploaded last, whose unchanged pages the next one copies.
LAST_UPLOADED = "report-last-uploaded.json"
INDEX = "index.html"
ASSETS = "assets"
PACKAGE = Path(__file__).parent
TEMPLATES = PACKAGE / "templates"
TOPOJSON = PACKAGE / "assets" / "asia_50m.json"
STATIC_ASSETS = ("report.css", "report.js")
VERSION_SCRIPT = f"{ASSETS}/version.js"  # the marts version, which no page carries itself

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Link:
    path: str
    title: str


# The eligibility gates in the order the score checks them (docs/scoring.md): the first one a
# sentra fails is its ineligible_reason, and the gates after it are not checked.
GATES = (
    ("below_min_units", "at least 5 IKM units (PP 29/2018)"),
    ("below_dak_min_units", "the island group's DAK minimum of IKM units"),
    ("inactive", "status aktif"),
    ("never_surveyed", "surveyed at least once"),
    ("survey_stale", "surveyed recently enough"),
    ("not_priority_commodity", "a priority komoditas (e-Smart IKM)"),
)

NAVIGATION = (
    Link(INDEX, "Ranking"),
    Link("map.html", "Map"),
    Link("sentra/index.html", "Sentra"),
    Link("phases.html", "Phase plan"),
    Link("growth.html", "IMK growth"),
    Link("quality.html", "Data quality"),
)


def publish_report(settings: Settings, database: Path) -> str:
    """Write the report of the marts in ``database`` where readers of those marts find it."""
    data = load_report_data(settings, database)
    if settings.warehouse_on_s3:
        upload_report(settings.warehouse_store, data)
    else:
        warehouse = settings.warehouse_path.parent
        # Resolved now: the link may swing to another version while this one is written.
        earlier = InstalledReport((warehouse / REPORT).resolve(), report_renderer())
        install_site(lambda folder: write_site(folder, data, earlier), warehouse, data.version)
    return report_location(settings, data.version)


def upload_report(store: Storage, data: ReportData) -> None:
    """Upload the report under its version, copying the last uploaded report's unchanged pages."""
    earlier = last_uploaded_report(store)
    try:
        render_and_upload(store, data, earlier)
    except FileNotFoundError:
        if earlier is None:
            raise
        # Pruned while its pages were copied: nothing is left to carry from.
        log.warning("Report pages: %s went away while its pages were copied; all rendered", earlier)
        render_and_upload(store, data, None)
    store.write_bytes(LAST_UPLOADED, json.dumps({"version": data.version}).encode())


def render_and_upload(store: Storage, data: ReportData, earlier: UploadedReport | None) -> None:
    prefix = report_prefix(data.version)
    with tempfile.TemporaryDirectory(prefix="sentra-report-") as staging:
        write_site(Path(staging), data, earlier)
        upload_site(store, Path(staging), prefix, earlier.copies(prefix) if earlier else [])


def last_uploaded_report(store: Storage) -> UploadedReport | None:
    """The report uploaded last, named by ``LAST_UPLOADED`` (None before the first)."""
    try:
        version = json.loads(store.read_bytes(LAST_UPLOADED))["version"]
    except FileNotFoundError:
        return None
    return UploadedReport(store, report_prefix(version), report_renderer())


def report_location(settings: Settings, version: str) -> str:
    """Where a reader opens the report of marts version ``version``."""
    if settings.warehouse_on_s3:
        return settings.warehouse_store.uri_for(f"{report_prefix(version)}/{INDEX}")
    return str((settings.warehouse_path.parent / REPORT / INDEX).absolute())


def report_published(settings: Settings, version: str) -> bool:
    if settings.warehouse_on_s3:
        return settings.warehouse_store.exists(f"{report_prefix(version)}/{INDEX}")
    return installed_version(settings.warehouse_path.parent) == version


def report_prefix(version: str) -> str:
    return f"{version_prefix(version)}/{REPORT}"


# --- installing and uploading -----------------------------------------------------------------


def version_folder(version: str) -> str:
    return f".{REPORT}-{version}"


def installed_version(folder: Path) -> str | None:
    link = folder / REPORT
    if not link.is_symlink():
        return None
    return os.readlink(link).removeprefix(f".{REPORT}-")


def install_site(write: Callable[[Path], None], folder: Path, version: str) -> None:
    """Have ``write`` fill a new folder beside the marts, then swing the ``report`` link to it.

    Written in place, not copied from a staging folder: at national size (~7,500 pages) a copy
    and its removal cost more than a second. One install at a time per warehouse folder, so
    the clean-up of older versions never meets a folder still being written.
    """
    folder.mkdir(parents=True, exist_ok=True)
    token = secrets.token_hex(4)
    target = folder / version_folder(version)
    writing = folder / f"{target.name}.writing-{token}"
    # Keyed on the folder: the link itself resolves to a different version after each swap.
    with host_lock("report", folder):
        try:
            writing.mkdir()
            writing.chmod(0o755)  # a web server may run as another user
            write(writing)
            shutil.rmtree(target, ignore_errors=True)
            os.replace(writing, target)
        finally:
            shutil.rmtree(writing, ignore_errors=True)
        link = folder / f".{REPORT}-link-{token}"
        os.symlink(target.name, link)
        os.replace(link, folder / REPORT)
        for old in folder.glob(f".{REPORT}-*"):
            if old.name != target.name and old.is_dir():
                shutil.rmtree(old, ignore_errors=True)


def upload_site(
    store: Storage, site: Path, prefix: str, copies: Sequence[tuple[str, str]] = ()
) -> None:
    """Upload every page and asset and make the ``copies`` (pages carried from an earlier
    report); the index last, uploaded or copied, as its presence means the report is whole."""
    index = f"{prefix}/{INDEX}"
    files = sorted(path for path in site.rglob("*") if path.is_file())
    uploads = [(path, f"{prefix}/{path.relative_to(site).as_posix()}") for path in files]
    store.upload_many([upload for upload in uploads if upload[1] != index])
    store.copy_many([copy for copy in copies if copy[1] != index])
    store.upload_many([upload for upload in uploads if upload[1] == index])
    store.copy_many([copy for copy in copies if copy[1] == index])


def fetch_report(store: Storage, version: str, folder: Path) -> Path:
    """Download version ``version``'s report from an S3 warehouse and install it in ``folder``."""
    prefix = report_prefix(version)
    if not store.exists(f"{prefix}/{INDEX}"):  # uploaded last: without it the report is partial
        raise LookupError(f"no report published for marts version {version}")

    def download(site: Path) -> None:
        for obj in store.list(f"{prefix}/"):
            relative = PurePosixPath(obj.key).relative_to(prefix)
            target = Path(site, *relative.parts)
            target.parent.mkdir(parents=True, exist_ok=True)
            store.download_file(obj.key, target)

    install_site(download, folder, version)
    return folder / REPORT / INDEX


# --- rendering ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Page:
    """A page of the report and what it shows: its context is only built when it is rendered."""

    path: str
    template: str
    context: Callable[[], dict[str, Any]]
    digest: str
    """Digest of everything ``context`` reads (``reuse.inputs_digest``)."""


def write_site(folder: Path, data: ReportData, earlier: EarlierReport | None = None) -> None:
    """Every page of the report, with its assets, into ``folder``.

    Pages and assets whose inputs are unchanged since ``earlier`` are carried from it, not
    rendered: after one event most of the report is (docs/report.md).
    """
    environment = template_environment()
    publish = data.queries["publish"][0]
    render_page(
        environment,
        folder,
        VERSION_SCRIPT,
        "version.js.j2",
        {"version": data.version, "published_at": publish["published_at"]},
    )
    manifest = PageManifest(renderer=report_renderer())
    assets, assets_carried = asset_writers(), 0
    for name, write in assets.items():
        path = f"{ASSETS}/{name}"
        manifest.pages[path] = ""  # an asset depends on the renderer alone
        if earlier is not None and earlier.carry(path, "", folder):
            assets_carried += 1
        else:
            write(folder / path)
    rendered = carried = 0
    for page in pages(data):
        manifest.pages[page.path] = page.digest
        if earlier is not None and earlier.carry(page.path, page.digest, folder):
            carried += 1
        else:
            render_page(environment, folder, page.path, page.template, page.context())
            rendered += 1
    (folder / MANIFEST).write_bytes(manifest.to_json())
    log.info(
        "Report pages: %d pages rendered, %d carried unchanged (and %d of %d assets)",
        rendered,
        carried,
        assets_carried,
        len(assets),
    )


def pages(data: ReportData) -> list[Page]:
    """The report's pages, each with the digest of what it shows."""
    sentra, queries = data.sentra, data.queries
    history = data.sales_by_sentra()
    row_digests = [inputs_digest(row) for row in sentra]
    every_sentra = inputs_digest(row_digests)
    plan, capacity = queries["phase_plan"], (data.annual_capacity, data.max_per_province_per_year)
    quality = (data.ledger_by_source, data.held_back, queries["freshness"], data.data_docs_index)
    summaries = [
        Page(INDEX, "ranking.html.j2", lambda: ranking_context(sentra), every_sentra),
        Page(
            "map.html",
            "map.html.j2",
            lambda: map_context(sentra, queries["provinces"]),
            inputs_digest(every_sentra, queries["provinces"]),
        ),
        Page(
            "phases.html",
            "phases.html.j2",
            lambda: phases_context(plan, *capacity),
            inputs_digest(plan, capacity),
        ),
        Page(
            "growth.html",
            "growth.html.j2",
            lambda: growth_context(queries["imk_growth"]),
            inputs_digest(queries["imk_growth"]),
        ),
        Page(
            "quality.html",
            "quality.html.j2",
            lambda: quality_context(*quality),
            inputs_digest(quality),
        ),
        Page("sentra/index.html", "sentra_index.html.j2", lambda: {"sentra": sentra}, every_sentra),
    ]
    return summaries + [
        sentra_page_of(row, history.get(row["sentra_id"], []), digest)
        for row, digest in zip(sentra, row_digests, strict=True)
    ]


def sentra_page_of(row: Row, sales: list[Row], row_digest: str) -> Page:
    return Page(
        sentra_page(row["sentra_id"]),
        "sentra.html.j2",
        lambda: sentra_context(row, sales),
        inputs_digest(row_digest, sales),
    )


def render_page(
    environment: jinja2.Environment, folder: Path, path: str, template: str, context: dict[str, Any]
) -> None:
    root = "../" * path.count("/")
    html = environment.get_template(template).render(
        **context, root=root, navigation=NAVIGATION, page=path
    )
    target = folder / path
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(html, encoding="utf-8")


@functools.cache
def report_renderer() -> str:
    # Plotly's version from its metadata: importing it costs more than a report that carries
    # all its pages takes.
    sources = [*TEMPLATES.iterdir(), *PACKAGE.glob("*.py"), TOPOJSON]
    return renderer_digest(sources, importlib.metadata.version("plotly"))


def template_environment() -> jinja2.Environment:
    import jinja2

    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.filters["rupiah"] = rupiah
    environment.filters["number"] = number
    environment.globals.update(sentra_page=sentra_page, number=number)
    return environment


def asset_writers() -> dict[str, Callable[[Path], None]]:
    """Each file of ``assets/`` but the version script, by name, with what writes it: Plotly's
    JavaScript once for every page, the map's outlines, the style and the script."""
    writers: dict[str, Callable[[Path], None]] = {
        "plotly.min.js": write_plotly_js,
        "geo-asia-50m.js": write_map_outlines,
    }
    for name in STATIC_ASSETS:
        writers[name] = functools.partial(copy_asset, TEMPLATES / name)
    return writers


def write_plotly_js(target: Path) -> None:
    import plotly.offline

    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(plotly.offline.get_plotlyjs(), encoding="utf-8")


def write_map_outlines(target: Path) -> None:
    # plotly.js looks a map's outlines up here before it would fetch them from its CDN.
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(
        "window.PlotlyGeoAssets = window.PlotlyGeoAssets || {topojson: {}};\n"
        f"window.PlotlyGeoAssets.topojson['asia_50m'] = {TOPOJSON.read_text(encoding='utf-8')};\n",
        encoding="utf-8",
    )


def copy_asset(source: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source, target)


def sentra_page(sentra_id: str) -> str:
    """The page of one sentra, relative to the report's root (ids become safe file names)."""
    return f"sentra/{re.sub(r'[^A-Za-z0-9._-]', '_', sentra_id)}.html"


def rupiah(value: float | None) -> str:
    return "-" if value is None else f"Rp {value:,.0f}"


def number(value: float | None, digits: int = 0) -> str:
    return "-" if value is None else f"{value:,.{digits}f}"


# --- what each page shows -------------------------------------------------------------------


def ranking_context(sentra: list[Row]) -> dict[str, Any]:
    ranked = ranked_sentra(sentra)
    return {
        "ranked": ranked,
        "sentra_total": len(sentra),
        "provinces": sorted({row["province_name"] for row in ranked}),
        "komoditas": sorted({row["komoditas"] for row in ranked}),
        "phase_years": sorted({row["phase_year"] for row in ranked}),
    }


def map_context(sentra: list[Row], provinces: list[Row]) -> dict[str, Any]:
    located = sum(row["lintang"] is not None for row in sentra)
    return {
        "figure": figures.sentra_map(sentra, provinces),
        "provinces": provinces,
        "located": located,
        "sentra_total": len(sentra),
    }


def phases_context(
    plan: list[Row], annual_capacity: int, max_per_province_per_year: int | None
) -> dict[str, Any]:
    per_year: dict[int, int] = defaultdict(int)
    for row in plan:
        per_year[row["phase_year"]] += row["sentra"]
    return {
        "figure": figures.phase_plan(plan, annual_capacity),
        "plan": plan,
        "per_year": dict(sorted(per_year.items())),
        "annual_capacity": annual_capacity,
        "max_per_province_per_year": max_per_province_per_year,
    }


def growth_context(rows: list[Row]) -> dict[str, Any]:
    return {
        "figure": figures.imk_growth(rows) if rows else None,
        "rows": rows,
        "year": rows[0]["year"] if rows else None,
        "national": rows[0]["national_yoy_growth_pct"] if rows else None,
    }


def quality_context(
    ledger_by_source: dict[str, Counter[str]],
    held_back: list[HeldBack],
    freshness_rows: list[Row],
    data_docs_index: LakeLink | None,
) -> dict[str, Any]:
    freshness: dict[str, list[Row]] = defaultdict(list)
    for row in freshness_rows:
        freshness[row["source"]].append(row)
    return {
        "ledger": dict(sorted(ledger_by_source.items())),
        "statuses": ("ingested", "quarantined", "failed", "parked"),
        "freshness": dict(sorted(freshness.items())),
        "held_back": held_back,
        "data_docs_index": data_docs_index,
    }


def sentra_context(row: Row, sales: list[Row]) -> dict[str, Any]:
    return {
        "sentra": row,
        "drivers": (row["top_drivers"] or "").split("; ") if row["top_drivers"] else [],
        "components": [
            (label, row[name], name == row["weakest_component"])
            for name, label in figures.COMPONENTS.items()
        ],
        "gates": gate_outcomes(row["ineligible_reason"]),
        "components_figure": figures.components(row) if row["eligible"] else None,
        "sales": sales,
        "sales_figure": figures.sales_history(sales) if sales else None,
    }


def gate_outcomes(failed: str | None) -> list[tuple[str, str]]:
    """Each gate with 'passed', 'failed' or 'not checked' for a sentra that failed ``failed``."""
    outcomes, outcome = [], "passed"
    for reason, rule in GATES:
        if reason == failed:
            outcomes.append((rule, "failed"))
            outcome = "not checked"
        else:
            outcomes.append((rule, outcome))
    return outcomes
