"""Replay files or rebuild the marts on demand, without fanning out duplicate runs."""

from __future__ import annotations

from typing import Any

from airflow.sdk import Param, dag, get_current_context
from sentra_common import MARTS, START_DATE, announce, default_args, tags
from sentra_lineage import lineage_task


@dag(
    dag_id="sentra_reprocess",
    schedule=None,
    start_date=START_DATE,
    catchup=False,
    max_active_runs=1,
    tags=tags("reprocess", "manual"),
    default_args=default_args(retries=0),
    params={
        "sha256s": Param(
            [],
            type="array",
            items={"type": "string", "pattern": "^[0-9a-fA-F]{8,64}$"},
            description="Received files to replay from their raw copies, by sha256 or a unique "
            "prefix of at least 8 characters (see `sentra status` or a quarantine alert).",
        ),
        "landing_keys": Param(
            [],
            type="array",
            items={"type": "string"},
            description="Or landing keys to ingest again, e.g. registry/jatim.xlsx.",
        ),
        "rebuild_marts": Param(False, type="boolean", description="Build the marts afterwards."),
        "force_rebuild": Param(
            False, type="boolean", description="Publish a new marts version even if unchanged."
        ),
    },
    doc_md="""
### Reprocess: replay files, rebuild the marts

**Runs** only when triggered by hand (*Trigger DAG* with parameters).

**Does** ingest the given files again even though the ledger settled them (after fixing a suite,
reference data or a bug): `sha256s` are replayed from their raw copies in the lake (the landed
file may be gone), `landing_keys` are read from the landing store as it is now. Each replay
writes new ledger records under this run. If anything was published, or `rebuild_marts` is set,
the marts are built *here* (with `force_rebuild` even when unchanged) and one `sentra.marts`
event is recorded; no `sentra.validated.*` event is emitted, so the marts DAG
does not run a second build.

**When it fails**: an unknown sha256 fails at once with the reason; a replay that is quarantined
again sends the usual data alert. No retries: rerun it with corrected parameters.
""",
)
def sentra_reprocess() -> None:
    # Reports the marts build's lineage (the replayed files' is not reported, see docs/lineage.md).
    @lineage_task()
    def replay_and_build() -> dict[str, Any]:
        from sentra_tasks import reprocess

        context = get_current_context()
        result = reprocess(dict(context["params"]), context)
        marts: dict[str, Any] = result["marts"]
        return marts

    announce(MARTS, "marts_extra", "announce_marts")(replay_and_build())


sentra_reprocess()
