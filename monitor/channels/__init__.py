"""Delivery channels: one interface (`base.Channel`), one module per way of delivering.

build_channel(config, secret=..., poster=..., clock=...) -> Channel
EmailSender   SMTP via aiosmtplib          (email.py)
WebhookSender signed JSON POST via Poster  (webhook.py)
AppriseSender any Apprise URL (optional)    (apprise.py)
FileWriter    .eml/.html/.json on disk     (files.py)
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from monitor.channels.base import Channel, Poster
from monitor.channels.email import EmailSender, build_email
from monitor.channels.files import FileWriter
from monitor.channels.webhook import WebhookSender, sign, verify
from monitor.config import AppriseChannel, EmailChannel, FilesChannel, WebhookChannel

__all__ = [
    "Channel",
    "EmailSender",
    "FileWriter",
    "Poster",
    "WebhookSender",
    "build_channel",
    "build_email",
    "sign",
    "verify",
]


def build_channel(
    config: EmailChannel | WebhookChannel | AppriseChannel | FilesChannel,
    *,
    secret: str | None,
    urls: list[str] | None = None,
    poster: Poster,
    clock: Callable[[], datetime],
) -> Channel:
    """The channel for one configured entry; `secret` is Settings.secret(config) or None.

    Raises ConfigError when the secret cannot be used (username without a
    password, a "whsec_" secret that is not base64).
    """
    if isinstance(config, EmailChannel):
        return EmailSender(config, secret)
    if isinstance(config, WebhookChannel):
        return WebhookSender(config, secret, poster, clock)
    if isinstance(config, AppriseChannel):
        from monitor.channels.apprise import AppriseSender  # optional dependency

        return AppriseSender(config, urls or [])
    return FileWriter(config)
