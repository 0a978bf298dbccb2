"""The feeds the pipeline knows. A new feed declares its ``Feed`` in its module and is added here.

Listing the feeds is cheap (a DAG file does it at parse time): feed modules import their heavy
libraries inside the functions that use them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pipelines.feeds import registry
from pipelines.feeds.bps import feed as bps
from pipelines.feeds.contract import Feed
from pipelines.feeds.marketplace import handler as marketplace

if TYPE_CHECKING:
    import pyarrow as pa

FEEDS: dict[str, Feed] = {feed.source: feed for feed in (registry.FEED, marketplace.FEED, bps.FEED)}


def all_datasets() -> list[str]:
    return [dataset for feed in FEEDS.values() for dataset in feed.datasets]


def clean_schema(dataset: str) -> pa.Schema:
    for feed in FEEDS.values():
        if dataset in feed.datasets:
            return feed.clean_schema(dataset)
    raise KeyError(f"no feed produces the dataset {dataset!r}")
