"""Webhook: POST the digest's JSON, signed the Standard Webhooks way (standardwebhooks.com).

Headers: `webhook-id` (the digest key, stable across retries), `webhook-timestamp`
(unix seconds) and `webhook-signature: v1,<base64 HMAC-SHA256 of "id.timestamp.body">`.
A secret starting with "whsec_" is base64 after the prefix; any other secret is
used as its UTF-8 bytes. Messages name only the receiver's origin: webhook
paths often carry tokens.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from monitor.channels.base import Channel, Poster
from monitor.config import WebhookChannel
from monitor.errors import BlockedError, ConfigError, DeliveryError, FetchError, HTTPStatusError
from monitor.headers import parse_retry_after
from monitor.models import RenderedDigest

TOLERANCE = timedelta(minutes=5)


def secret_key(secret: str) -> bytes:
    """The HMAC key of a secret; ValueError when a "whsec_" secret is not base64."""
    if secret.startswith("whsec_"):
        try:
            return base64.b64decode(secret.removeprefix("whsec_"), validate=True)
        except binascii.Error:
            raise ValueError("a secret starting with 'whsec_' must be base64 after it") from None
    return secret.encode("utf-8")


def _signature(key: bytes, msg_id: str, timestamp: int, body: bytes) -> str:
    signed = f"{msg_id}.{timestamp}.".encode() + body
    return "v1," + base64.b64encode(hmac.digest(key, signed, hashlib.sha256)).decode("ascii")


def sign(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """The `webhook-signature` value: "v1,<base64 HMAC-SHA256 of 'id.timestamp.body'>"."""
    return _signature(secret_key(secret), msg_id, timestamp, body)


def verify(
    secret: str,
    headers: Mapping[str, str],
    body: bytes,
    *,
    now: datetime | None = None,
    tolerance: timedelta = TOLERANCE,
) -> bool:
    """Whether `body` carries a valid signature under `secret` (header names any case).

    With `now`, the timestamp must also lie within `tolerance` of it (replay guard).
    """
    lower = {k.lower(): v for k, v in headers.items()}
    msg_id = lower.get("webhook-id")
    signatures = lower.get("webhook-signature", "").split()
    try:
        timestamp = int(lower.get("webhook-timestamp", ""))
    except ValueError:
        return False
    if msg_id is None or not signatures:
        return False
    if now is not None and abs(now.timestamp() - timestamp) > tolerance.total_seconds():
        return False
    expected = sign(secret, msg_id, timestamp, body)
    return any(hmac.compare_digest(expected, s) for s in signatures)


class WebhookSender(Channel):
    """POSTs digests to one URL (see WebhookChannel for the settings)."""

    def __init__(
        self,
        config: WebhookChannel,
        secret: str | None,
        poster: Poster,
        clock: Callable[[], datetime],
    ) -> None:
        try:
            self._key = secret_key(secret) if secret else None
        except ValueError as exc:
            raise ConfigError([f"channel {config.name!r} secret: {exc}"]) from None
        self.name = config.name
        self.config = config
        self._poster = poster
        self._clock = clock
        parts = urlsplit(config.url)
        self._origin = f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}"

    def __repr__(self) -> str:
        return f"WebhookSender(name={self.name!r}, origin={self._origin!r})"

    async def send(self, digest: RenderedDigest) -> None:
        body = digest.json.encode("utf-8")
        timestamp = int(self._clock().timestamp())
        headers = {
            "content-type": "application/json",
            "webhook-id": digest.key,
            "webhook-timestamp": str(timestamp),
        }
        if self._key is not None:
            headers["webhook-signature"] = _signature(self._key, digest.key, timestamp, body)
        try:
            response = await self._poster.post(
                self.config.url, body, headers, timeout=self.config.timeout.total_seconds()
            )
        except HTTPStatusError as exc:
            self._check(exc.status, exc.retry_after)
            return
        except BlockedError as exc:
            raise self._fetch_error(exc, permanent=True) from exc
        except FetchError as exc:
            raise self._fetch_error(exc, permanent=False) from exc
        self._check(
            response.status, parse_retry_after(response.headers.get("retry-after"), self._clock())
        )

    def _check(self, status: int, after: float | None) -> None:
        """Return on 2xx, else raise the DeliveryError that `status` calls for."""
        if 200 <= status < 300:
            return
        message = f"POST to {self._origin} answered HTTP {status}"
        if status == 410:
            raise DeliveryError(
                message,
                channel=self.name,
                stop_channel=True,
                hint="the receiver removed this webhook; fix the channel, then run "
                "`news-monitor outbox retry --channel NAME`",
            )
        if status in (408, 429) or status >= 500:
            raise DeliveryError(message, channel=self.name, retry_after=after)
        if 300 <= status < 400:
            raise DeliveryError(
                message,
                channel=self.name,
                permanent=True,
                hint="redirects are not followed; configure the final URL",
            )
        if 400 <= status < 500:
            raise DeliveryError(
                message,
                channel=self.name,
                permanent=True,
                hint="the receiver rejected the request; check the URL and the secret",
            )
        raise DeliveryError(message, channel=self.name)  # 1xx: should not reach us

    def _fetch_error(self, exc: FetchError, *, permanent: bool) -> DeliveryError:
        text = str(exc.args[0]) if exc.args else exc.error_class.value
        return DeliveryError(
            text.replace(exc.url, self._origin),
            channel=self.name,
            permanent=permanent,
            retry_after=exc.retry_after,
            hint=exc.hint or None,
        )
