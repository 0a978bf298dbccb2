"""Where things live in the lake. Every lake key is built here and nowhere else.

```
raw/<source>/<sha256><suffix>                 immutable copy of every received file
clean/<dataset>/<sha256>.parquet             validated, typed rows of one received file
quarantine/<source>/<sha256>/<run_id>/       why a file (or some of its rows) was not published:
                                             report.json, report.md, rejected_<dataset>.parquet
ledger/<source>/<sha256>/<stamp>_<status>_<run>.json   see pipelines.lake.ledger
claims/<source>/<sha256>/<settlement>-<attempt>.json   who is ingesting it (pipelines.lake.claims)
publishes/<version>.json                     one record per published marts version
docs/index.html, docs/validation/<source>/<sha256>/<run_id>/<suite>.html   GX Data Docs
```
"""

from __future__ import annotations

from pathlib import PurePosixPath

RAW = "raw"
CLEAN = "clean"
QUARANTINE = "quarantine"
PUBLISHES = "publishes"
CLAIMS = "claims"
DATA_DOCS = "docs"
DATA_DOCS_PAGES = f"{DATA_DOCS}/validation/"
DATA_DOCS_INDEX = f"{DATA_DOCS}/index.html"
# GX's validation results as JSON, written with the file: the pages are rendered from them.
DATA_DOCS_RESULTS = f"{DATA_DOCS}/results/"


def raw_key(source: str, sha256: str, original_name: str) -> str:
    # The suffix keeps the raw copy openable by a person; identity is the hash alone.
    suffix = PurePosixPath(original_name).suffix.lower()
    return f"{RAW}/{source}/{sha256}{suffix}"


def clean_key(dataset: str, sha256: str) -> str:
    return f"{CLEAN}/{dataset}/{sha256}.parquet"


def clean_prefix(dataset: str) -> str:
    return f"{CLEAN}/{dataset}/"


def quarantine_prefix(source: str, sha256: str, run_id: str) -> str:
    # Per run, so a replay's report sits beside the first one instead of replacing it.
    return f"{QUARANTINE}/{source}/{sha256}/{run_id}/"


def quarantine_report_key(source: str, sha256: str, run_id: str, extension: str) -> str:
    return f"{quarantine_prefix(source, sha256, run_id)}report.{extension}"


def rejected_rows_key(source: str, sha256: str, run_id: str, dataset: str) -> str:
    return f"{quarantine_prefix(source, sha256, run_id)}rejected_{dataset}.parquet"


def publish_record_key(version: str) -> str:
    return f"{PUBLISHES}/{version}.json"


def sha256_from_clean_key(key: str) -> str:
    return PurePosixPath(key).stem


def data_docs_page_key(source: str, sha256: str, run_id: str, suite: str) -> str:
    return f"{DATA_DOCS_PAGES}{source}/{sha256}/{run_id}/{suite}.html"


def validation_result_key(page_key: str) -> str:
    """Where the GX validation result that a Data Docs page is rendered from is kept."""
    relative = page_key.removeprefix(DATA_DOCS_PAGES).removesuffix(".html")
    return f"{DATA_DOCS_RESULTS}{relative}.json"


def data_docs_page_for(result_key: str) -> str:
    relative = result_key.removeprefix(DATA_DOCS_RESULTS).removesuffix(".json")
    return f"{DATA_DOCS_PAGES}{relative}.html"


def claim_key(source: str, sha256: str, settlement: int, attempt: int) -> str:
    return f"{CLAIMS}/{source}/{sha256}/{settlement}-{attempt}.json"
