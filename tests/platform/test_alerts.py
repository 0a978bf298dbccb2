"""Alerts: our own text, delivered for real over SMTP and HTTP on 127.0.0.1."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import pytest

from pipelines.ingest.alerts import alerts_for_ingest
from pipelines.ingest.engine import Ingestor
from pipelines.lake.ledger import Ledger
from pipelines.marts.publish import build_and_publish
from pipelines.platform.notify import Alert, deliver
from pipelines.platform.settings import Settings
from tests.registry_files import DIY_ROWS, JATIM_MEMBERS, JATIM_SENTRA, registry_csv, registry_xlsx


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class SmtpSink:
    """An aiosmtpd handler keeping every message it receives."""

    def __init__(self) -> None:
        self.messages: list[str] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(envelope.content.decode("utf-8", errors="replace"))
        return "250 OK"


@pytest.fixture
def smtp_server() -> Iterator[tuple[str, SmtpSink]]:
    from aiosmtpd.controller import Controller

    sink = SmtpSink()
    port = free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield (
            f"mailto://127.0.0.1:{port}?from=pipeline@sentra.test&to=ikm@kemenperin.test&mode=insecure",
            sink,
        )
    finally:
        controller.stop()


@pytest.fixture
def webhook() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    received: list[dict[str, Any]] = []

    class Receiver(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", 0))
            received.append(json.loads(self.rfile.read(length)))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"json://127.0.0.1:{server.server_address[1]}/hook", received
    finally:
        server.shutdown()


def quarantined_summary(settings: Settings) -> Any:
    settings.landing_store.write_bytes(
        "registry/jatim.xlsx", registry_xlsx(JATIM_SENTRA, JATIM_MEMBERS)
    )
    Ingestor(settings).run()
    build_and_publish(settings, "run-good")
    bad = [list(row) for row in DIY_ROWS]
    bad[2][6] = "0"
    settings.landing_store.write_bytes("registry/diy.csv", registry_csv(bad))
    return Ingestor(settings).run()


def test_a_quarantine_alert_says_what_where_what_was_not_published_and_how_to_replay(
    settings: Settings,
) -> None:
    summary = quarantined_summary(settings)

    [alert] = alerts_for_ingest(summary, settings)
    [outcome] = [o for o in summary.outcomes if o.status == "quarantined"]
    assert alert.severity == "critical"
    assert "registry/diy.csv" in alert.title
    assert outcome.sha256 in alert.body
    assert "jumlah_ikm_range [critical]: 1 row" in alert.body
    assert "source_row=6, jumlah_ikm=0" in alert.body
    assert "Nothing from this file was published" in alert.body
    assert "still serving version" in alert.body and "published 20" in alert.body
    assert f"sentra replay {outcome.sha256}" in alert.body
    assert "report.json" in alert.body
    # GX's own Data Docs page for this validation, linked from the alert and the ledger.
    [page] = outcome.data_docs
    assert f"Data Docs: {page}" in alert.body
    assert "Great Expectations" in Path(page).read_text()
    record = Ledger(settings.lake_store).latest_records()
    assert any(r.sha256 == outcome.sha256 and r.data_docs for r in record)
    index = Path(settings.lake_store.uri_for("docs/index.html")).read_text()
    assert "registry/diy.csv" in index and "registry_sentra" in index


def test_alerts_are_delivered_over_real_smtp_and_http(
    smtp_server: tuple[str, SmtpSink], webhook: tuple[str, list[dict[str, Any]]]
) -> None:
    alert = Alert("critical", "registry file quarantined: registry/x.csv", "rows rejected: 3")
    mailto, sink = smtp_server
    hook, received = webhook

    deliveries = deliver([alert], f"{mailto}, {hook}", backoff_seconds=0)

    assert [d.delivered for d in deliveries] == [True, True]
    assert len(sink.messages) == 1
    assert "registry file quarantined: registry/x.csv" in sink.messages[0]
    assert "rows rejected: 3" in sink.messages[0]
    assert received[0]["title"] == alert.title
    assert received[0]["message"] == "rows rejected: 3"
    assert received[0]["type"] == "failure"


def test_a_dead_channel_is_retried_logged_and_never_breaks_the_others(
    webhook: tuple[str, list[dict[str, Any]]], caplog: pytest.LogCaptureFixture
) -> None:
    hook, received = webhook
    dead = f"json://127.0.0.1:{free_port()}/nobody-listens"
    alert = Alert("warning", "t", "b")

    deliveries = deliver([alert], f"{dead} {hook}", attempts=2, backoff_seconds=0)

    assert [(d.delivered, d.attempts) for d in deliveries] == [(False, 2), (True, 1)]
    assert len(received) == 1
    assert "not delivered" in caplog.text and "nobody-listens" in caplog.text


def test_no_channels_means_console_only() -> None:
    assert deliver([Alert("warning", "t", "b")], "") == []


def test_ingest_through_the_cli_delivers_the_alert(
    settings: Settings,
    webhook: tuple[str, list[dict[str, Any]]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from typer.testing import CliRunner

    from pipelines.app.cli import app

    hook, received = webhook
    for name, value in {
        "SENTRA_LANDING": settings.landing,
        "SENTRA_LAKE": settings.lake,
        "SENTRA_WAREHOUSE": str(settings.warehouse_path),
        "SENTRA_AS_OF": "2026-06-30",
        "SENTRA_ALERT_URLS": hook,
    }.items():
        monkeypatch.setenv(name, value)
    bad = [list(DIY_ROWS[0])]
    bad[0][1] = "Atlantis"
    settings.landing_store.write_bytes("registry/bad.csv", registry_csv(bad))

    result = CliRunner().invoke(app, ["ingest"])

    assert result.exit_code == 1
    assert len(received) == 1
    assert "registry/bad.csv" in received[0]["title"]
    assert "Atlantis" in received[0]["message"]
