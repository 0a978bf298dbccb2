"""Hostile inputs for the feed fuzzers: valid files from the test fixtures, then damaged.

A fuzzer that only draws random bytes stops at the first check of every parser ("not a zip
file", "no table found"). Starting from a file each parser accepts and damaging it a little
(a truncated line, a stray quote, a NUL, a 5,000-digit number, a byte no encoding knows, a
member of a workbook swapped for junk) reaches the cell readers, the workbook's XML, DuckDB's
CSV and JSON readers and the BPS key decoding, where the crashes are.

Also the property every fuzz test checks: an ingest ends "ingested" or "quarantined" with a
message, and nothing the file held is lost on the way.
"""

from __future__ import annotations

import faulthandler
import io
import json
import sys
import tempfile
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from hypothesis import settings
from hypothesis import strategies as st

from pipelines.feeds.catalog import FEEDS
from pipelines.ingest.engine import FileOutcome, Ingestor
from pipelines.lake import layout
from pipelines.quality.validation import Validator
from tests.clean_parquet import read_parquet
from tests.conftest import local_settings

Draw = Callable[[st.SearchStrategy[Any]], Any]

# Bytes that mean something to one of the parsers: line ends, quotes, delimiters, JSON
# brackets, a NUL, byte-order marks, a byte undefined in Windows-1252 (0x81), a truncated
# UTF-8 sequence and a UTF-8-encoded lone surrogate.
SPECIAL_BYTES = (
    b"\x00",
    b"\r",
    b"\n",
    b"\r\n",
    b'"',
    b"'",
    b";",
    b",",
    b"\t",
    b"|",
    b"{",
    b"}",
    b"[",
    b"]",
    b":",
    b"\\",
    b"\x81",
    b"\xff",
    b"\xff\xfe",
    b"\xef\xbb\xbf",
    b"\xc3",
    b"\xed\xa0\x80",
    b"<",
    b">",
    b"&#0;",
    b"-",
    b".",
)
# Long runs: numbers past int64, float and Python's 4,300-digit int() limit, a long cell,
# deep nesting.
RUN_LENGTHS = (19, 20, 310, 4301, 20_000)
RUN_UNITS = (b"9", b"x", b'"', b"[", b"{", b"<a>", b"\xc3\xa9", b"\x00")


def special_or_random() -> st.SearchStrategy[bytes]:
    long_runs = st.builds(
        lambda unit, length: unit * length,
        st.sampled_from(RUN_UNITS),
        st.sampled_from(RUN_LENGTHS),
    )
    return st.one_of(st.sampled_from(SPECIAL_BYTES), st.binary(min_size=1, max_size=12), long_runs)


def _position(draw: Draw, data: bytearray) -> int:
    index: int = draw(st.integers(0, len(data)))
    return index


def _span(draw: Draw, data: bytearray) -> tuple[int, int]:
    start = _position(draw, data)
    end: int = draw(st.integers(start, min(len(data), start + 64)))
    return start, end


def _truncate(draw: Draw, data: bytearray) -> bytearray:
    return data[: _position(draw, data)]


def _delete(draw: Draw, data: bytearray) -> bytearray:
    start, end = _span(draw, data)
    return data[:start] + data[end:]


def _insert(draw: Draw, data: bytearray) -> bytearray:
    at = _position(draw, data)
    return data[:at] + draw(special_or_random()) + data[at:]


def _overwrite(draw: Draw, data: bytearray) -> bytearray:
    start, end = _span(draw, data)
    return data[:start] + draw(special_or_random()) + data[end:]


def _duplicate(draw: Draw, data: bytearray) -> bytearray:
    start, end = _span(draw, data)
    at = _position(draw, data)
    return data[:at] + data[start:end] + data[at:]


def _shuffle_lines(draw: Draw, data: bytearray) -> bytearray:
    """Drop, repeat or swap whole lines: a header moved down, a record cut in two."""
    lines = bytes(data).split(b"\n")
    first: int = draw(st.integers(0, len(lines) - 1))
    second: int = draw(st.integers(0, len(lines) - 1))
    action = draw(st.sampled_from(("drop", "repeat", "swap")))
    if action == "drop":
        del lines[first]
    elif action == "repeat":
        lines.insert(second, lines[first])
    else:
        lines[first], lines[second] = lines[second], lines[first]
    return bytearray(b"\n".join(lines))


EDITS = (_truncate, _delete, _insert, _overwrite, _duplicate, _shuffle_lines)


