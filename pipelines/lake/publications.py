"""The publish log: one record per marts version, kept in the lake beside its inputs.

Written by the marts build when it publishes; read by alerts ("still serving version ..."), the
status report and the next build (nothing to do when nothing changed).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING

from pipelines.lake import layout

if TYPE_CHECKING:
    from pipelines.platform.storage import Storage


@dataclass(frozen=True)
class PublishRecord:
    version: str
    published_at: str
    fingerprint: str
    run_id: str
    input_sha256s: list[str]
    row_counts: dict[str, int] = field(default_factory=dict)
    scoring_config_sha256: str = ""
    """sha256 of the scoring configuration file the ranking was computed with."""


def published_records(lake: Storage) -> list[PublishRecord]:
    """Every publish so far, oldest first."""
    known = set(PublishRecord.__dataclass_fields__)
    records = [
        # Records written before a field existed lack it; the defaults apply.
        PublishRecord(
            **{k: v for k, v in json.loads(lake.read_bytes(obj.key)).items() if k in known}
        )
        for obj in lake.list(f"{layout.PUBLISHES}/")
    ]
    return sorted(records, key=lambda record: record.published_at)


def latest_publish(lake: Storage) -> PublishRecord | None:
    records = published_records(lake)
    return records[-1] if records else None


def record_publish(lake: Storage, record: PublishRecord) -> None:
    lake.write_bytes(
        layout.publish_record_key(record.version),
        json.dumps(asdict(record), indent=1).encode(),
    )
