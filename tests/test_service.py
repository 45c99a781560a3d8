"""The long-running service: ticks, polls when due, delivers once, stops cleanly."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

import pytest

from monitor.config import load_settings
from monitor.service.scheduling import serve
from tests.scenario import seed_feed, serve_seed, write_config
from tests.servers import LoopbackHTTPServer, Reply, Request, SMTPRecorder

pytestmark = pytest.mark.slow


async def wait_for(condition: Callable[[], bool], limit: float = 30.0) -> None:
    """Wait until `condition` holds (checked often), failing after `limit` seconds."""
    async with asyncio.timeout(limit):
        while not condition():
            await asyncio.sleep(0.02)


def test_service_delivers_once_across_ticks_and_stops_cleanly(
    tmp_path: Path, http_server: LoopbackHTTPServer, smtp_server: SMTPRecorder
) -> None:
    """The service mails a new story once, polls conditionally on later ticks, stops on request."""
    feed_url = serve_seed(http_server)
    body = seed_feed(http_server)

    def conditional_get(request: Request) -> Reply:
        if request.headers.get("if-none-match") == '"v1"':
            return Reply(b"", status=304, headers={"ETag": '"v1"'})
        return Reply(body, headers={"ETag": '"v1"', "Content-Type": "application/rss+xml"})

    http_server.route("/world.rss", Reply(dynamic=conditional_get))
    config = write_config(
        tmp_path,
        feeds=[feed_url],
        smtp_port=smtp_server.port,
        extra='tick = "0.1s"\ndefault_interval = "0.2s"',
    )
    settings = load_settings(config)

    def feed_polls() -> int:
        return sum(1 for r in http_server.requests if r.path == "/world.rss")

    async def scenario() -> None:
        stop = asyncio.Event()
        service = asyncio.create_task(serve(settings, stop))
        await wait_for(lambda: len(smtp_server.messages) == 1)
        polls = feed_polls()
        await wait_for(lambda: feed_polls() >= polls + 2)  # two more ticks polled the feed
        stop.set()
        await asyncio.wait_for(service, 30)

    asyncio.run(scenario())

    assert len(smtp_server.messages) == 1
    later = [r for r in http_server.requests if r.path == "/world.rss"][1:]
    assert later and all(r.headers.get("if-none-match") == '"v1"' for r in later)
