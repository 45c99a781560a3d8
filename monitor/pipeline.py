"""One feed's poll, end to end, reading like the data flow in DESIGN.md.

fetch → parse → new entries → match topics → fetch and clean each matching page
→ store matches and mark entries seen. Every failure stays with its feed or
page: it is logged with the (redacted) URL, recorded in the feed's state, and
the feed is retried later with backoff.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from monitor.config import FeedConfig, TopicConfig
from monitor.errors import ExtractError, FetchError, ParseError, redact_url
from monitor.extract import Extractor
from monitor.feeds import parse_feed
from monitor.http import HttpClient
from monitor.models import Article, Entry, FeedState, Match
from monitor.query import Query
from monitor.store import Store
from monitor.urls import canonical_url

log = logging.getLogger(__name__)

_PAGE_ACCEPT = "text/html,application/xhtml+xml;q=0.9,*/*;q=0.5"
_FEED_ACCEPT = (
    "application/rss+xml, application/atom+xml, application/feed+json, "
    "application/xml;q=0.9, text/xml;q=0.9, */*;q=0.5"
)


@dataclass(frozen=True, slots=True)
class WatchedTopic:
    config: TopicConfig
    query: Query


@dataclass(frozen=True, slots=True)
class PollReport:
    url: str
    new_entries: int = 0
    matches: int = 0
    not_modified: bool = False
    error: str | None = None


@dataclass(frozen=True, slots=True)
class Pipeline:
    """What a poll needs, built once by the service."""

    store: Store
    http: HttpClient
    extractor: Extractor
    topics: Sequence[WatchedTopic]
    default_interval: timedelta
    max_backoff: timedelta
    routes: Mapping[str, Sequence[str]] = field(default_factory=dict)  # topic -> channels

    async def poll(self, feed: FeedConfig, now: datetime) -> PollReport:
        """Poll one feed and record what it brought; never raises for the feed's faults."""
        state = replace(self.store.feed_state(feed.url), last_checked=now)
        interval = feed.interval or self.default_interval
        try:
            response = await self.http.get(
                feed.url, etag=state.etag, last_modified=state.last_modified, accept=_FEED_ACCEPT
            )
        except FetchError as exc:
            return self._failed(state, exc, exc.error_class, interval, now, exc.retry_after)
        if response.not_modified:
            self._succeeded(state, interval, now, response.etag, response.last_modified)
            return PollReport(feed.url, not_modified=True)
        try:
            parsed = parse_feed(response.body, url=response.url, headers=response.headers)
        except ParseError as exc:
            return self._failed(state, exc, exc.error_class, interval, now, None)
        if parsed.warning:
            log.warning(
                "feed is malformed but readable url=%s problem=%s",
                redact_url(feed.url),
                parsed.warning,
            )
        source = feed.name or parsed.title or urlsplit(feed.url).hostname or feed.url
        new = self.store.unseen(feed.url, parsed.entries)
        found = [match for entry in new for match in await self._matches(entry, source)]
        added = self.store.record_entries(new, found, now, self.routes)
        if parsed.ttl:  # the feed asks not to be polled more often than its <ttl>
            interval = max(interval, timedelta(minutes=parsed.ttl))
        self._succeeded(state, interval, now, response.etag, response.last_modified, parsed.title)
        log.info(
            "feed polled url=%s entries=%d new=%d matches=%d",
            redact_url(feed.url),
            len(parsed.entries),
            len(new),
            added,
        )
        return PollReport(feed.url, new_entries=len(new), matches=added)

    async def _matches(self, entry: Entry, source: str) -> list[Match]:
        """The topics this entry matches, each with the cleaned article (fetched once)."""
        document = f"{entry.title}\n{entry.summary}"
        hits = [(t, t.query.explain(document)) for t in self.topics]
        hits = [(t, terms) for t, terms in hits if terms]
        if not hits:
            return []
        article, note = await self._article(entry)
        url = canonical_url(article.url if article else entry.link or entry.key)
        text = article.text if article else (entry.content or entry.summary)
        return [
            Match(
                topic=topic.config.name,
                entry_key=entry.key,
                feed_url=entry.feed_url,
                url=url,
                title=entry.title or (article.title if article and article.title else url),
                text=text,
                source=source,
                published=entry.published,
                terms=terms,
                note=note,
                author=entry.author or (article.author if article else None),
            )
            for topic, terms in hits
        ]

    async def _article(self, entry: Entry) -> tuple[Article | None, str | None]:
        """The cleaned page, or None and a note saying why the feed's text is shown."""
        if not entry.link:
            return None, "The entry has no link; showing the feed's text."
        try:
            page = await self.http.get(entry.link, accept=_PAGE_ACCEPT)
            return await self.extractor.extract(page.body, url=page.url), None
        except FetchError as exc:
            log.warning("page not fetched url=%s error=%s", exc.url, exc)
            return (
                None,
                f"The article page could not be fetched ({exc.error_class}); "
                "showing the feed's text.",
            )
        except ExtractError as exc:
            log.warning("page gave no text url=%s error=%s", exc.url, exc)
            return None, "The article page had no readable text; showing the feed's text."

    def _succeeded(
        self,
        state: FeedState,
        interval: timedelta,
        now: datetime,
        etag: str | None,
        last_modified: str | None,
        title: str | None = None,
    ) -> None:
        self.store.save_feed_state(
            replace(
                state,
                etag=etag or state.etag,
                last_modified=last_modified or state.last_modified,
                last_success=now,
                last_error=None,
                last_error_class=None,
                consecutive_failures=0,
                next_check=now + interval,
            ),
            title=title,
        )

    def _failed(
        self,
        state: FeedState,
        error: Exception,
        error_class: str,
        interval: timedelta,
        now: datetime,
        retry_after: float | None,
    ) -> PollReport:
        failures = state.consecutive_failures + 1
        wait = min(interval * 2 ** (failures - 1), self.max_backoff)
        if retry_after is not None:
            wait = max(wait, timedelta(seconds=retry_after))
        self.store.save_feed_state(
            replace(
                state,
                last_error=str(error),
                last_error_class=str(error_class),
                consecutive_failures=failures,
                next_check=now + wait,
            )
        )
        log.warning(
            "feed failed url=%s class=%s failures=%d retry_in=%s error=%s",
            redact_url(state.url),
            error_class,
            failures,
            wait,
            error,
        )
        return PollReport(state.url, error=str(error))
