"""Pulling: every discovered table at every domain, each answer handed to the ordinary ingest.

``pulled_releases`` first finds the tables and province domains in BPS's listings
(``discovery``); a missing or ambiguous table stops the pull before any data call. Each data
answer is then written to a temporary file and yielded as a ``LandedFile`` for
``Ingestor.ingest_pulled``; what cannot be fetched is yielded as an ``UnfetchedFile``.
"""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from pipelines.feeds.bps.api import BpsResponseError, read_document
from pipelines.feeds.bps.client import BpsApiError, BpsClient, client_from_settings
from pipelines.feeds.bps.discovery import FoundTable, discover
from pipelines.feeds.bps.tables import SOURCE, TableConfig, describe, load_config
from pipelines.feeds.contract import LandedFile, ProgressCallback, UnfetchedFile, file_sha256
from pipelines.lake.ledger import utc_now

if TYPE_CHECKING:
    from pipelines.platform.settings import Settings

log = logging.getLogger(__name__)

PULLED_PREFIX = "bps-api"
"""Name prefix of pulled responses in the ledger (``bps-api/var-<var>/domain-<domain>.json``)."""


def pulled_name(var: int, domain: str) -> str:
    """The ledger's ``original_name`` of a pulled response: table and domain, never the key."""
    return f"{PULLED_PREFIX}/var-{var}/domain-{domain}.json"


def pulled_releases(
    settings: Settings,
    progress: ProgressCallback | None = None,
    *,
    client: BpsClient | None = None,
    config: TableConfig | None = None,
) -> Iterator[LandedFile | UnfetchedFile]:
    """Find the configured tables, then fetch each at each domain as a file to ingest.

    HTTP failures and error answers of data calls come back as ``UnfetchedFile`` (retried by
    the next pull); nothing of theirs is kept. Each file exists until the next one is asked for.
    """
    client = client or client_from_settings(settings)
    with client, tempfile.TemporaryDirectory(prefix="sentra-bps-") as folder:
        found = discover(client, config or load_config())
        pairs = [(table, domain) for table in found.tables for domain in table.domains]
        for position, (table, domain) in enumerate(pairs, start=1):
            if progress:
                progress(position, len(pairs), pulled_name(table.var, domain))
            yield pull_one(client, table, domain, Path(folder))


def pull_one(
    client: BpsClient, table: FoundTable, domain: str, folder: Path
) -> LandedFile | UnfetchedFile:
    """Fetch one table and domain; a failure is an outcome, not a crash."""
    name = pulled_name(table.var, domain)
    try:
        body = fetch_release(client, table, domain)
    except (BpsApiError, BpsResponseError) as error:
        log.error("%s", error)
        return UnfetchedFile(name, SOURCE, str(error))
    path = folder / f"var-{table.var}-domain-{domain}.json"
    path.write_bytes(body)
    return LandedFile(
        key=name,
        source=SOURCE,
        path=path,
        sha256=file_sha256(path),
        size=len(body),
        landed_at=utc_now(),
    )


def fetch_release(client: BpsClient, table: FoundTable, domain: str) -> bytes:
    """The answer for one table and domain, if it is a release (data or not-available).

    Error answers and non-JSON bodies raise instead: they say nothing about the data, and
    landing them would settle their bytes so the next pull could not retry.
    """
    where = describe(table.var, table.table.measure, domain)
    body = client.fetch_data(domain, table.var, table.table.turvar, where)
    read_document(body, where)
    return body
