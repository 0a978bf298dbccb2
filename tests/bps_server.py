"""A BPS Web API on 127.0.0.1 for tests: the sample responses, plus scripted misbehaviour.

It speaks the path-style API the connector uses:

- ``/v1/api/list/model/data/lang/ind/domain/<domain>/var/<var>/key/<key>/`` answers the sample
  response for (var, domain), ``not-available`` where the sample has none, and a BPS error
  answer (HTTP 200, ``status: Error``) for a wrong key;
- ``/v1/api/domain/type/prov[/page/<n>]/key/<key>/`` lists the province domains in pages of
  ``per_page`` (``data[0]`` page info, ``data[1]`` items), as BPS's list models do.

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

from pipelines.reference.regions import load_regions

NOT_AVAILABLE = b'{"status":"OK","data-availability":"not-available","data":""}'
DATA_PATH = re.compile(
    r"/v1/api/list/model/data/lang/ind/domain/(\d{4})/var/(\d+)(?:/turvar/\d+)?/key/([^/]+)/"
)
DOMAIN_PATH = re.compile(r"/v1/api/domain/type/prov(?:/page/(\d+))?/key/([^/]+)/")
LANDED_NAME = re.compile(r"var-(\d+)/domain-(\d{4})\.json$")

Answer = tuple[int, bytes, float]


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
    domains: list[str] | None = None
    """Province domains the domain list names; default every reference province."""
    requests: list[str] = field(default_factory=list)
    base_url: str = ""

    def answer(self, path: str) -> Answer:
        self.requests.append(path)
        if match := DATA_PATH.fullmatch(path):
            domain, var, key = match.groups()
            if key != self.key:
                return 200, b'{"status":"Error","message":"Invalid or expired key"}', 0.0
            queued = self.script.get((var, domain))
            if queued:
                return queued.pop(0)
            return 200, self.responses.get((var, domain), NOT_AVAILABLE), 0.0
        if match := DOMAIN_PATH.fullmatch(path):
            return 200, self.domain_page(int(match[1] or 1)), 0.0
        return 404, b"<html><body>Not Found</body></html>", 0.0

    def domain_page(self, page: int) -> bytes:
        domains = self.domains
        if domains is None:
            domains = sorted(f"{p.bps_code}00" for p in load_regions().provinces.values())
        pages = -(-len(domains) // self.per_page)
        items = domains[(page - 1) * self.per_page : page * self.per_page]
        info = {
            "page": page,
            "pages": pages,
            "per_page": self.per_page,
            "count": len(items),
            "total": len(domains),
        }
        listed = [{"domain_id": d, "domain_name": d, "domain_url": ""} for d in items]
        return json.dumps(
            {"status": "OK", "data-availability": "available", "data": [info, listed]}
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
