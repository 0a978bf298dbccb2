"""An S3 endpoint on 127.0.0.1 in front of the moto server that can misbehave on cue.

The pipeline talks to ``S3Endpoint.url``; every request is forwarded to moto, unless a rule says
otherwise: the endpoint stops (its port refuses connections, open connections are dropped)
and starts again on the same port, answers 503 SlowDown with ``Retry-After``, or answers late.
moto keeps the buckets meanwhile, as S3 keeps them through an outage.
"""

from __future__ import annotations

import http.client
import itertools
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import unquote, urlsplit

SLOW_DOWN = (
    b'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>SlowDown</Code>'
    b"<Message>Please reduce your request rate.</Message></Error>"
)

Match = Callable[[str, str], bool]
"""(method, object path after the bucket) -> whether a rule applies to the request."""


def writes_under(folder: str) -> Match:
    """PUTs of objects whose key has ``/<folder>/`` in it (``clean``, ``versions``, ...)."""
    return lambda method, path: method == "PUT" and f"/{folder}/" in path


def reads_under(folder: str) -> Match:
    """GETs of objects whose key has ``/<folder>/`` in it."""
    return lambda method, path: method == "GET" and f"/{folder}/" in path


def first_requests(count: int) -> Match:
    """The first ``count`` requests, whatever they are."""
    numbers = itertools.count()
    return lambda method, path: next(numbers) < count


@dataclass
class Seen:
    method: str
    path: str
    answer: str
    """forwarded, dropped (the endpoint went down), throttled or slow."""


class S3Endpoint:
    def __init__(self, upstream: str) -> None:
        self.upstream = urlsplit(upstream).netloc
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.seen: list[Seen] = []
        self.lock = threading.Lock()
        self.stop_at: Match | None = None
        self.throttle: Match | None = None
        self.retry_after_seconds = 120
        self.slow: Match | None = None
        self.delay_seconds = 0.0
        self._server: _Server | None = None
        self._closing: threading.Thread | None = None
        self.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def up(self) -> bool:
        return self._server is not None

    def start(self) -> None:
        """Listen (again) on the same port."""
        if self._closing is not None:
            self._closing.join()  # the port is free once the stopped server has closed it
        if self._server is None:
            self._server = _Server(self)
            # A short poll keeps stop() quick.
            threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True).start()

    def stop(self) -> None:
        """Stop listening: new connections are refused, open ones dropped at their next request."""
        with self.lock:
            server, self._server = self._server, None
        _close(server)

    def answer(self, method: str, path: str) -> str:
        with self.lock:
            if self._server is None:
                answer = "dropped"
            elif self.stop_at and self.stop_at(method, path):
                # Once: the endpoint goes away in the middle of this request.
                answer, self.stop_at = "dropped", None
                server, self._server = self._server, None
                self._closing = threading.Thread(target=_close, args=(server,), daemon=True)
                self._closing.start()
            elif self.throttle and self.throttle(method, path):
                answer = "throttled"
            elif self.slow and self.slow(method, path):
                answer = "slow"
            else:
                answer = "forwarded"
            self.seen.append(Seen(method, path, answer))
            return answer

    def count(self, answer: str) -> int:
        return sum(seen.answer == answer for seen in self.seen)


def _close(server: _Server | None) -> None:
    if server is not None:
        server.shutdown()
        server.server_close()


class _Server(ThreadingHTTPServer):
    # boto3 keeps connections open; joining their handler threads would hang the teardown.
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, endpoint: S3Endpoint) -> None:
        super().__init__(("127.0.0.1", endpoint.port), _Handler)
        self.endpoint = endpoint


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: object) -> None:
        pass

    def _handle(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        endpoint = self.server.endpoint
        answer = endpoint.answer(self.command, unquote(urlsplit(self.path).path))
        if answer == "dropped":
            # As a server that goes away mid-request: the connection closes, no answer.
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
            return
        if answer == "throttled":
            headers = [
                ("Content-Type", "application/xml"),
                ("Retry-After", str(endpoint.retry_after_seconds)),
            ]
            self._reply(503, headers, SLOW_DOWN)
            return
        if answer == "slow":
            time.sleep(endpoint.delay_seconds)
        self._reply(*self._forward(body))

    def _forward(self, body: bytes) -> tuple[int, list[tuple[str, str]], bytes]:
        upstream = http.client.HTTPConnection(self.server.endpoint.upstream, timeout=30)
        headers = {k: v for k, v in self.headers.items() if k.lower() != "expect"}
        upstream.request(self.command, self.path, body=body, headers=headers)
        response = upstream.getresponse()
        payload = response.read()
        upstream.close()
        return response.status, response.getheaders(), payload

    def _reply(self, status: int, headers: list[tuple[str, str]], payload: bytes) -> None:
        self.send_response(status)
        skip = {"connection", "transfer-encoding", "date", "server"}
        if self.command != "HEAD":
            skip.add("content-length")
            self.send_header("Content-Length", str(len(payload)))
        for name, value in headers:
            if name.lower() not in skip:
                self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload)

    do_GET = do_PUT = do_POST = do_HEAD = do_DELETE = _handle
