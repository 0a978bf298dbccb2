"""The HTTP client of the BPS Web API: path-style calls, retries, timeouts, the key out of sight.

Connection errors, timeouts, 429 and 5xx answers are retried with exponential backoff (urllib3
``Retry``, honouring ``Retry-After``); what still fails raises ``BpsApiError`` naming what was
asked for, with the URL redacted. urllib3's own log lines carry URLs, so they are filtered too.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from pipelines.feeds.bps.api import list_page, read_document, redact
from pipelines.feeds.bps.tables import BpsConfigError

if TYPE_CHECKING:
    import requests

    from pipelines.platform.settings import Settings


class BpsApiError(RuntimeError):
    """The API could not be reached or answered with an HTTP error, after retries."""


class _RedactingFilter(logging.Filter):
    """Rewrites log records that carry a URL (urllib3 logs retries and requests with theirs)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = redact(message)
        if redacted != message:
            record.msg, record.args = redacted, None
        return True


_REDACTING_FILTER = _RedactingFilter()


def _redact_http_logs() -> None:
    # Filters on a logger apply to its own records only, so each urllib3 logger gets one.
    for name in ("urllib3.connectionpool", "urllib3.connection", "urllib3.util.retry"):
        logger = logging.getLogger(name)
        if _REDACTING_FILTER not in logger.filters:
            logger.addFilter(_REDACTING_FILTER)


class BpsClient:
    """Calls ``{base}/<segments>/key/{KEY}/`` and returns HTTP-200 bodies."""

    def __init__(
        self,
        base_url: str,
        key: str,
        *,
        timeout: float | tuple[float, float] = (5.0, 30.0),
        retries: int = 3,
        backoff_factor: float = 1.0,
    ) -> None:
        if not key:
            raise BpsConfigError("the BPS API key is empty; set SENTRA_BPS_API_KEY")
        self.base_url = base_url.rstrip("/")
        self._key = key
        self.timeout = timeout
        self.retries = retries
        self._session = new_session(retries, backoff_factor)
        _redact_http_logs()

    def __enter__(self) -> BpsClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self._session.close()

    def url(self, *segments: object) -> str:
        path = "/".join(str(segment) for segment in segments)
        return f"{self.base_url}/{path}/key/{self._key}/"

    def shown(self, text: str) -> str:
        return redact(text, self._key)

    def fetch_data(self, domain: str, var: int, turvar: int | None, what: str) -> bytes:
        """The body of the data call for one table and domain (any HTTP-200 body)."""
        extra = ("turvar", turvar) if turvar is not None else ()
        url = self.url("list/model/data/lang/ind/domain", domain, "var", var, *extra)
        # The raw copy is kept forever: a body that echoes the key must not carry it there.
        return self.get(url, what).replace(self._key.encode(), b"***")

    def list_items(self, *segments: object, what: str) -> Iterator[dict[str, Any]]:
        """Items of a paginated list model, following ``/page/{n}/`` to the last page."""
        page, pages = 1, 1
        while page <= pages:
            paged = segments if page == 1 else (*segments, "page", page)
            where = f"{what} (page {page})"
            document = read_document(self.get(self.url(*paged), where), where)
            info, items = list_page(document, where)
            pages = int(info.get("pages") or 1)
            yield from items
            page += 1

    def get(self, url: str, what: str) -> bytes:
        import requests

        try:
            response = self._session.get(url, timeout=self.timeout)
        except requests.RequestException as error:
            # ``from None``: the chained exception would carry the unredacted URL.
            raise BpsApiError(
                f"{what}: no answer from {self.shown(url)} after {self.retries} retries "
                f"({type(error).__name__}: {self.shown(str(error))})"
            ) from None
        if response.status_code != 200:
            snippet = self.shown(response.text[:200])
            raise BpsApiError(
                f"{what}: HTTP {response.status_code} from {self.shown(url)}: {snippet!r}"
            )
        return response.content


def new_session(retries: int, backoff_factor: float) -> requests.Session:
    import requests
    from requests.adapters import HTTPAdapter
    from urllib3.util import Retry

    retry = Retry(
        total=retries,
        connect=retries,
        read=retries,
        status=retries,
        backoff_factor=backoff_factor,
        status_forcelist=(429, 500, 502, 503, 504),
        allowed_methods=frozenset({"GET"}),
        # The last 5xx answer comes back as a response, so the error can say which status.
        raise_on_status=False,
    )
    session = requests.Session()
    adapter = HTTPAdapter(max_retries=retry)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    session.headers["Accept"] = "application/json"
    return session


def client_from_settings(settings: Settings) -> BpsClient:
    key = settings.bps_api_key
    if key is None or not key.get_secret_value():
        raise BpsConfigError(
            "SENTRA_BPS_API_KEY is not set: pulling from BPS needs a BPS Web API key "
            "(register at https://webapi.bps.go.id/developer/). To ingest responses landed "
            "under bps/ instead, run `sentra ingest`."
        )
    return BpsClient(settings.bps_api_url, key.get_secret_value())
