"""The feeds the pipeline knows: landing folder, handler, and the clean datasets each produces.

Handlers and schemas are named as ``module:function`` and imported only when used, so listing the
feeds (the CLI, a DAG file at parse time) costs nothing. A new feed adds one entry here.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pyarrow as pa


@dataclass(frozen=True)
class Feed:
    source: str
    """Landing folder (``<source>/...``) and the ledger's source name."""
    handler: str
    """``module:function(ingestor, landed) -> FeedResult`` that parses and validates one file."""
    datasets: tuple[str, ...]
    """Clean datasets (``clean/<dataset>/``) the feed writes; the marts read them."""
    schema: str
    """``module:function(dataset) -> pyarrow.Schema`` of those datasets, lineage included."""


FEEDS: dict[str, Feed] = {
    "registry": Feed(
        source="registry",
        handler="pipelines.feeds.registry:process_registry_file",
        datasets=("registry_sentra", "registry_members"),
        schema="pipelines.feeds.registry:clean_schema",
    ),
    # Marketplace order-line exports: marketplace/<marketplace>/<seller_account>/ for a shop's
    # seller-centre export, marketplace/<feed>/ for the e-Smart JSON-lines feed.
    "marketplace": Feed(
        source="marketplace",
        handler="pipelines.feeds.marketplace.feed:process_marketplace_file",
        datasets=("marketplace_orders",),
        schema="pipelines.feeds.marketplace.feed:clean_schema",
    ),
    # BPS Web API responses: landed under bps/ for offline use, or pulled by `sentra ingest bps`.
    "bps": Feed(
        source="bps",
        handler="pipelines.feeds.bps.feed:process_bps_file",
        datasets=("bps_imk_growth",),
        schema="pipelines.feeds.bps.feed:clean_schema",
    ),
}


def resolve(reference: str) -> Any:
    module, _, name = reference.partition(":")
    return getattr(importlib.import_module(module), name)


def feed_for_key(key: str) -> Feed | None:
    return FEEDS.get(key.split("/", 1)[0])


def all_datasets() -> list[str]:
    return [dataset for feed in FEEDS.values() for dataset in feed.datasets]


def clean_schema(dataset: str) -> pa.Schema:
    for feed in FEEDS.values():
        if dataset in feed.datasets:
            schema: pa.Schema = resolve(feed.schema)(dataset)
            return schema
    raise KeyError(f"no feed produces the dataset {dataset!r}")
