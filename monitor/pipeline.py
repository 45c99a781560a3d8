"""One feed's poll, end to end: the data flow drawn in ARCHITECTURE.md.

fetch → parse → new entries → match topics → fetch and clean each matching page
→ store matches and mark entries seen. Every failure stays with its feed or
page: it is logged with the (redacted) URL, recorded in the feed's state, and
the feed is retried later with backoff.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from monitor.backlog import news_since, split_backlog
from monitor.config import ALL_BACKLOG, FeedConfig, TopicConfig
from monitor.errors import ExtractError, FetchError, ParseError, redact_url
from monitor.extract import Extractor, better_text, check_date, page_words
from monitor.feeds import ParsePool, parse_feed
from monitor.http import HttpClient
from monitor.models import Article, Entry, FeedState, Match, Response
from monitor.placement import Candidate, place
from monitor.poll_schedule import (
    Rng,
    Rules,
    after_failure,
    after_success,
    default_rng,
    document_hint,
)
from monitor.query import Document, Explanation, Query, TopicIndex
from monitor.source_names import source_name
from monitor.store import ClaimedFeed
from monitor.store.interfaces import PollRecords
from monitor.stories import StoryArticle, StoryBook
from monitor.story_sync import SharedStories
from monitor.urls import canonical_url

log = logging.getLogger(__name__)

_PAGE_ACCEPT = "text/html,application/xhtml+xml;q=0.9,*/*;q=0.5"
_FEED_ACCEPT = (
    "application/rss+xml, application/atom+xml, application/feed+json, "
    "application/xml;q=0.9, text/xml;q=0.9, */*;q=0.5"
)


# Why the feed's own text is shown instead of the page, by ExtractError.reason.
_FALLBACK_NOTES = {
    "consent wall": "The page is a cookie-consent wall; showing the feed's text.",
    "paywall": "The article is behind a paywall; showing the feed's text.",
    "javascript required": "The page needs JavaScript to show the article; "
    "showing the feed's text.",
    "not html": "The link is not a web page; showing the feed's text.",
    "no main text": "The article page had no readable text; showing the feed's text.",
}


def _story_url(entry: Entry, article: Article | None) -> str:
    """The page's canonical URL when it stays on the same site, else the page or entry link."""
    if article is None:
        return entry.link or entry.key
    canonical = article.canonical_url
    if canonical and urlsplit(canonical).hostname == urlsplit(article.url).hostname:
        return canonical  # a canonical on another host is more often wrong than right
    return article.url


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
    error_class: str | None = None
    bytes: int = 0  # decoded feed body
    developments: int = 0  # matches that update a story already reported
    backlog: int = 0  # new entries recorded but not sent: too old to be news (monitor/backlog.py)


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
            await self._succeeded(
                state, response, now, interval=interval, hint=hint, rules=rules, rng=rng
            )
            return PollReport(feed.url, not_modified=True)
        try:
            if parser is None:
                parsed = parse_feed(response.body, url=response.url, headers=response.headers)
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
        everything = backlog is None or backlog >= ALL_BACKLOG  # backlog = "all"
        since = None if backlog is None or everything else news_since(stored, now, backlog)
        split = split_backlog(new, since, undated_is_news=not first_read)
        candidates = []
        if self.topics:
            candidates = [
                c for entry in split.news if (c := await self._matches(entry, source, now))
            ]
        dates = [entry.published for entry in parsed.entries]
        hint = document_hint(ttl_minutes=parsed.ttl, published=dates, now=now, rules=rules)
        done = self._success_state(
            state, response, now, interval=interval, hint=hint, rules=rules, rng=rng
        )
        # in a thread: the story lock and the store may wait, other feeds' polls go on
        found, added = await asyncio.to_thread(
            self._place_and_record,
            new,
            candidates,
            now,
            feed=(done, parsed.title, hint or timedelta(0)),  # 0 forgets an old hint
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
        )

    def _place_and_record(
        self,
        new: Sequence[Entry],
        candidates: Sequence[Candidate],
        now: datetime,
        *,
        feed: tuple[FeedState, str | None, timedelta | None],
    ) -> tuple[list[Match], int]:
        """Place the candidates in their stories and record the entries, the matches and
        the feed's new state in one transaction, under the story lock; blocking."""
        with self._stories(now, bool(candidates)) as book:
            found = place(book, candidates, now)
            return found, self.store.record_entries(new, found, now, self.routes, feed=feed)

    def _stories(self, now: datetime, needed: bool) -> AbstractContextManager[StoryBook | None]:
        """The story book to place articles in, up to date and saved after (None: no book)."""
        if self.stories is None or not needed:
            return nullcontext()
        return self.stories.updating(now)

    async def _matches(
        self, entry: Entry, source: str, now: datetime
    ) -> tuple[StoryArticle, list[Match]] | None:
        """The topics this entry matches, each with the cleaned article (fetched once).

        Stage one matches the title, summary and any full content the feed carries;
        topics with `match = "full_text"` also take entries holding at least half of
        what they require (monitor/query/promise.py). The page is fetched once; when
        only such a topic wants it, every word of the page is tried first, and the
        article is extracted only if one of them matches there.
        """
        first = Document(
            entry.title, f"{entry.summary}\n{entry.content or ''}", source, entry.link or ""
        )
        selected = self.index.match(first)
        wider = [
            name
            for name in self.index.promising(first)
            if name not in selected and self.topics[name].config.match == "full_text"
        ]
        if not selected and not wider:
            return None
        page, note = await self._page(entry)
        if (
            page is not None
            and not selected
            and not self._worth_extracting(entry, source, page, wider)
        ):
            return None
        article, note = (None, note) if page is None else await self._article(page, entry)
        choice = better_text(entry.content, article)
        text = choice.text if choice else entry.summary
        date = check_date(entry.published, article.date if article else None)
        if date.note:
            log.info("dates differ url=%s note=%s", redact_url(entry.link or ""), date.note)
        url = canonical_url(_story_url(entry, article))
        title = entry.title or (article.title if article and article.title else url)
        full = Document(title, article.text, source, url) if article else None
        explained = self._confirm(selected, wider, full)
        if not explained:
            return None
        article_in_story = StoryArticle(url, url, source, title, text, date.date or now)
        return article_in_story, [
            Match(
                topic=name,
                entry_key=entry.key,
                feed_url=entry.feed_url,
                url=url,
                title=title,
                text=text,
                source=source,
                published=date.date,
                terms=explanation.terms,
                snippet=explanation.snippet,
                hits=tuple((hit.term, hit.field, hit.count) for hit in explanation.hits),
                note=note,
                author=entry.author or (article.author if article else None),
                image=article.image if article else None,
                site_name=article.site_name if article else None,
                language=article.language if article else None,
            )
            for name, explanation in explained.items()
        ]

    def _confirm(
        self, selected: Mapping[str, Explanation], wider: Sequence[str], full: Document | None
    ) -> dict[str, Explanation]:
        """The topics that keep the entry: summary topics as selected, full-text topics
        confirmed on the article (or, when the page gave no text, as selected)."""
        kept: dict[str, Explanation] = {}
        for name in [*selected, *wider]:
            topic = self.topics[name]
            if topic.config.match == "summary" or full is None:
                if name in selected:
                    kept[name] = selected[name]
                continue
            confirmed = topic.query.match(full)
            if confirmed is not None:
                kept[name] = confirmed
            elif name in selected:
                log.info(
                    "summary matched but the article does not topic=%s url=%s",
                    name,
                    redact_url(full.url),
                )
        return kept

    async def _page(self, entry: Entry) -> tuple[Response | None, str | None]:
        """The entry's page, or None and a note saying why the feed's text is shown."""
        if not entry.link:
            return None, "The entry has no link; showing the feed's text."
        try:
            return await self.http.get(entry.link, accept=_PAGE_ACCEPT), None
        except FetchError as exc:
            log.warning("page not fetched url=%s error=%s", exc.url, exc)
            return None, (
                f"The article page could not be fetched ({exc.error_class}); "
                "showing the feed's text."
            )

    def _worth_extracting(
        self, entry: Entry, source: str, page: Response, wider: Sequence[str]
    ) -> bool:
        """Whether a topic that only the article could satisfy matches some words of the
        page (menus included): if none does, the article cannot, and is not extracted."""
        words = page_words(page.body, page.headers.get("content-type"))
        rough = Document(entry.title, words, source, page.url)
        if any(self.topics[name].query.match(rough) for name in wider):
            return True
        log.debug("page does not match url=%s topics=%s", redact_url(page.url), ",".join(wider))
        return False

    async def _article(self, page: Response, entry: Entry) -> tuple[Article | None, str | None]:
        """The cleaned page, or None and a note saying why the feed's text is shown."""
        try:
            article = await self.extractor.extract(
                page.body,
                url=page.url,
                content_type=page.headers.get("content-type"),
                summary=entry.summary,  # a page text far shorter than this is implausible
            )
            return article, None
        except ExtractError as exc:
            log.warning("page gave no article url=%s reason=%s error=%s", exc.url, exc.reason, exc)
            return None, _FALLBACK_NOTES.get(exc.reason, _FALLBACK_NOTES["no main text"])

    async def _succeeded(
        self,
        state: FeedState,
        response: Response,
        now: datetime,
        *,
        interval: timedelta,
        hint: timedelta | None,
        rules: Rules,
        rng: Rng,
        title: str | None = None,
        remember_hint: bool = False,
    ) -> None:
        """Record a 200 or 304: validators kept, failures reset, next check per the rules."""
        await asyncio.to_thread(
            self.store.save_feed_state,
            self._success_state(
                state, response, now, interval=interval, hint=hint, rules=rules, rng=rng
            ),
            title=title,
            hint=(hint or timedelta(0)) if remember_hint else None,  # 0 forgets an old hint
        )

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
        await asyncio.to_thread(
            self.store.save_feed_state,
            replace(
                state,
                last_error=str(error),
                last_error_class=str(error_class),
                consecutive_failures=failures,
                next_check=next_check,
            ),
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
