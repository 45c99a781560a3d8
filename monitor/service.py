"""The running service: builds every part from the settings, schedules the work, stops cleanly.

`Runtime` owns the resources (store, HTTP session, extraction pool, channels).
`once` is one full cycle; `serve` is the long-lived service: an APScheduler
job ticks every `service.tick`, polls the feeds that are due, queues the
digests that are due and drains the outbox.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from types import TracebackType

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from monitor.channels import build_channel
from monitor.channels.base import Channel
from monitor.config import FilesChannel, Settings
from monitor.errors import QueryError
from monitor.extract import Extractor
from monitor.http import HttpClient
from monitor.outbox import DrainReport, drain, queue_due_digests
from monitor.pipeline import Pipeline, PollReport, WatchedTopic
from monitor.query import compile_query
from monitor.store import Store

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]
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
            near = topic.query[max(exc.position - 15, 0) : exc.position + 15]
            problems.append(f"topics[{i}].query: {exc} (near {near!r})")
    return problems


def channel_configs(settings: Settings) -> dict[str, object]:
    """Configured channels by name, plus the files channel that takes unrouted digests."""
    configs: dict[str, object] = {c.name: c for c in settings.channels}
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
        self.http = HttpClient(settings.fetch)
        self.extractor = Extractor(
            workers=settings.extract.workers,
            timeout=settings.extract.timeout.total_seconds(),
            min_chars=settings.extract.min_chars,
        )
        topics = [WatchedTopic(t, compile_query(t.query)) for t in settings.topics]
        self.pipeline = Pipeline(
            store=self.store,
            http=self.http,
            extractor=self.extractor,
            topics=topics,
            default_interval=settings.service.default_interval,
            max_backoff=settings.service.max_backoff,
            routes={t.name: (t.channels or [DEFAULT_CHANNEL]) for t in settings.topics},
        )
        self.channels: dict[str, Channel] = {
            name: build_channel(
                config,  # type: ignore[arg-type]
                secret=settings.secret(config) if not isinstance(config, FilesChannel) else None,  # type: ignore[arg-type]
                poster=self.http,
                clock=clock,
            )
            for name, config in channel_configs(settings).items()
        }

    async def __aenter__(self) -> Runtime:
        self.store.migrate()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.http.close()
        self.extractor.close()
        self.store.close()

    async def poll(self, *, only_due: bool) -> list[PollReport]:
        """Poll every feed (or the due ones) concurrently; the HTTP client caps concurrency."""
        now = self.clock()
        feeds = self.settings.feeds
        if only_due:
            states = {s.url: s for s in self.store.feed_states()}
            feeds = [
                f
                for f in feeds
                if f.url not in states
                or states[f.url].next_check is None
                or states[f.url].next_check <= now  # type: ignore[operator]
            ]
        return list(await asyncio.gather(*(self.pipeline.poll(f, now) for f in feeds)))

    async def deliver(self, *, ignore_backoff: bool) -> tuple[list[str], DrainReport]:
        now = self.clock()
        keys = queue_due_digests(
            self.store,
            self.settings.topics,
            channels=list(self.channels),
            settings=self.settings.digest,
            now=now,
            timezone=self.settings.service.timezone,
        )
        report = await drain(self.store, self.channels, now=now, ignore_backoff=ignore_backoff)
        return keys, report

    async def cycle(self, *, only_due: bool, ignore_backoff: bool) -> CycleReport:
        polls = await self.poll(only_due=only_due)
        keys, report = await self.deliver(ignore_backoff=ignore_backoff)
        return CycleReport(polls, keys, report)


async def once(settings: Settings, *, clock: Clock = utc_now) -> CycleReport:
    """Poll every feed once, process, send what is due (every pending delivery is tried)."""
    async with Runtime(settings, clock=clock) as runtime:
        return await runtime.cycle(only_due=False, ignore_backoff=True)


async def serve(settings: Settings, stop: asyncio.Event, *, clock: Clock = utc_now) -> None:
    """Run until `stop` is set; the tick in flight is allowed to finish."""
    async with Runtime(settings, clock=clock) as runtime:
        idle = asyncio.Event()
        idle.set()

        async def tick() -> None:
            if stop.is_set():
                return
            idle.clear()
            try:
                await runtime.cycle(only_due=True, ignore_backoff=False)
            except Exception:  # the service keeps ticking; the next tick retries
                log.exception("tick failed")
            finally:
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
        scheduler.start()
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
            log.info("service stopped")
