"""The one interface every delivery channel implements, and what the webhook needs of HTTP.

A channel gets a `RenderedDigest` (bytes-ready text) and delivers it; it knows
nothing of topics or stories. `send` returns only once the receiving server has
accepted the digest and otherwise raises `DeliveryError`: `permanent` when
retrying cannot help (SMTP 5xx, HTTP 4xx), else with `retry_after` when the
server said how long to wait. Every channel is idempotent on `digest.key`
(Message-ID, webhook-id, file name), so a retry after an unclear failure lets
the receiver drop the duplicate.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from typing import Protocol

from monitor.models import RenderedDigest, Response


class Channel(ABC):
    """Delivers rendered digests to one destination."""

    name: str

    @abstractmethod
    async def send(self, digest: RenderedDigest) -> None:
        """Deliver `digest`; return once accepted, else raise DeliveryError."""


class Poster(Protocol):
    """What the webhook channel needs from an HTTP client (monitor.http.HttpClient has it).

    `post` returns a Response for any status (redirects not followed) and raises
    monitor.errors.FetchError subclasses (BlockedError, FetchTimeout,
    NetworkError, ...) when no answer came.
    """

    async def post(
        self,
        url: str,
        body: bytes,
        headers: Mapping[str, str],
        *,
        timeout: float | None = None,
    ) -> Response: ...
