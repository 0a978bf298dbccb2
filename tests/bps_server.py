"""A BPS Web API on 127.0.0.1 for tests: the sample responses, plus scripted misbehaviour.

It speaks the path-style API the connector uses; every call with a wrong key gets BPS's error
answer (HTTP 200, ``status: Error``):

- ``/v1/api/list/model/data/lang/ind/domain/<domain>/var/<var>/key/<key>/`` answers the sample
  response for (var, domain), and ``not-available`` where the sample has none;
- the listings, in pages of ``per_page`` (``data[0]`` page info, ``data[1]`` items) as BPS's list
  models are, from the documented-format fixtures in ``tests/fixtures/bps/`` (see its README):
  ``/v1/api/domain/type/prov[/page/<n>]/key/<key>/`` the province domains,
  ``/v1/api/list/model/subject/lang/ind/domain/<domain>[/page/<n>]/key/<key>/`` the subjects and
  ``/v1/api/list/model/var/lang/ind/domain/<domain>/subject/<id>[/page/<n>]/key/<key>/`` the
  variables filed under a subject.

``script`` queues answers per (var, domain) ahead of the sample: each is (HTTP status, body,
seconds to wait first), so a test can send 503 twice and then the real response, or a slow one.

Run as a module it serves the responses ``sentra sample`` landed, for an offline pull::

    uv run python -m tests.bps_server data/landing --key demo-key --port 8765 &
    SENTRA_BPS_API_URL=http://127.0.0.1:8765/v1/api SENTRA_BPS_API_KEY=demo-key \
        uv run sentra ingest bps
"""

from __future__ import annotations

import argparse
import json
import re
import threading
import time
from collections import defaultdict
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

NOT_AVAILABLE = b'{"status":"OK","data-availability":"not-available","data":""}'
WRONG_KEY = b'{"status":"Error","message":"Invalid or expired key"}'
FIXTURES = Path(__file__).parent / "fixtures" / "bps"
API = "/v1/api/"
DATA_PATH = re.compile(r"list/model/data/lang/ind/domain/(\d{4})/var/(\d+)(?:/turvar/\d+)?")
DOMAIN_PATH = re.compile(r"domain/type/prov")
SUBJECT_PATH = re.compile(r"list/model/subject/lang/ind/domain/\d{4}")
VAR_PATH = re.compile(r"list/model/var/lang/ind/domain/\d{4}/subject/(\d+)")
KEYED_PATH = re.compile(r"(.+?)(?:/page/(\d+))?/key/([^/]+)/")
LANDED_NAME = re.compile(r"var-(\d+)/domain-(\d{4})\.json$")

Answer = tuple[int, bytes, float]


def fixture(name: str) -> dict[str, Any]:
    document: dict[str, Any] = json.loads((FIXTURES / name).read_text("utf-8"))
    return document


def listed(name: str) -> list[dict[str, Any]]:
    """The items of a list-model fixture (``data[1]``)."""
    items: list[dict[str, Any]] = fixture(name)["data"][1]
    return items


def responses_by_table(files: Mapping[str, bytes]) -> dict[tuple[str, str], bytes]:
    """Landed responses (``.../var-<var>/domain-<domain>.json``) by (var, domain)."""
    found = {}
    for name, data in files.items():
        if match := LANDED_NAME.search(name):
            found[(match[1], match[2])] = data
    return found


@dataclass
class FakeBps:
    key: str
    responses: dict[tuple[str, str], bytes] = field(default_factory=dict)
    """Sample response bytes per (var, domain)."""
    script: dict[tuple[str, str], list[Answer]] = field(default_factory=lambda: defaultdict(list))
    per_page: int = 10
    domains: list[dict[str, Any]] = field(default_factory=lambda: listed("domain-type-prov.json"))
    subjects: list[dict[str, Any]] = field(
        default_factory=lambda: listed("subject-domain-0000.json")
    )
    variables: list[dict[str, Any]] = field(
        default_factory=lambda: listed("var-domain-0000-subject-170.json")
    )
    """Every listed variable; a subject's listing shows those with its ``sub_id``."""
    requests: list[str] = field(default_factory=list)
    base_url: str = ""

    def answer(self, path: str) -> Answer:
        self.requests.append(path)
        keyed = KEYED_PATH.fullmatch(path.removeprefix(API))
        if keyed is None:
            return 404, b"<html><body>Not Found</body></html>", 0.0
        call, page, key = keyed[1], int(keyed[2] or 1), keyed[3]
        if key != self.key:
            return 200, WRONG_KEY, 0.0
        if match := DATA_PATH.fullmatch(call):
            domain, var = match.groups()
            queued = self.script.get((var, domain))
            if queued:
                return queued.pop(0)
            return 200, self.responses.get((var, domain), NOT_AVAILABLE), 0.0
        if DOMAIN_PATH.fullmatch(call):
            return 200, self.page(self.domains, page), 0.0
        if SUBJECT_PATH.fullmatch(call):
            return 200, self.page(self.subjects, page), 0.0
        if match := VAR_PATH.fullmatch(call):
            filed = [v for v in self.variables if str(v["sub_id"]) == match[1]]
            return 200, self.page(filed, page), 0.0
        return 404, b"<html><body>Not Found</body></html>", 0.0

    def page(self, items: list[dict[str, Any]], page: int) -> bytes:
        """One page of a list model, or ``list-not-available`` when there is nothing."""
        if not items:
            return b'{"status":"OK","data-availability":"list-not-available","data":""}'
        pages = -(-len(items) // self.per_page)
        shown = items[(page - 1) * self.per_page : page * self.per_page]
        info = {
            "page": page,
            "pages": pages,
            "per_page": self.per_page,
            "count": len(shown),
            "total": len(items),
        }
        return json.dumps(
            {"status": "OK", "data-availability": "available", "data": [info, shown]}
        ).encode()

    def data_requests(self, var: int, domain: str) -> int:
        return sum(f"/domain/{domain}/var/{var}/" in path for path in self.requests)


def _handler(fake: FakeBps) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            status, body, delay = fake.answer(self.path)
            if delay:
                time.sleep(delay)
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up waiting (a timeout test)

        def log_message(self, format: str, *args: object) -> None:
            pass  # quiet: the paths carry the test key

    return Handler


@contextmanager
def serving(fake: FakeBps) -> Iterator[FakeBps]:
    """Serve ``fake`` on a free port of 127.0.0.1 for the duration of the block."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(fake))
    server.daemon_threads = True
    # A short poll interval keeps shutdown (and so each test) quick.
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    fake.base_url = f"http://127.0.0.1:{server.server_address[1]}/v1/api"
    try:
        yield fake
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def main() -> None:
    parser = argparse.ArgumentParser(description="Serve landed BPS responses as the BPS Web API.")
    parser.add_argument("landing", type=Path, help="the landing folder holding bps/...")
    parser.add_argument("--key", required=True, help="the API key the server accepts")
    parser.add_argument("--port", type=int, default=8765)
    args = parser.parse_args()
    files = {str(p): p.read_bytes() for p in (args.landing / "bps").rglob("*.json")}
    fake = FakeBps(key=args.key, responses=responses_by_table(files))
    server = ThreadingHTTPServer(("127.0.0.1", args.port), _handler(fake))
    print(f"serving {len(fake.responses)} BPS responses at http://127.0.0.1:{args.port}/v1/api")
    server.serve_forever()


if __name__ == "__main__":
    main()
