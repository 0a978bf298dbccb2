"""Fuzzing the BPS decoder: any response decodes to located rows or is refused, never crashes.

Inputs start from responses the decoder reads (tests/fixtures/bps/ and the seeded sample) and
are damaged: a value anywhere in the document swapped for any JSON value, a key or a list entry
dropped or repeated, bytes edited. How many per run: docs/reliability.md.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from pipelines.feeds.bps.api import BpsResponseError
from pipelines.feeds.bps.decode import decode, release_from_landed, to_table
from pipelines.platform.settings import EXPECTATIONS_DIR
from pipelines.quality.validation import Validator
from pipelines.samples.bps import bps_sample_files
from tests.bps_server import FIXTURES
from tests.hostile import Draw, damaged, examples, hang_guard, ingest_one, json_values, to_json

FIXTURE = FIXTURES / "data-var-1053-domain-0000.json"
SAMPLE = dict(bps_sample_files(20261128))
SEEDS = (
    ("bps/var-1053/domain-0000.json", FIXTURE.read_bytes()),
    *((key, data) for key, data in SAMPLE.items() if key.endswith("domain-3400.json")),
)


def places(value: Any) -> list[tuple[Any, Any]]:
    """(container, key or index) of every value inside a JSON document."""
    if isinstance(value, dict):
        children = list(value.items())
    elif isinstance(value, list):
        children = list(enumerate(value))
    else:
        return []
    return [place for key, child in children for place in [(value, key), *places(child)]]


@st.composite
def edited_document(draw: Draw, seed: bytes) -> bytes:
    """The document with one to three values replaced, removed or repeated."""
    document = json.loads(seed)
    for _ in range(draw(st.integers(1, 3))):
        if not places(document):
            break
        container, key = draw(st.sampled_from(places(document)))
        action = draw(st.sampled_from(("replace", "replace", "remove", "repeat")))
        if action == "replace":
            container[key] = draw(json_values())
        elif action == "remove":
            del container[key]
        elif isinstance(container, list):
            container.insert(key, container[key])
        else:
            container[draw(st.text(max_size=6))] = container[key]
    return to_json(document, escaped=draw(st.booleans()))


responses = st.sampled_from(SEEDS).flatmap(
    lambda seed: st.tuples(st.just(seed[0]), st.one_of(edited_document(seed[1]), damaged(seed[1])))
)


@given(responses)
@examples(1.0)
@example(("bps/var-1053/domain-0000.json", b"[" * 100_000))
@example(("bps/var-1053/domain-0000.json", b'{"status": "OK", "n": ' + b"9" * 4301 + b"}"))
def test_a_damaged_response_decodes_to_located_rows_or_is_refused(
    response: tuple[str, bytes],
) -> None:
    key, data = response
    with hang_guard():
        try:
            release = release_from_landed(key, data)
            decoded = decode(release) if release else None
        except BpsResponseError as error:
            assert str(error).startswith("BPS ")  # names the table and domain, or the response
            return
    if decoded is not None:
        for problem in decoded.problems:
            assert problem.sheet and problem.sheet.startswith("datacontent[") and problem.row >= 1
        to_table(decoded.rows)  # what is decoded can be published: every value fits its column


def fixture_with(**changes: Any) -> bytes:
    return json.dumps({**json.loads(FIXTURE.read_bytes()), **changes}).encode()


def entries(count: int) -> list[dict[str, Any]]:
    return [{"val": number, "label": str(number)} for number in range(count)]


@pytest.mark.parametrize(
    ("data", "says"),
    [
        # A few kilobytes of metadata whose product is 10^8 keys: refused before building them.
        (
            fixture_with(vervar=entries(100), turvar=entries(100), turtahun=entries(100)),
            "= 2,000,000 cells",
        ),
        (fixture_with(tahun=[{"val": "²", "label": "2022"}]), "no numeric 'val'"),
        (fixture_with(tahun=[{"val": "9" * 19, "label": "2022"}]), "no numeric 'val'"),
        (fixture_with(vervar=[{"val": 9999, "label": "INDONESIA \ud800"}]), "half a character"),
        (b'{"status": "OK", "n": ' + b"9" * 4301 + b"}", "not JSON"),
    ],
)
def test_a_response_that_crashed_the_decoder_is_refused_naming_what_is_wrong(
    data: bytes, says: str
) -> None:
    with hang_guard(), pytest.raises(BpsResponseError, match=re.escape(says)) as refused:
        release = release_from_landed("bps/var-1053/domain-0000.json", data)
        assert release is not None
        decode(release)
    assert "var 1053" in str(refused.value)


def test_a_figure_of_hundreds_of_digits_is_a_located_problem() -> None:
    content = {"9999105301223": 10**400}
    release = release_from_landed(
        "bps/var-1053/domain-0000.json", fixture_with(datacontent=content)
    )
    assert release is not None

    [problem] = decode(release).problems

    assert problem.sheet == "datacontent[9999105301223]" and "too large" in problem.problem


@pytest.fixture(scope="module")
def validator() -> Validator:
    # One GX context for the module: building one costs seconds.
    return Validator(EXPECTATIONS_DIR)


@given(responses)
@examples(0.08)
def test_a_damaged_response_is_ingested_or_quarantined_never_failed(
    validator: Validator, response: tuple[str, bytes]
) -> None:
    ingest_one(validator, *response)
