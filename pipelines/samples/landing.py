"""Every feed's sample written into one landing store: what `sentra sample` and `sentra demo` land.

Same (scale, seed) gives byte-identical files (see ``pipelines.samples.registry``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from pipelines.samples.bps import bps_sample_files
from pipelines.samples.marketplace import MarketplaceSampleReport, write_marketplace_samples
from pipelines.samples.registry import build_registry, write_registry_samples

if TYPE_CHECKING:
    from pipelines.feeds.contract import ProgressCallback
    from pipelines.platform.storage import Storage


@dataclass(frozen=True)
class SampleReport:
    files: list[str]
    """Registry landing keys written, in write order."""
    sentra_rows: int
    """Sentra the clean registry should hold once every valid file is in and the resubmission
    has replaced its original (the broken file's rows are not counted)."""
    member_rows: int
    """Member IKM the clean registry should hold, counted the same way."""
    deliberately_broken: list[str]
    """Keys of files that are meant to fail validation."""
    bps_files: list[str] = field(default_factory=list)
    """BPS Web API responses written under ``bps/``."""
    marketplace: MarketplaceSampleReport | None = None
    """The marketplace exports written under ``marketplace/``."""


def write_samples(
    landing: Storage,
    scale: str = "demo",
    seed: int = 20261128,
    include_errors: bool = True,
    progress: ProgressCallback | None = None,
) -> SampleReport:
    """Write the sample feeds for ``scale`` (registry/, bps/, marketplace/) into the landing.

    ``progress`` hears of each feed as its turn comes (a national sample takes minutes).
    """
    step = progress or (lambda position, total, name: None)
    step(1, 3, "registry/")
    sample = build_registry(scale, seed)
    files, broken = write_registry_samples(landing, sample, include_errors)
    step(2, 3, "bps/")
    bps_files = []
    for key, data in bps_sample_files(seed):
        landing.write_bytes(key, data)
        bps_files.append(key)
    step(3, 3, "marketplace/")
    # After the registry, from its own random streams: the registry bytes do not change.
    marketplace = write_marketplace_samples(landing, sample, scale, seed, include_errors)
    current = list(sample.current())
    return SampleReport(
        files=files,
        sentra_rows=sum(len(s.sentra) for s in current),
        member_rows=sum(len(s.members) for s in current),
        deliberately_broken=broken,
        bps_files=bps_files,
        marketplace=marketplace,
    )
