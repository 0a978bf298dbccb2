"""Who is ingesting a file right now: one claim per attempt, taken atomically.

Two workers can be handed the same content at once (two events, two runs, a replay beside an
ingest). Before writing anything of a file, a worker takes the claim
``claims/<source>/<sha256>/<settlement>-<attempt>.json``, where ``settlement`` is how many times
the ledger has settled the file and ``attempt`` its failures in a row since, plus one. Every racer
computes the same key from the ledger, and a conditional write lets exactly one of them win; the
others see who holds it. A claim whose holder leaves no ledger record within the lease was
abandoned (a killed worker): the next taker records that attempt as failed, so the attempt count
moves on and the file is ingested again, or parked after too many. The holder's own run (an
Airflow retry of the killed task) may take its claim back at once.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from pipelines.lake import layout
from pipelines.lake.ledger import FilePosition, Ledger, LedgerRecord, utc_now, write_once

if TYPE_CHECKING:
    from pipelines.platform.storage import Storage


@dataclass(frozen=True)
class Claim:
    run_id: str
    claimed_at: datetime

    def to_json(self) -> bytes:
        return json.dumps(
            {"run_id": self.run_id, "claimed_at": self.claimed_at.isoformat()}
        ).encode()

    @classmethod
    def from_json(cls, data: bytes) -> Claim:
        document = json.loads(data)
        return cls(document["run_id"], datetime.fromisoformat(document["claimed_at"]))


@dataclass(frozen=True)
class Taken:
    """This run holds the claim: it may write the file's outputs and its ledger record."""


@dataclass(frozen=True)
class HeldElsewhere:
    """Another run holds the claim (or already settled the file): leave the file to it."""

    holder: Claim
    settled: bool


class Claims:
    def __init__(self, lake: Storage, ledger: Ledger, lease: timedelta) -> None:
        self._lake = lake
        self._ledger = ledger
        self._lease = lease

    def take(
        self, source: str, sha256: str, run_id: str, position: FilePosition
    ) -> Taken | HeldElsewhere:
        """Claim the file's next attempt for ``run_id``, as ``position`` says it stands."""
        key = layout.claim_key(source, sha256, position.settlements, position.failures_in_a_row + 1)
        mine = Claim(run_id, utc_now())
        if write_once(self._lake, key, mine.to_json()):
            return Taken()
        holder = Claim.from_json(self._lake.read_bytes(key))
        if holder.run_id == run_id:
            return Taken()  # this run's own retry: the earlier try died holding it
        now = self._ledger.position(source, sha256)
        if now != position:
            # The holder has left its record since: settled, or failed (the next run retries).
            return HeldElsewhere(holder, settled=now.settled)
        if mine.claimed_at - holder.claimed_at < self._lease:
            return HeldElsewhere(holder, settled=False)
        self.record_abandoned(source, sha256, holder)
        return self.take(source, sha256, run_id, self._ledger.position(source, sha256))

    def record_abandoned(self, source: str, sha256: str, holder: Claim) -> None:
        """The holder's attempt, failed on its behalf; every taker writes the same record."""
        self._ledger.append_once(
            LedgerRecord(
                sha256=sha256,
                source=source,
                original_name="",
                size=0,
                received_at=holder.claimed_at.isoformat(),
                landed_at=holder.claimed_at.isoformat(),
                status="failed",
                run_id=holder.run_id,
                error=(
                    f"abandoned: run {holder.run_id} claimed the file at "
                    f"{holder.claimed_at:%Y-%m-%d %H:%M:%S} UTC and left no result within the "
                    f"lease ({self._lease}); its worker probably died"
                ),
            )
        )
