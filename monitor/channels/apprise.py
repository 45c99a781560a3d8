"""Apprise: any notification service Apprise knows (Slack, Discord, Telegram, ntfy, Matrix, …).

An optional extra (`pip install 'news-monitor[apprise]'`). The digest's text
part is sent with its subject as the title. Apprise does its own HTTP, so the
address policy of `fetch.allow_private` does not apply to these URLs: they are
the operator's own, not taken from feeds.
"""

from __future__ import annotations

import asyncio
import warnings
from typing import Any

from monitor.channels.base import Channel
from monitor.config import AppriseChannel
from monitor.errors import ConfigError, DeliveryError
from monitor.models import RenderedDigest


def _load_apprise() -> Any:
    try:
        with warnings.catch_warnings():
            # apprise imports the stdlib's deprecated imghdr on Python 3.11-3.12
            warnings.filterwarnings("ignore", "'imghdr' is deprecated", DeprecationWarning)
            import apprise
            import apprise.utils.pgp  # imports imghdr on first use otherwise
    except ImportError:
        raise ConfigError(
            [
                "channels: type 'apprise' needs the apprise package: "
                "pip install 'news-monitor[apprise]'"
            ]
        ) from None
    return apprise


class AppriseSender(Channel):
    """Sends through every Apprise URL of the channel; succeeds only when all accepted."""

    def __init__(self, config: AppriseChannel, urls: list[str]) -> None:
        apprise = _load_apprise()
        self.name = config.name
        self._timeout = config.timeout.total_seconds()
        self._notifier = apprise.Apprise()
        for i, url in enumerate(urls):
            if not self._notifier.add(url):
                # the URL may carry a token: name its position and scheme only
                scheme = url.split("://", 1)[0] if "://" in url else "?"
                raise ConfigError(
                    [
                        f"channels ({config.name}).urls[{i}]: Apprise does not understand "
                        f"this {scheme}:// URL"
                    ]
                )

    async def send(self, digest: RenderedDigest) -> None:
        try:
            async with asyncio.timeout(self._timeout):
                accepted = await asyncio.to_thread(
                    self._notifier.notify, body=digest.text, title=digest.subject
                )
        except TimeoutError:
            raise DeliveryError("Apprise did not finish in time", channel=self.name) from None
        if not accepted:
            raise DeliveryError(
                "a service behind Apprise did not accept the notification",
                channel=self.name,
                hint="see the Apprise warnings in the log; it is retried with backoff",
            )
