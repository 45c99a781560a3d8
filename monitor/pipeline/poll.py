"""One feed's poll, end to end: the data flow drawn in ARCHITECTURE.md.

fetch → parse → new entries → match topics and fetch and clean each matching page
(candidates.py, article_pages.py) → place them in stories, store matches and mark
entries seen (placement.py). This module keeps the feed's own bookkeeping: its
validators, failures and next check. Every failure stays with its feed or page: it
is logged with the (redacted) URL, recorded in the feed's state, and the feed is
retried later with backoff.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from monitor import feeds
from monitor.config import ALL_BACKLOG, FeedConfig
from monitor.errors import FetchError, ParseError, redact_url
from monitor.extract import Extractor
from monitor.feeds import ParsePool
from monitor.http import HttpClient
from monitor.models import Entry, FeedState, Match, Response
from monitor.pipeline.article_pages import ArticlePages
from monitor.pipeline.backlog import news_since, split_backlog
from monitor.pipeline.candidates import CandidateFinder, WatchedTopic
from monitor.pipeline.placement import place_and_record
from monitor.pipeline.state_saves import StateSaves
from monitor.pipeline.story_sync import SharedStories
from monitor.poll_schedule import (
    Rng,
    Rules,
    after_failure,
    after_success,
    default_rng,
    document_hint,
)
from monitor.query import TopicIndex
from monitor.source_names import source_name
from monitor.store import ClaimedFeed
from monitor.store.interfaces import PollRecords
from monitor.stories import StoryArticle

log = logging.getLogger(__name__)

_Placed = tuple[list[Match], int]  # what place_and_record returns
_PAGES_PER_FEED = 4  # pages of one feed fetched and extracted at once

_FEED_ACCEPT = (
    "application/rss+xml, application/atom+xml, application/feed+json, "
    "application/xml;q=0.9, text/xml;q=0.9, */*;q=0.5"
)


async def _to_the_end(saving: Awaitable[_Placed]) -> _Placed:
    """Await a save that, once started, is not given up: a cycle stopped meanwhile (SIGTERM)
    waits for its transaction, and the feed counts as polled and saved, as it is."""
    task = asyncio.ensure_future(saving)
    try:
        return await asyncio.shield(task)
    except asyncio.CancelledError:
        if task.cancelled():
            raise
        return await task


@dataclass(frozen=True, slots=True)
class PollReport:
    url: str
    new_entries: int = 0
    matches: int = 0
    not_modified: bool = False
    error: str | None = None
    error_class: str | None = None
    bytes: int = 0  # decoded feed body
    developments: int = 0  # matches that update a story already reported
    backlog: int = (
        0  # new entries recorded but not sent: too old to be news (monitor/pipeline/backlog.py)
    )
    folded: int = 0  # matches recorded into a story already told (copies, "also reported by")


@dataclass(frozen=True, slots=True)
class Pipeline:
    """What a poll needs, built once by the service."""

    store: PollRecords
    http: HttpClient
    extractor: Extractor
    topics: Mapping[str, WatchedTopic]  # by name
    default_interval: timedelta
    max_backoff: timedelta
    # the same topics, indexed by the words they require (none: no topic matches)
    index: TopicIndex = field(default_factory=lambda: TopicIndex({}))
    routes: Mapping[str, Sequence[str]] = field(default_factory=dict)  # topic -> channels
    stories: SharedStories | None = None  # groups articles into stories; None: all alert
    # how old an entry may be and still be news on a feed's first poll (None: any age)
    backlog: timedelta | None = None
    # 304s and failures saved together (None: each alone, as one poll needs)
    saves: StateSaves | None = None

    async def poll(
        self,
        feed: FeedConfig,
        now: datetime,
        *,
        parser: ParsePool | None = None,
        rules: Rules | None = None,
        rng: Rng | None = None,
        claimed: ClaimedFeed | None = None,
    ) -> PollReport:
        """Poll one feed and record what it brought; never raises for the feed's faults.

        `parser` parses in worker processes (the service passes its pool; without one the
        document is parsed here). `rules` and `rng` set the next check (monitor/poll_schedule.py).
        `claimed`: the feed's stored state, as the claim on it returned it (else read here).
        """
        rules = rules or Rules(self.default_interval, self.max_backoff)
        rng = rng or default_rng()
        if claimed is not None:
            stored, hint = claimed.state, claimed.hint
        else:
            stored, hint = await asyncio.to_thread(self.store.feed_schedule, feed.url)
        state = replace(stored, last_checked=now)
        interval = feed.interval or rules.default_interval
        try:
            response = await self.http.get(
                feed.url, etag=state.etag, last_modified=state.last_modified, accept=_FEED_ACCEPT
            )
        except FetchError as exc:
            return await self._failed(
                state, exc, exc.error_class, interval, now, exc.retry_after, rules=rules, rng=rng
            )
        if response.not_modified:  # nothing to parse: only the timers move
            done = self._success_state(
                state, response, now, interval=interval, hint=hint, rules=rules, rng=rng
            )
            await self._save_state(done)
            return PollReport(feed.url, not_modified=True)
        try:
            if parser is None:
                parsed = feeds.parse_feed(response.body, url=response.url, headers=response.headers)
            else:
                parsed = await parser.parse(
                    response.body, url=response.url, headers=response.headers
                )
        except ParseError as exc:
            return await self._failed(
                state, exc, exc.error_class, interval, now, None, rules=rules, rng=rng
            )
        if parsed.warning:
            log.warning(
                "feed is malformed but readable feed_url=%s problem=%s",
                redact_url(feed.url),
                parsed.warning,
            )
        source = source_name(feed.name, parsed.title, feed.url)
        first_read = state.last_success is None  # entries are only stored after a success
        new = await asyncio.to_thread(
            self.store.unseen, feed.url, parsed.entries, first_read=first_read
        )
        backlog = feed.backlog if feed.backlog is not None else self.backlog
        if backlog is None or backlog >= ALL_BACKLOG:  # backlog = "all"
            since = None
        else:
            since = news_since(stored, now, backlog)
        split = split_backlog(new, since, undated_is_news=not first_read)
        candidates = []
        if self.topics:
            finder = CandidateFinder(
                self.topics, self.index, ArticlePages(self.http, self.extractor)
            )
            # a few pages of this feed at a time: their latencies overlap, and a feed holds
            # at most _PAGES_PER_FEED pages in memory while they wait for extraction
            slots = asyncio.Semaphore(_PAGES_PER_FEED)

            async def matched(entry: Entry) -> tuple[StoryArticle, Sequence[Match]] | None:
                async with slots:
                    return await finder.find(entry, source, now)

            found_each = await asyncio.gather(*(matched(entry) for entry in split.news))
            candidates = [c for c in found_each if c]  # in feed order, for story placement
        dates = [entry.published for entry in parsed.entries]
        hint = document_hint(ttl_minutes=parsed.ttl, published=dates, now=now, rules=rules)
        done = self._success_state(
            state, response, now, interval=interval, hint=hint, rules=rules, rng=rng
        )
        # in a thread: the story lock and the store may wait, other feeds' polls go on
        found, added = await _to_the_end(
            asyncio.to_thread(
                place_and_record,
                self.store,
                self.stories,
                new,
                candidates,
                now,
                self.routes,
                feed=(done, parsed.title, hint or timedelta(0)),  # 0 forgets an old hint
            )
        )
        log.info(
            "feed polled feed_url=%s entries=%d new=%d backlog=%d matches=%d",
            redact_url(feed.url),
            len(parsed.entries),
            len(new),
            len(split.backlog),
            added,
        )
        return PollReport(
            feed.url,
            new_entries=len(new),
            matches=added,
            bytes=len(response.body),
            developments=sum(m.story_kind == "development" for m in found),
            backlog=len(split.backlog),
            folded=sum(not m.alert for m in found),
        )

    async def _save_state(self, state: FeedState) -> None:
        """Save a poll's outcome that has nothing but the feed's state (a 304, a failure)."""
        await (self.saves or StateSaves(self.store)).save(state)

    def _success_state(
        self,
        state: FeedState,
        response: Response,
        now: datetime,
        *,
        interval: timedelta,
        hint: timedelta | None,
        rules: Rules,
        rng: Rng,
    ) -> FeedState:
        """The feed's state after a 200 or 304, with its next check."""
        next_check = after_success(
            now, interval=interval, hint=hint, headers=response.headers, rules=rules, rng=rng
        )
        return replace(
            state,
            etag=response.etag or state.etag,
            last_modified=response.last_modified or state.last_modified,
            last_success=now,
            last_error=None,
            last_error_class=None,
            consecutive_failures=0,
            next_check=next_check,
        )

    async def _failed(
        self,
        state: FeedState,
        error: Exception,
        error_class: str,
        interval: timedelta,
        now: datetime,
        retry_after: float | None,
        *,
        rules: Rules | None = None,
        rng: Rng | None = None,
    ) -> PollReport:
        """Record a failure: its class, one more in a row, the next try with backoff."""
        failures = state.consecutive_failures + 1
        rules = rules or Rules(self.default_interval, self.max_backoff)
        next_check = after_failure(
            now,
            interval=interval,
            failures=failures,
            retry_after=retry_after,
            rules=rules,
            rng=rng or default_rng(),
        )
        await self._save_state(
            replace(
                state,
                last_error=str(error),
                last_error_class=str(error_class),
                consecutive_failures=failures,
                next_check=next_check,
            )
        )
        log.warning(
            "feed failed feed_url=%s error_class=%s failures=%d retry_in=%s error=%s",
            redact_url(state.url),
            error_class,
            failures,
            next_check - now,
            error,
        )
        return PollReport(state.url, error=str(error), error_class=str(error_class))
