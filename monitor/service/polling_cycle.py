"""The polling cycle: claim the feeds that are due, poll them concurrently, keep the claims.

On PostgreSQL replicas split the feeds by claiming them (`store.claim_batch` at a
time), each its own share first (`Share`: an even split among the live replicas);
on SQLite every due feed is claimed at once. A feed's poll never fails
another's, and the store is only called from worker threads.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from monitor.config import Settings
from monitor.errors import redact_url
from monitor.feeds import ParsePool
from monitor.pipeline import Pipeline, PollReport
from monitor.poll_schedule import Rules
from monitor.service.host_turns import HostTurns
from monitor.store import ClaimedFeed, Store
from monitor.store.polls import Share

log = logging.getLogger(__name__)

# feeds polled at once per fetch.max_connections: one, since a feed whose poll has
# found something holds its document and pages until it is recorded; with two, on a
# 1,000-feed first cycle, a main process peaked at 209 MB (184 MB with one) for no
# gain in a cycle of 304s or in the fetch bench
_FEEDS_PER_CONNECTION = 1
_ALIVE_AT_LEAST = timedelta(seconds=30)  # a busy replica may claim seldom with a short tick

Clock = Callable[[], datetime]
Progress = Callable[[int, int], None]  # (feeds done, feeds in all)


class PollingCycle:
    """Polls feeds for one process (`owner` in the claims it takes)."""

    def __init__(self, store: Store, owner: str, parser: ParsePool, clock: Clock) -> None:
        self.store = store
        self.owner = owner
        self.parser = parser
        self.clock = clock

    async def poll_now(self, settings: Settings, pipeline: Pipeline, url: str) -> PollReport | None:
        """Poll one configured feed now, due or not; None if another poll holds it."""
        feed = next(f for f in settings.feeds if f.url == url)
        claimed = await asyncio.to_thread(
            self.store.claim_feed, url, self.owner, self.clock(), settings.store.lease
        )
        if claimed is None:
            return None
        rules = Rules.from_settings(settings.service)
        try:
            return await pipeline.poll(
                feed, self.clock(), parser=self.parser, rules=rules, claimed=claimed
            )
        except Exception as exc:  # as in `poll`: this feed only; its claim lapses with the lease
            log.exception("poll failed feed_url=%s", redact_url(url))
            return PollReport(url, error=f"internal error: {type(exc).__name__}")

    async def poll(
        self,
        settings: Settings,
        pipeline: Pipeline,
        *,
        only_due: bool,
        progress: Progress | None = None,
        stop: asyncio.Event | None = None,
    ) -> list[PollReport]:
        """Poll the due feeds (or all) concurrently; `progress(done, total)` after each.

        When `stop` is set, no feed is claimed any more and the polls in flight are
        cancelled at their next wait: a feed being saved is saved (its thread runs to the
        end of its transaction), the others keep their old state for the next cycle.

        Feeds are claimed before they are polled, so replicas sharing a PostgreSQL
        store split them: `store.claim_batch` at a time, more as those finish. On
        SQLite every due feed is claimed at once. The HTTP client caps concurrent
        requests (fetch.max_connections, fetch.max_per_host) and the parse pool the
        documents parsed at once; a feed's poll never fails another's.
        """
        now = self.clock()
        by_url = {feed.url: feed for feed in settings.feeds}
        batch = settings.store.claim_batch if self.store.shared else None
        rules = Rules.from_settings(settings.service)
        done = 0

        def claim(limit: int | None) -> list[ClaimedFeed]:
            # `once` takes every feed not yet checked in this cycle, due or not; feeds
            # falling due during a long cycle wait for the next one
            at = self.clock()
            share = self._share(settings, at) if self.store.shared else None
            claimed = self.store.claim_feeds(
                self.owner,
                at,
                settings.store.lease,
                limit=limit,
                due_by=now if only_due else None,
                unchecked_since=None if only_due else now,
                share=share,
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

        # Feeds polled at once: enough to keep every connection busy, few enough that the
        # documents and pages they hold stay bounded (SQLite claims every due feed at once).
        polling = asyncio.Semaphore(_FEEDS_PER_CONNECTION * settings.fetch.max_connections)
        per_host = HostTurns(settings.fetch.max_per_host)

        async def poll_one(claimed: ClaimedFeed) -> PollReport:
            # a feed takes one of the cycle's places only when its host has a free
            # connection: else the feeds of a site with many could fill every place
            # while waiting for that site's few connections, and other sites wait too
            async with per_host.turn(claimed.url), polling:
                return await polled(claimed)

        async def polled(claimed: ClaimedFeed) -> PollReport:
            nonlocal done
            feed = by_url[claimed.url]
            holding = (  # SQLite has no other replica to keep the feed from
                asyncio.create_task(self._hold_claim(feed.url, settings.store.lease))
                if self.store.shared
                else None
            )
            try:
                # the next check counts from this poll, not from the start of the cycle
                return await pipeline.poll(
                    feed, self.clock(), parser=self.parser, rules=rules, claimed=claimed
                )
            except Exception as exc:  # a bug or a store error: this feed only, retried next tick
                log.exception("poll failed feed_url=%s", redact_url(feed.url))
                return PollReport(feed.url, error=f"internal error: {type(exc).__name__}")
            finally:
                if holding is not None:
                    holding.cancel()
                done += 1
                if progress is not None:
                    progress(done, max(done, total))

        reports: list[PollReport] = []
        running: set[asyncio.Task[PollReport]] = set()
        # polls that ended since the loop last looked, and a wake-up for it (also on stop):
        # cheaper than asyncio.wait over every running poll at each ending, which costs
        # each of a thousand polls a pass over the thousand
        ended: list[asyncio.Task[PollReport]] = []
        wake = asyncio.Event()

        def on_end(task: asyncio.Task[PollReport]) -> None:
            ended.append(task)
            wake.set()

        total, more = 0, True
        refill = 1 if batch is None else max(1, batch // 2)  # fewer, larger claims
        stopping = asyncio.ensure_future((stop or asyncio.Event()).wait())
        stopping.add_done_callback(lambda _: wake.set())
        try:
            while not stopping.done():
                room = None if batch is None else batch - len(running)
                if more and (room is None or room >= refill):
                    claimed = await asyncio.to_thread(claim, room)
                    more = bool(claimed) and batch is not None
                    total += len(claimed)
                    for feed in claimed:
                        task = asyncio.create_task(poll_one(feed))
                        task.add_done_callback(on_end)
                        running.add(task)
                if not running:
                    break
                await wake.wait()
                wake.clear()
                finished, ended[:] = list(ended), []
                reports += [task.result() for task in finished]
                running.difference_update(finished)
        finally:
            stopping.cancel()
        if running:  # stopped: the feeds in flight give up at their next wait
            for task in running:
                task.cancel()
            await asyncio.wait(running)
            reports += [t.result() for t in running if not t.cancelled() and not t.exception()]
            if pipeline.saves is not None:  # the states of polls cut short are being saved
                await pipeline.saves.idle()
            await asyncio.to_thread(self.store.release_feed_claims, self.owner)
        order = {url: i for i, url in enumerate(by_url)}
        return sorted(reports, key=lambda report: order[report.url])

    def _share(self, settings: Settings, now: datetime) -> Share:
        """This replica's share of the feeds, noting that it is alive.

        A replica that has not claimed for three ticks (30 s at least) no longer counts;
        a feed overdue by two ticks is anyone's, so a dead replica's feeds wait no longer.
        """
        tick = settings.service.tick
        alive = max(3 * tick, _ALIVE_AT_LEAST)
        return self.store.replica_share(self.owner, now, alive, grace=2 * tick)

    async def _hold_claim(self, url: str, lease: timedelta) -> None:
        """Renew the claim on a feed while its poll runs (many slow pages can outlast a
        lease), so no other replica takes it over mid-way."""
        while True:
            await asyncio.sleep(lease.total_seconds() / 3)
            try:
                await asyncio.to_thread(
                    self.store.extend_claim, url, self.owner, self.clock() + lease
                )
            except Exception:  # the database is away: the poll goes on, the lease may lapse
                log.warning("claim not renewed feed_url=%s", redact_url(url), exc_info=True)
