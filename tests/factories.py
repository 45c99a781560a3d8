"""Small values the digest, outbox and delivery tests share: a match, a topic, a queued digest."""

from __future__ import annotations

import asyncio
import random
from datetime import UTC, datetime

from monitor.channels import build_channel
from monitor.channels.base import Channel
from monitor.config import DigestSettings, FetchSettings, TopicConfig, WebhookChannel
from monitor.delivery.compose import build_digest
from monitor.delivery.outbox import DrainReport, drain, queue_due_digests
from monitor.http import HttpClient
from monitor.models import Digest, Match
from monitor.store import Store
from tests.servers import LoopbackHTTPServer

NOW = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)


def match(title: str = "Kremlin says Trump invited Putin", url: str = "https://e.org/a") -> Match:
    return Match(
        topic="summit",
        entry_key="guid:1",
        feed_url="https://e.org/feed",
        url=url,
        title=title,
        text="First paragraph <b>bold</b>.\n\nSecond paragraph.",
        source="Example News",
        published=datetime(2026, 3, 2, 8, 0, tzinfo=UTC),
        terms=("Trump", "Putin"),
        note="The article page could not be fetched; showing the feed's text.",
    )


def topic(schedule: str = "immediate") -> TopicConfig:
    return TopicConfig(name="summit", title="US-Russia summit", query="Trump", schedule=schedule)


def digest_of(*items: Match, max_items: int = 20) -> Digest:
    return build_digest("inbox", [(topic(), list(items))], NOW, max_items=max_items)


def queue(
    store: Store, channels: list[str], item: Match | None = None, url: str | None = None
) -> str:
    """Record a match routed to `channels` and queue its digests; return the digest key."""
    item = item or (match(url=url) if url else match())
    store.record_entries([], [item], NOW, {item.topic: channels})
    keys = queue_due_digests(
        store, [topic()], channels=channels, now=NOW, settings=DigestSettings()
    )
    assert len(keys) == len(channels)
    return keys[0]


def run_drain(
    server: LoopbackHTTPServer,
    store: Store,
    paths: dict[str, str],
    now: datetime,
    ignore_backoff: bool = False,
    timeout: str = "5s",
) -> DrainReport:
    async def go() -> DrainReport:
        async with HttpClient(FetchSettings(allow_private=["127.0.0.1"])) as http:
            channels: dict[str, Channel] = {
                name: build_channel(
                    WebhookChannel(
                        name=name, type="webhook", url=server.url(path), timeout=timeout
                    ),
                    secret="s3cret",
                    poster=http,
                    clock=lambda: now,
                )
                for name, path in paths.items()
            }
            return await drain(
                store, channels, now=now, ignore_backoff=ignore_backoff, rng=random.Random(1)
            )

    return asyncio.run(go())
