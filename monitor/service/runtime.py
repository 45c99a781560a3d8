"""The running service: builds every part from the settings, schedules the work, stops cleanly.

`Runtime` owns the resources (store, HTTP session, extraction pool, channels).
`once` is one full cycle; `serve` is the long-lived service: an APScheduler
job ticks every `service.tick`, polls the feeds that are due, queues the
digests that are due and drains the outbox.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from types import TracebackType

from aiohttp.web import Application, AppRunner
from apscheduler.schedulers.asyncio import AsyncIOScheduler

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
from monitor.delivery.atom_files import write_atom_feeds
from monitor.delivery.outbox import DrainReport, drain, queue_due_digests
from monitor.delivery.source_health import queue_coverage_alerts
from monitor.errors import MonitorError, QueryError, redact_url
from monitor.extract import Extractor
from monitor.feeds import ParsePool
from monitor.http import HttpClient
from monitor.metrics import Metrics
from monitor.pipeline import Pipeline, PollReport, WatchedTopic
from monitor.poll_schedule import Rules
from monitor.query import TopicIndex, compile_query
from monitor.service.listener import Liveness, build_app
from monitor.service.listener import start as start_listener
from monitor.store import ClaimedFeed, Store
from monitor.store.lock import InstanceLock
from monitor.story_sync import SharedStories

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]
Progress = Callable[[int, int], None]  # (feeds done, feeds in all)
ListenerExtension = Callable[[Application, "Runtime", Liveness], object]
DEFAULT_CHANNEL = "files"


def utc_now() -> datetime:
    return datetime.now(UTC)


def query_problems(settings: Settings) -> list[str]:
    """One line per topic query that does not parse, with the position."""
    problems = []
    for i, topic in enumerate(settings.topics):
        try:
            compile_query(topic.query)
        except QueryError as exc:
            pointer = exc.pointer().replace("\n", "\n    ")
            problems.append(f"topics[{i}].query: {exc}\n    {pointer}")
    return problems


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
        )
        self.metrics = Metrics()
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
        await self.publish_atom()
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
        self.stories = SharedStories.load(self.store, self.settings.stories)

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
        feed = next(f for f in self.settings.feeds if f.url == url)
        claimed = await asyncio.to_thread(
            self.store.claim_feed, url, self.owner, self.clock(), self.settings.store.lease
        )
        if claimed is None:
            return None
        rules = Rules.from_settings(self.settings.service)
        try:
            report = await self.pipeline.poll(
                feed, self.clock(), parser=self.parser, rules=rules, claimed=claimed
            )
        except Exception as exc:  # as in `poll`: this feed only; its claim lapses with the lease
            log.exception("poll failed feed_url=%s", redact_url(url))
            return PollReport(url, error=f"internal error: {type(exc).__name__}")
        if report.new_entries:
            await self.save_stories()
        if report.matches:
            await self.publish_atom()
        return report

    async def save_stories(self) -> None:
        """Forget the stories that left the window, here and in the store."""
        await asyncio.to_thread(self._expire_stories, self.clock())

    def _expire_stories(self, now: datetime) -> None:
        with self.stories.updating(now) as book:
            book.expire(now)

    async def publish_atom(self) -> None:
        """Rewrite every topic's Atom file (data_dir/atom/<topic>.xml)."""
        await asyncio.to_thread(
            write_atom_feeds,
            self.store,
            self.settings.topics,
            [t.name for t in self.settings.topics],
            self.settings.service.data_dir / "atom",
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

    async def poll(self, *, only_due: bool, progress: Progress | None = None) -> list[PollReport]:
        """Poll the due feeds (or all) concurrently; `progress(done, total)` after each.

        Feeds are claimed before they are polled, so replicas sharing a PostgreSQL
        store split them: `store.claim_batch` at a time, more as those finish. On
        SQLite every due feed is claimed at once. The HTTP client caps concurrent
        requests (fetch.max_connections, fetch.max_per_host) and the parse pool the
        documents parsed at once; a feed's poll never fails another's.
        """
        now = self.clock()
        by_url = {feed.url: feed for feed in self.settings.feeds}
        batch = self.settings.store.claim_batch if self.store.shared else None
        rules = Rules.from_settings(self.settings.service)
        done = 0

        def claim(limit: int | None) -> list[ClaimedFeed]:
            # `once` takes every feed not yet checked in this cycle, due or not; feeds
            # falling due during a long cycle wait for the next one
            claimed = self.store.claim_feeds(
                self.owner,
                self.clock(),
                self.settings.store.lease,
                limit=limit,
                due_by=now if only_due else None,
                unchecked_since=None if only_due else now,
            )
            unknown = [c.url for c in claimed if c.url not in by_url]
            if unknown:  # left claimed: a replica that has them in its config takes them later
                log.warning(
                    "feeds in the store but not in this config (replicas should share one "
                    "config) count=%d first=%s",
                    len(unknown),
                    redact_url(unknown[0]),
                )
            return [c for c in claimed if c.url in by_url]

        async def poll_one(claimed: ClaimedFeed) -> PollReport:
            nonlocal done
            feed = by_url[claimed.url]
            holding = asyncio.create_task(self._hold_claim(feed.url))
            try:
                # the next check counts from this poll, not from the start of the cycle
                return await self.pipeline.poll(
                    feed, self.clock(), parser=self.parser, rules=rules, claimed=claimed
                )
            except Exception as exc:  # a bug or a store error: this feed only, retried next tick
                log.exception("poll failed feed_url=%s", redact_url(feed.url))
                return PollReport(feed.url, error=f"internal error: {type(exc).__name__}")
            finally:
                holding.cancel()
                done += 1
                if progress is not None:
                    progress(done, max(done, total))

        reports: list[PollReport] = []
        running: set[asyncio.Task[PollReport]] = set()
        total, more = 0, True
        refill = 1 if batch is None else max(1, batch // 2)  # fewer, larger claims
        while True:
            room = None if batch is None else batch - len(running)
            if more and (room is None or room >= refill):
                claimed = await asyncio.to_thread(claim, room)
                more = bool(claimed) and batch is not None
                total += len(claimed)
                running |= {asyncio.create_task(poll_one(c)) for c in claimed}
            if not running:
                break
            finished, running = await asyncio.wait(running, return_when=asyncio.FIRST_COMPLETED)
            reports += [task.result() for task in finished]
        order = {url: i for i, url in enumerate(by_url)}
        return sorted(reports, key=lambda report: order[report.url])

    async def _hold_claim(self, url: str) -> None:
        """Renew the claim on a feed while its poll runs (many slow pages can outlast a
        lease), so no other replica takes it over mid-way. SQLite has no other replica."""
        if not self.store.shared:
            return
        lease = self.settings.store.lease
        while True:
            await asyncio.sleep(lease.total_seconds() / 3)
            try:
                await asyncio.to_thread(
                    self.store.extend_claim, url, self.owner, self.clock() + lease
                )
            except Exception:  # the database is away: the poll goes on, the lease may lapse
                log.warning("claim not renewed feed_url=%s", redact_url(url), exc_info=True)

    async def deliver(self, *, ignore_backoff: bool) -> tuple[list[str], DrainReport]:
        now = self.clock()
        keys = await asyncio.to_thread(
            queue_due_digests,
            self.store,
            self.settings.topics,
            channels=list(self.channels),
            settings=self.settings.digest,
            now=now,
            timezone=self.settings.service.timezone,
        )
        keys += await asyncio.to_thread(
            queue_coverage_alerts, self.store, self.settings, self.pipeline.routes, now
        )
        report = await drain(
            self.store,
            self.channels,
            now=now,
            ignore_backoff=ignore_backoff,
            owner=self.owner,
            lease=self.settings.store.lease,
        )
        return keys, report

    async def cycle(
        self, *, only_due: bool, ignore_backoff: bool, progress: Progress | None = None
    ) -> CycleReport:
        polls = await self.poll(only_due=only_due, progress=progress)
        if any(p.new_entries for p in polls):
            await self.save_stories()
        if any(p.matches for p in polls):
            await self.publish_atom()
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
    settings: Settings, *, clock: Clock = utc_now, progress: Progress | None = None
) -> CycleReport:
    """Poll every feed once, process, send what is due (every pending delivery is tried)."""
    async with Runtime(settings, clock=clock) as runtime:
        return await runtime.cycle(only_due=False, ignore_backoff=True, progress=progress)


async def serve(
    settings: Settings,
    stop: asyncio.Event,
    *,
    clock: Clock = utc_now,
    hangup: asyncio.Event | None = None,
    reread: Callable[[], Settings] | None = None,
    extend_listener: ListenerExtension | None = None,
) -> None:
    """Run until `stop` is set; the tick in flight is allowed to finish.

    `extend_listener` adds routes (the web console) to the listener, when it is on.

    Each time `hangup` is set (SIGHUP), the config is read again with `reread` and
    applied (`Runtime.reload`); a config with problems is logged and not applied.
    """
    async with Runtime(settings, clock=clock) as runtime:
        reloading = (
            asyncio.create_task(_reload_on(hangup, reread, runtime))
            if hangup is not None and reread is not None
            else None
        )
        idle = asyncio.Event()
        idle.set()
        liveness = Liveness(tick=settings.service.tick)
        expected = clock()

        async def tick() -> None:
            nonlocal expected
            if stop.is_set():
                return
            idle.clear()
            started = clock()
            runtime.metrics.set(
                "news_monitor_tick_lag_seconds", max((started - expected).total_seconds(), 0)
            )
            try:
                await runtime.cycle(only_due=True, ignore_backoff=False)
            except Exception:  # the service keeps ticking; the next tick retries
                log.exception("tick failed")
            finally:
                liveness.last_tick = clock()
                expected = started + settings.service.tick
                runtime.metrics.set(
                    "news_monitor_last_tick_timestamp_seconds", liveness.last_tick.timestamp()
                )
                idle.set()

        tick_seconds = settings.service.tick.total_seconds()
        scheduler = AsyncIOScheduler(timezone=UTC)
        scheduler.add_job(
            tick,
            "interval",
            seconds=tick_seconds,
            id="tick",
            coalesce=True,
            max_instances=1,
            misfire_grace_time=max(int(tick_seconds), 30),
            next_run_time=clock(),
        )
        # a taken address stops us here
        listener = await _listen(settings, runtime, liveness, extend_listener)
        scheduler.start()
        liveness.started = True
        log.info(
            "service started feeds=%d topics=%d tick=%s",
            len(settings.feeds),
            len(settings.topics),
            settings.service.tick,
        )
        try:
            await stop.wait()
        finally:
            scheduler.pause()
            try:
                await asyncio.wait_for(idle.wait(), timeout=timedelta(minutes=1).total_seconds())
            except TimeoutError:
                log.warning("stopping with work in flight; it is redone at the next start")
            scheduler.shutdown(wait=False)
            if reloading is not None:
                reloading.cancel()
            liveness.started = False
            if listener is not None:
                await listener.cleanup()
            log.info("service stopped")


async def _reload_on(
    hangup: asyncio.Event, reread: Callable[[], Settings], runtime: Runtime
) -> None:
    while True:
        await hangup.wait()
        hangup.clear()
        try:
            await runtime.reload(reread())
        except MonitorError as exc:  # the service goes on with the config it has
            log.error("config not reloaded: %s", exc)


async def _listen(
    settings: Settings,
    runtime: Runtime,
    liveness: Liveness,
    extend: ListenerExtension | None,
) -> AppRunner | None:
    """Start the HTTP listener when `listener.address` is set."""
    where = settings.listener.host_port()
    if where is None:
        return None
    app = build_app(
        store=runtime.store,
        metrics=runtime.metrics,
        liveness=liveness,
        atom_dir=settings.service.data_dir / "atom",
        clock=runtime.clock,
    )
    if extend is not None:
        extend(app, runtime, liveness)
    runner = await start_listener(app, *where)
    log.info("listening address=%s", settings.listener.address)
    return runner