@st.composite
def damaged(draw: Draw, seed: bytes, max_edits: int = 3) -> bytes:
    """``seed`` with one to ``max_edits`` edits: truncation, deletion, insertion, repeats."""
    data = bytearray(seed)
    for _ in range(draw(st.integers(1, max_edits))):
        data = draw(st.sampled_from(EDITS))(draw, data)
    return bytes(data)


@st.composite
def damaged_zip(draw: Draw, seed: bytes) -> bytes:
    """A zip archive (an XLSX workbook) with one member damaged, dropped, added or replaced.

    Damaging the archive's bytes alone stops at "not a zip file"; damaging a member inside a
    well-formed archive reaches the workbook's XML and its relationships.
    """
    with zipfile.ZipFile(io.BytesIO(seed)) as archive:
        members = {info.filename: archive.read(info) for info in archive.infolist()}
    name = draw(st.sampled_from(sorted(members)))
    action = draw(st.sampled_from(("damage", "damage", "drop", "replace", "add")))
    if action == "damage":
        members[name] = draw(damaged(members[name]))
    elif action == "drop":
        del members[name]
    elif action == "replace":
        members[name] = draw(st.binary(max_size=64))
    else:
        members[draw(st.sampled_from(("xl/extra.xml", "[Content_Types].xml", "a/b/../c")))] = draw(
            st.binary(max_size=64)
        )
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for member, content in members.items():
            archive.writestr(member, content)
    return buffer.getvalue()


def json_values() -> st.SearchStrategy[Any]:
    """Any JSON value, with the numbers and strings that break readers: huge, odd, empty."""
    scalars = st.one_of(
        st.none(),
        st.booleans(),
        st.integers(),
        st.sampled_from((10**19, -(10**19), 10**400, 0, -1)),
        st.floats(allow_nan=True, allow_infinity=True),
        st.text(max_size=20),
        st.sampled_from(("", "-", "1,5", "²", "٣", "\ud800", "1e999", "9" * 4301)),
    )
    return st.recursive(
        scalars,
        lambda children: st.one_of(
            st.lists(children, max_size=3),
            st.dictionaries(st.text(max_size=8), children, max_size=3),
        ),
        max_leaves=8,
    )


def to_json(value: Any, escaped: bool = False) -> bytes:
    """JSON as a careless writer produces it: NaN and Infinity as bare words, a lone surrogate
    as an escape (``escaped``) or as the bytes no UTF-8 decoder takes."""
    return json.dumps(value, ensure_ascii=escaped).encode("utf-8", "surrogatepass")


def examples(share: float) -> settings:
    """A share of the profile's examples (tests/conftest.py): slow end-to-end tests try fewer."""
    return settings(max_examples=max(1, round(settings.default.max_examples * share)))


@contextmanager
def hang_guard(seconds: int = 120) -> Iterator[None]:
    """Fail with the stack of the stuck code, instead of hanging the suite, past ``seconds``.

    Not a timing check: a single input takes well under a second; only a parser that never
    returns (a loop over a key space the input made explode) reaches this.
    """
    faulthandler.dump_traceback_later(seconds, exit=True, file=sys.stderr)
    try:
        yield
    finally:
        faulthandler.cancel_dump_traceback_later()


def ingest_one(validator: Validator, key: str, data: bytes) -> FileOutcome:
    """Land ``data`` as ``key`` in a fresh local landing store and lake and ingest it.

    Checks what every hostile file must give: "ingested" or "quarantined" (never "failed",
    which is retried as if the storage were down, then parked), a message, and nothing lost:
    the raw copy kept byte for byte, a ledger record, a report for a quarantine, and every row
    counted as valid in the clean Parquet.
    """
    with tempfile.TemporaryDirectory(prefix="sentra-fuzz-") as folder, hang_guard():
        settings = local_settings(Path(folder))
        settings.landing_store.write_bytes(key, data)
        ingestor = Ingestor(settings)
        ingestor._validator = validator
        [outcome] = ingestor.run().outcomes
        assert outcome.status in ("ingested", "quarantined"), outcome.message
        assert outcome.message
        lake = settings.lake_store
        source, sha256 = outcome.source, outcome.sha256
        assert lake.read_bytes(layout.raw_key(source, sha256, Path(key).name)) == data
        [record] = ingestor.ledger.history(sha256)
        assert record.status == outcome.status
        clean = [layout.clean_key(dataset, sha256) for dataset in FEEDS[source].datasets]
        published = [name for name in clean if lake.exists(name)]
        rows = read_parquet(lake, published).num_rows if published else 0
        if outcome.status == "quarantined":
            assert outcome.report is not None and outcome.report.headline()
            assert lake.list(layout.quarantine_prefix(source, sha256, ingestor.run_id))
            assert rows == 0
        else:
            assert rows == outcome.rows_valid
        return outcome
