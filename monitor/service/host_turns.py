"""Turns by host: at most so many feeds of one site polled at once within a cycle."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from urllib.parse import urlsplit


def host_of(url: str) -> str:
    """The host and port a feed is fetched from, as the HTTP client counts connections."""
    parts = urlsplit(url)
    try:
        port = parts.port
    except ValueError:  # a port that is no number: the fetch reports it, not this
        port = None
    return f"{(parts.hostname or '').lower()}:{port or (443 if parts.scheme == 'https' else 80)}"


class HostTurns:
    """One queue a host, `per_host` feeds of it at a time, in the order they asked."""

    def __init__(self, per_host: int) -> None:
        self._per_host = per_host
        self._gates: dict[str, asyncio.Semaphore] = {}

    @contextlib.asynccontextmanager
    async def turn(self, url: str) -> AsyncIterator[None]:
        host = host_of(url)
        gate = self._gates.get(host)
        if gate is None:
            gate = self._gates[host] = asyncio.Semaphore(self._per_host)
        async with gate:
            yield
