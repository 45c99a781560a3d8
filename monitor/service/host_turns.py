"""Turns by host: at most so many feeds of one site polled at once within a cycle."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from monitor.urls import host_and_port


class HostTurns:
    """One queue a host (and port), `per_host` feeds of it at a time, in the order they asked."""

    def __init__(self, per_host: int) -> None:
        self._per_host = per_host
        self._gates: dict[tuple[str, int], asyncio.Semaphore] = {}

    @contextlib.asynccontextmanager
    async def turn(self, url: str) -> AsyncIterator[None]:
        host = host_and_port(url)
        gate = self._gates.get(host)
        if gate is None:
            gate = self._gates[host] = asyncio.Semaphore(self._per_host)
        async with gate:
            yield
