"""Alerts delivered to whatever channels the team configured, by Apprise URL.

``SENTRA_ALERT_URLS`` holds Apprise URLs (``mailto://``, ``json://``, ``slack://``, ``tgram://``,
``msteams://``, ...); empty means the log only. Delivery failures are logged and retried and never
change the run's own result. What an alert says is written by the code that raises it.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Literal

log = logging.getLogger(__name__)

Severity = Literal["critical", "warning"]
DELIVERY_ATTEMPTS = 3


@dataclass(frozen=True)
class Alert:
    severity: Severity
    title: str
    body: str

    def text(self) -> str:
        return f"[{self.severity.upper()}] {self.title}\n\n{self.body}"


@dataclass(frozen=True)
class Delivery:
    """The outcome of delivering one alert to one configured channel."""

    channel: str
    delivered: bool
    attempts: int


def deliver(
    alerts: list[Alert], urls: str, attempts: int = DELIVERY_ATTEMPTS, backoff_seconds: float = 1.0
) -> list[Delivery]:
    """Send every alert to every configured channel; log (never raise) what could not be sent.

    Each channel is tried on its own, so a broken one neither blocks nor duplicates the others.
    """
    for alert in alerts:
        log.info("alert: %s", alert.text())
    channels = split_urls(urls)
    return [
        send(alert, channel, attempts, backoff_seconds) for alert in alerts for channel in channels
    ]


def split_urls(urls: str) -> list[str]:
    from apprise.utils.parse import parse_urls

    # Apprise's own parser: URLs separated by spaces or commas, commas inside a URL's query kept.
    return [str(url) for url in parse_urls(urls)] if urls.strip() else []  # type: ignore[no-untyped-call]


def send(alert: Alert, channel: str, attempts: int, backoff_seconds: float) -> Delivery:
    import apprise

    notifier = apprise.Apprise()
    if not notifier.add(channel):
        log.error(
            "alert channel %s is not a valid Apprise URL; alert not delivered", redact(channel)
        )
        return Delivery(redact(channel), False, 0)
    notify_type = (
        apprise.NotifyType.FAILURE if alert.severity == "critical" else apprise.NotifyType.WARNING
    )
    for attempt in range(1, attempts + 1):
        try:
            if notifier.notify(title=alert.title, body=alert.body, notify_type=notify_type):
                return Delivery(redact(channel), True, attempt)
        except Exception:  # a broken channel must never break the run
            log.exception("alert delivery to %s raised", redact(channel))
        if attempt < attempts:
            time.sleep(backoff_seconds * 2 ** (attempt - 1))
    log.error(
        "alert %r not delivered to %s after %d attempts", alert.title, redact(channel), attempts
    )
    return Delivery(redact(channel), False, attempts)


def redact(channel: str) -> str:
    """A channel URL without credentials, for logs."""
    from urllib.parse import urlsplit

    parts = urlsplit(channel)
    host = parts.hostname or ""
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}{parts.path}"
