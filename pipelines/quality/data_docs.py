"""Great Expectations Data Docs: one page per validated batch, rendered by GX, kept in the lake.

A file's ingest keeps GX's validation result as JSON (``docs/results/...json``) with the rest of
the file, before its ledger record; the pages are rendered from those results once, after the
run's files have settled (``Ingestor.run``), so GX's page renderer is never on a file's own path
(settled files' pages are also rendered while the ingest waits for its conversion worker).
A run that dies or whose store fails before rendering leaves results without pages, and the next
run renders them: a settled file never stays without its pages.

Pages live at ``docs/validation/<source>/<sha256>/<run_id>/<suite>.html`` beside an index
(``docs/index.html``) that lists every page, newest first. The index is derived from the listing
and rewritten after each ingest, so it can always be rebuilt.

The pages show GX's unexpected-value samples. They contain no personal data because every feed
validates its *typed* rows, from which personal columns were already dropped (marketplace buyer
data never reaches validation).
"""

from __future__ import annotations

import functools
import html
import json
import logging
from typing import TYPE_CHECKING, Any

from pipelines.lake import layout

if TYPE_CHECKING:
    from pipelines.platform.storage import Storage

log = logging.getLogger(__name__)


def write_validation_result(
    lake_store: Storage, page_key: str, gx_document: dict[str, Any]
) -> None:
    """Keep the GX result (``to_json_dict()``) that the page at ``page_key`` is rendered from."""
    document = json.dumps(gx_document, separators=(",", ":"))
    lake_store.write_bytes(layout.validation_result_key(page_key), document.encode("utf-8"))


def write_validation_page(lake_store: Storage, key: str, gx_result: Any) -> None:
    """Render one GX validation result as its Data Docs page at ``key``."""
    renderer, view = page_renderer()
    page: str = view.render(renderer.render(gx_result))
    lake_store.write_bytes(key, page.encode("utf-8"))


def write_page_from_result(lake_store: Storage, page_key: str) -> None:
    """Render the page at ``page_key`` from its kept validation result (a run that did not)."""
    from great_expectations.core.expectation_validation_result import (
        ExpectationSuiteValidationResultSchema,
    )

    kept = lake_store.read_bytes(layout.validation_result_key(page_key))
    gx_result = ExpectationSuiteValidationResultSchema().load(json.loads(kept))
    write_validation_page(lake_store, page_key, gx_result)


@functools.cache
def page_renderer() -> tuple[Any, Any]:
    """GX's page renderer and Jinja view, built once per process.

    The view owns a Jinja environment that compiles GX's templates on first use and keeps them:
    a new view per page recompiled them every time, half of a page's cost (0.33 s per page
    profiled on 40 national exports). The templates are files of the installed package, so the
    environment does not check each one's modification time on every use (Jinja's
    ``auto_reload``): those checks were ~70% of the time spent rendering a national run's pages.
    """
    from great_expectations.render.renderer.page_renderer import ValidationResultsPageRenderer
    from great_expectations.render.view.view import DefaultJinjaPageView

    view = DefaultJinjaPageView()
    view.env.auto_reload = False
    return ValidationResultsPageRenderer(), view


def write_index(lake_store: Storage, names: dict[str, str]) -> str:
    """Rewrite ``docs/index.html`` from the pages in the lake (``names``: sha256 -> file)."""
    pages = sorted(
        lake_store.list(layout.DATA_DOCS_PAGES), key=lambda obj: obj.modified, reverse=True
    )
    rows = []
    for page in pages:
        # docs/validation/<source>/<sha256>/<run_id>/<suite>.html
        _, _, source, sha256, run_id, suite_file = page.key.split("/")
        relative = page.key.removeprefix(f"{layout.DATA_DOCS}/")
        rows.append(
            f"<tr><td>{page.modified:%Y-%m-%d %H:%M}</td><td>{html.escape(source)}</td>"
            f"<td>{html.escape(names.get(sha256, sha256[:12]))}</td>"
            f"<td><code>{sha256[:12]}</code></td><td>{html.escape(run_id)}</td>"
            f'<td><a href="{html.escape(relative)}">{html.escape(suite_file[:-5])}</a></td></tr>'
        )
    document = INDEX_TEMPLATE.format(rows="\n".join(rows), count=len(rows))
    lake_store.write_bytes(layout.DATA_DOCS_INDEX, document.encode("utf-8"))
    return layout.DATA_DOCS_INDEX


INDEX_TEMPLATE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>Sentra IKM pipeline - validation results</title>
<style>body{{font-family:sans-serif;margin:2em}}table{{border-collapse:collapse}}
td,th{{border:1px solid #ccc;padding:4px 8px;text-align:left}}</style></head>
<body><h1>Validation results (Great Expectations Data Docs)</h1>
<p>{count} validation pages, newest first. Each links to GX's page for one suite on one file
in one run.</p>
<table><tr><th>validated</th><th>source</th><th>file</th><th>sha256</th><th>run</th>
<th>suite</th></tr>
{rows}
</table></body></html>
"""
