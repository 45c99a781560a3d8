"""Removing, pausing, resuming and polling one feed, by its name or its URL.

Shared by `news-monitor feeds …` and the web console. Removing edits the config
file (monitor/admin/config_file.py); pausing is kept in the store, so it holds
across restarts and replicas without touching the file.
"""

from __future__ import annotations

import asyncio
from contextlib import closing
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from monitor.admin.config_file import ConfigFile
from monitor.config import FeedConfig, Settings
from monitor.errors import MonitorError
from monitor.pipeline import PollReport
from monitor.service.polling_cycle import Clock
from monitor.service.runtime import Runtime, utc_now
from monitor.store import SeenEntry, Store
from monitor.store.lock import StoreInUse


class UnknownFeed(MonitorError):
    hint = "give a feed's name or URL as `news-monitor feeds list` shows it"


def find(settings: Settings, ref: str) -> FeedConfig:
    """The configured feed named `ref` or at URL `ref`."""
    for feed in settings.feeds:
        if ref in (feed.url, feed.name):
            return feed
    named = [f.name for f in settings.feeds if f.name and f.name.lower() == ref.lower()]
    if len(named) == 1:
        return next(f for f in settings.feeds if f.name == named[0])
    raise UnknownFeed(f"no feed named or at {ref!r} in the config")


def remove(path: Path, settings: Settings, store: Store, ref: str) -> tuple[FeedConfig, Settings]:
    """Take the feed out of the config file; its entries and stories stay in the store."""
    feed = find(settings, ref)
    config = ConfigFile(path)
    if not config.remove_feed(feed.url):
        raise UnknownFeed(
            f"{feed.url} is not in {path} (it comes from the environment)",
            hint="remove it where it is configured",
        )
    saved = config.save()
    store.forget_feeds([feed.url])
    store.sync_feeds([f.url for f in saved.feeds if f.url not in store.paused_feeds()])
    return feed, saved


def pause(settings: Settings, store: Store, ref: str, now: datetime) -> tuple[FeedConfig, bool]:
    """Stop polling a feed until it is resumed; (the feed, whether it was running)."""
    feed = find(settings, ref)
    return feed, store.pause_feed(feed.url, now)


def resume(settings: Settings, store: Store, ref: str) -> tuple[FeedConfig, bool]:
    """Poll a paused feed again from the next tick; (the feed, whether it was paused)."""
    feed = find(settings, ref)
    resumed = store.resume_feed(feed.url, configured=True)
    if resumed:
        store.sync_feeds([f.url for f in settings.feeds if f.url not in store.paused_feeds()])
    return feed, resumed


@dataclass(frozen=True, slots=True)
class PollOutcome:
    """Polling one feed now: the report and the entries new to the store; no report when a
    running service holds the store and polls the feed at its next tick instead."""

    feed: FeedConfig
    report: PollReport | None = None
    entries: tuple[SeenEntry, ...] = ()


async def poll_now(runtime: Runtime, ref: str) -> PollOutcome:
    """Poll a feed at once inside `runtime`; list the entries it stored."""
    feed = find(runtime.settings, ref)
    started = runtime.clock()
    report = await runtime.poll_now(feed.url)
    if report is None:  # a poll of it is under way; what it finds shows on the feeds page
        return PollOutcome(feed)
    stored = await asyncio.to_thread(runtime.store.entries_since, started)
    new = [e for e in stored if e.feed_url == feed.url]
    return PollOutcome(feed, report, tuple(new))


async def poll_from_command(settings: Settings, ref: str, clock: Clock = utc_now) -> PollOutcome:
    """Poll a feed now for `feeds poll`; if a service has the store, make the feed due."""
    feed = find(settings, ref)
    try:
        async with Runtime(settings, clock=clock) as runtime:
            return await poll_now(runtime, feed.url)
    except StoreInUse:
        await asyncio.to_thread(_poll_soon, settings.store.url, feed.url, clock())
        return PollOutcome(feed)


def _poll_soon(store_url: str, feed_url: str, now: datetime) -> None:
    """Make a feed due in a store that a running service holds (it polls it next tick)."""
    with closing(Store(store_url)) as store:
        store.poll_soon(feed_url, now)
