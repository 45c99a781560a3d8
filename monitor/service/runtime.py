"""The running service's parts: built from the settings, opened, reloaded and closed.

`Runtime` owns the resources (store, HTTP session, extraction pool, channels) and runs
a cycle: the polling cycle (polling_cycle.py), then the delivery cycle
(delivery_cycle.py). `once` is one full cycle; the long-lived service that ticks is
`scheduling.serve`.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import uuid
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from types import TracebackType

from monitor.channels import build_channel
from monitor.channels.base import Channel
from monitor.config import (
    AppriseChannel,
    ChannelConfig,
    EmailChannel,
    FilesChannel,
    Settings,
    WebhookChannel,
)
from monitor.delivery.atom_files import atom_path, write_atom_feeds
from monitor.delivery.outbox import DrainReport
from monitor.extract import Extractor
from monitor.feeds import ParsePool
from monitor.http import HttpClient
from monitor.metrics import Metrics
from monitor.pipeline import Pipeline, PollReport, WatchedTopic
from monitor.pipeline.state_saves import StateSaves
from monitor.pipeline.story_sync import SharedStories
from monitor.query import TopicIndex, compile_query
from monitor.service.delivery_cycle import deliver_due
from monitor.service.polling_cycle import Clock, PollingCycle, Progress
from monitor.store import Store
from monitor.store.lock import InstanceLock

log = logging.getLogger(__name__)

DEFAULT_CHANNEL = "files"


def utc_now() -> datetime:
    return datetime.now(UTC)


def channel_configs(settings: Settings) -> dict[str, ChannelConfig]:
    """Configured channels by name, plus the files channel that takes unrouted digests."""
    configs: dict[str, ChannelConfig] = {c.name: c for c in settings.channels}
    if DEFAULT_CHANNEL not in configs:
        configs[DEFAULT_CHANNEL] = FilesChannel(
            name=DEFAULT_CHANNEL, type="files", directory=settings.service.data_dir / "digests"
        )
    return configs


@dataclass(frozen=True, slots=True)
class CycleReport:
    polls: list[PollReport]
    digests: list[str]
    delivery: DrainReport
    stopped: bool = False  # asked to stop before the cycle's end: `left` feeds not polled
    left: int = 0


class Runtime:
    """Every part of news-monitor, built from the settings; use as `async with`."""

    def __init__(self, settings: Settings, *, clock: Clock = utc_now) -> None:
        self.settings = settings
        self.clock = clock
        self.store = Store(settings.store.url)
        # names this process in the claims it takes on feeds and deliveries
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.lock = (
            None if self.store.shared or self.store.path is None else InstanceLock(self.store.path)
        )
        self.http = HttpClient(settings.fetch)
        self.parser = ParsePool(  # its processes start on the first feed to parse
            workers=settings.fetch.parse_workers,
            timeout=settings.fetch.parse_timeout.total_seconds(),
            max_entries=settings.fetch.max_entries,
        )
        self.extractor = Extractor(
            workers=settings.extract.workers,
            timeout=settings.extract.timeout.total_seconds(),
            min_chars=settings.extract.min_chars,
            max_page_bytes=settings.extract.max_page_bytes,
            recycle_every=settings.extract.recycle_every,
        )
        topics = {t.name: WatchedTopic(t, compile_query(t.query)) for t in settings.topics}
        self.pipeline = Pipeline(
            store=self.store,
            http=self.http,
            extractor=self.extractor,
            topics=topics,
            index=TopicIndex({name: watched.query for name, watched in topics.items()}),
            default_interval=settings.service.default_interval,
            max_backoff=settings.service.max_backoff,
            backlog=settings.service.backlog,
            routes={t.name: (t.channels or [DEFAULT_CHANNEL]) for t in settings.topics},
            saves=StateSaves(self.store),
        )
        self.metrics = Metrics()
        self.polling = PollingCycle(self.store, self.owner, self.parser, clock)
        self.channels: dict[str, Channel] = {
            name: self._channel(config) for name, config in channel_configs(settings).items()
        }

    def _channel(self, config: ChannelConfig) -> Channel:
        secret = None
        if isinstance(config, EmailChannel | WebhookChannel):
            secret = self.settings.secret(config)
        urls = self.settings.apprise_urls(config) if isinstance(config, AppriseChannel) else None
        return build_channel(config, secret=secret, urls=urls, poster=self.http, clock=self.clock)

    async def __aenter__(self) -> Runtime:
        await asyncio.to_thread(self._open_store)
        self.pipeline = replace(self.pipeline, stories=self.stories)
        # a new topic gets its file; the others are rewritten when a cycle finds
        # something for them, or the config is reloaded
        await self.publish_atom(missing_only=True)
        return self

    def _open_store(self) -> None:
        """Check, lock and migrate the store, and load the story book; blocking."""
        self.store.check_connection()
        if self.lock is not None:
            self.lock.acquire()  # a second process on one SQLite file is refused here
        self.store.migrate()
        if self.lock is not None:  # alone on this file: claims left by a dead process go
            self.store.release_claims()
        self.sync_feeds()
        self.stories = SharedStories(self.store, self.settings.stories)  # read when needed

    def sync_feeds(self) -> None:
        """The configured feeds are the ones polled, less those paused (`feeds pause`)."""
        paused = self.store.paused_feeds()
        self.store.sync_feeds([f.url for f in self.settings.feeds if f.url not in paused])

    async def reload(self, settings: Settings) -> None:
        """Apply a changed config at once: topics, channels, feeds and their intervals.

        A feed whose interval shrank is brought forward (`Store.reschedule`); the
        store, the tick and the listener are kept as they were started.
        """
        old = self.settings
        was = {f.url: f.interval or old.service.default_interval for f in old.feeds}
        self.settings = settings
        topics = {t.name: WatchedTopic(t, compile_query(t.query)) for t in settings.topics}
        self.pipeline = replace(
            self.pipeline,
            topics=topics,
            index=TopicIndex({name: watched.query for name, watched in topics.items()}),
            default_interval=settings.service.default_interval,
            max_backoff=settings.service.max_backoff,
            routes={t.name: (t.channels or [DEFAULT_CHANNEL]) for t in settings.topics},
        )
        self.channels = {
            name: self._channel(config) for name, config in channel_configs(settings).items()
        }
        now_due = {f.url: f.interval or settings.service.default_interval for f in settings.feeds}
        await asyncio.to_thread(self._reload_feeds, was, now_due)
        await self.publish_atom()
        log.info(
            "config reloaded feeds=%d topics=%d channels=%d",
            len(settings.feeds),
            len(settings.topics),
            len(self.channels),
        )

    def _reload_feeds(self, was: dict[str, timedelta], now_due: dict[str, timedelta]) -> None:
        """The store's feeds after a reload: synced, rescheduled, the removed forgotten."""
        self.sync_feeds()
        self.store.reschedule({u: i for u, i in now_due.items() if u in was and was[u] != i})
        self.store.forget_feeds(set(was) - set(now_due))

    async def poll_now(self, url: str) -> PollReport | None:
        """Poll one configured feed now, due or not; None if another poll holds it."""
        report = await self.polling.poll_now(self.settings, self.pipeline, url)
        if report is not None and report.new_entries:
            await self.save_stories()
        if report is not None and report.matches:
            await self.publish_atom()
        return report

    async def save_stories(self) -> None:
        """Forget the stories that left the window, here and in the store, and save all
        the book changed."""
        await asyncio.to_thread(self.stories.expire, self.clock())

    async def publish_atom(self, *, missing_only: bool = False) -> None:
        """Rewrite every topic's Atom file (data_dir/atom/<topic>.xml); with `missing_only`,
        write only those of topics that have none yet."""
        directory = self.settings.service.data_dir / "atom"
        names = [t.name for t in self.settings.topics]
        if missing_only:
            names = [name for name in names if not atom_path(directory, name).exists()]
        if names:
            await asyncio.to_thread(
                write_atom_feeds,
                self.store,
                self.settings.topics,
                names,
                directory,
                self.clock(),
            )

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.http.close()
        self.parser.close()
        self.extractor.close()
        await asyncio.to_thread(self.store.close)
        if self.lock is not None:
            self.lock.release()

    async def poll(
        self,
        *,
        only_due: bool,
        progress: Progress | None = None,
        stop: asyncio.Event | None = None,
    ) -> list[PollReport]:
        """Poll the due feeds (or all) concurrently (polling_cycle.py); `stop` ends early."""
        return await self.polling.poll(
            self.settings, self.pipeline, only_due=only_due, progress=progress, stop=stop
        )

    async def deliver(self, *, ignore_backoff: bool) -> tuple[list[str], DrainReport]:
        """Queue the digests that are due and drain the outbox (delivery_cycle.py)."""
        return await deliver_due(
            self.store,
            self.settings,
            self.channels,
            self.pipeline.routes,
            now=self.clock(),
            owner=self.owner,
            ignore_backoff=ignore_backoff,
        )

    async def cycle(
        self,
        *,
        only_due: bool,
        ignore_backoff: bool,
        progress: Progress | None = None,
        stop: asyncio.Event | None = None,
    ) -> CycleReport:
        """Poll, then queue and send what is due; with `stop` set, end after the polls
        in flight (nothing is sent: what was queued waits for the next cycle)."""
        polls = await self.poll(only_due=only_due, progress=progress, stop=stop)
        if any(p.new_entries for p in polls):
            await self.save_stories()
        if any(p.matches for p in polls):
            await self.publish_atom()
        if stop is not None and stop.is_set():
            left = len(self.settings.feeds) - len(polls) if not only_due else 0
            return CycleReport(polls, [], DrainReport(), stopped=True, left=left)
        keys, report = await self.deliver(ignore_backoff=ignore_backoff)
        result = CycleReport(polls, keys, report)
        self.count(result)
        return result

    def count(self, report: CycleReport) -> None:
        """Add a cycle's outcome to the metrics."""
        m = self.metrics
        for poll in report.polls:
            outcome = "error" if poll.error else "not_modified" if poll.not_modified else "ok"
            m.add("news_monitor_polls_total", outcome=outcome)
            if poll.error_class:
                m.add("news_monitor_poll_errors_total", error_class=poll.error_class)
            m.add("news_monitor_fetched_bytes_total", poll.bytes)
            m.add("news_monitor_entries_total", poll.new_entries)
            m.add("news_monitor_matches_total", poll.matches)
            m.add("news_monitor_developments_total", poll.developments)
        m.add("news_monitor_digests_total", len(report.digests))
        for outcome in ("sent", "retrying", "failed"):
            m.add(
                "news_monitor_deliveries_total", getattr(report.delivery, outcome), outcome=outcome
            )


async def once(
    settings: Settings,
    *,
    clock: Clock = utc_now,
    progress: Progress | None = None,
    stop: asyncio.Event | None = None,
) -> CycleReport:
    """Poll every feed once, process, send what is due (every pending delivery is tried).

    `stop` set (a signal): the cycle ends early, see `Runtime.cycle`; every worker
    process is stopped on the way out.
    """
    async with Runtime(settings, clock=clock) as runtime:
        return await runtime.cycle(
            only_due=False, ignore_backoff=True, progress=progress, stop=stop
        )
