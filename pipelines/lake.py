"""Where things live in the lake. Every lake key is built here and nowhere else.

```
raw/<source>/<sha256><suffix>                 immutable copy of every received file
clean/<dataset>/<sha256>.parquet             validated, typed rows of one received file
quarantine/<source>/<sha256>/report.{json,md} why a file was not published
ledger/<source>/<sha256>/<stamp>_<status>_<run>.json   see pipelines.ledger
publishes/<version>.json                     one record per published marts version
```
"""

from __future__ import annotations

from pathlib import PurePosixPath

RAW = "raw"
CLEAN = "clean"
QUARANTINE = "quarantine"
PUBLISHES = "publishes"


def raw_key(source: str, sha256: str, original_name: str) -> str:
    # The suffix keeps the raw copy openable by a person; identity is the hash alone.
    suffix = PurePosixPath(original_name).suffix.lower()
    return f"{RAW}/{source}/{sha256}{suffix}"


def clean_key(dataset: str, sha256: str) -> str:
    return f"{CLEAN}/{dataset}/{sha256}.parquet"


def clean_prefix(dataset: str) -> str:
    return f"{CLEAN}/{dataset}/"


def quarantine_report_key(source: str, sha256: str, extension: str) -> str:
    return f"{QUARANTINE}/{source}/{sha256}/report.{extension}"


def publish_record_key(version: str) -> str:
    return f"{PUBLISHES}/{version}.json"


def sha256_from_clean_key(key: str) -> str:
    return PurePosixPath(key).stem
