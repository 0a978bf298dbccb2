"""What every answer of the BPS Web API has in common, and keeping the key out of what is shown.

Answers come with HTTP 200 whatever happened: ``{"status": "OK", ...}`` with data, ``{"status":
"Error", "message": ...}`` for an error, ``"data-availability": "not-available"`` (or
``list-not-available``) with ``"data": ""`` when there is nothing. List models paginate:
``data[0]`` is ``{page, pages, per_page, count, total}`` and ``data[1]`` the items. Labels may
carry HTML (``<b>ACEH</b>``). The key travels in the URL path (``/key/{KEY}/``), so any text taken
from a URL or an answer goes through ``redact`` before it is shown.
"""

from __future__ import annotations

import html
import json
import re
from typing import Any


class BpsResponseError(ValueError):
    """A response cannot be read: an error answer, not JSON, or not the shape expected."""


_KEY_IN_PATH = re.compile(r"(/key/)[^/?#\s'\"]+")


def redact(text: str, secret: str | None = None) -> str:
    """``text`` with the API key replaced by ``***``: in any ``/key/...`` path and anywhere else."""
    text = _KEY_IN_PATH.sub(r"\1***", text)
    return text.replace(secret, "***") if secret else text


def read_document(data: bytes, where: str) -> dict[str, Any]:
    """The JSON document of an HTTP-200 answer, or a ``BpsResponseError`` saying what it is."""
    try:
        document = json.loads(data.decode("utf-8-sig"))
    except (ValueError, RecursionError):
        # Besides bytes that are not UTF-8 or not JSON (both ValueErrors): a number past
        # Python's 4,300-digit limit, or nesting deeper than the interpreter's stack.
        start = redact(data[:80].decode("utf-8", "replace"))
        raise BpsResponseError(
            f"{where}: the answer is not JSON (it starts with {start!r}); the API may be down "
            "for maintenance or a proxy answered instead"
        ) from None
    try:
        # An escape such as "\ud800" decodes to half a character (a lone surrogate), which
        # no UTF-8 text, and so no report or Parquet column, can hold.
        json.dumps(document, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError as error:
        before = error.object[max(0, error.start - 40) : error.start]
        raise BpsResponseError(
            f"{where}: the answer holds a \\u escape of half a character "
            f"({error.object[error.start]!r} after {before!r}); it is not valid Unicode text"
        ) from None
    if not isinstance(document, dict):
        raise BpsResponseError(f"{where}: expected a JSON object, got {type(document).__name__}")
    if document.get("status") != "OK":
        message = redact(str(document.get("message") or document.get("error") or document))
        raise BpsResponseError(f"{where}: BPS answered with an error: {message}")
    return document


def not_available(document: dict[str, Any]) -> bool:
    """BPS has nothing for this call (``not-available``, or ``list-not-available`` for lists)."""
    return str(document.get("data-availability", "")).endswith("not-available")


def list_page(document: dict[str, Any], where: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """(page info, items) of one page of a list model."""
    data = document.get("data")
    if not_available(document) or data == "":
        return {"pages": 1}, []
    if not (
        isinstance(data, list)
        and len(data) == 2
        and isinstance(data[0], dict)
        and isinstance(data[1], list)
    ):
        raise BpsResponseError(
            f"{where}: expected a paginated list ('data': [page info, items]), "
            f"got {str(data)[:80]!r}"
        )
    return data[0], data[1]


def clean_label(value: Any) -> str:
    """A label without HTML (``<b>ACEH</b>`` -> ``ACEH``) and with single spaces."""
    text = html.unescape(re.sub(r"<[^>]*>", " ", str(value)))
    return " ".join(text.split())
