"""Which topics a new entry matches, each with the entry's cleaned article: the candidates
that story placement (placement.py) then places.

Stage one matches the title, summary and any full content the feed carries; topics
with `match = "full_text"` also take entries holding at least half of what they
require (monitor/query/promise.py). The page is fetched once; when only such a topic
wants it, every word of the page is tried first, and the article is extracted only if
one of them matches there. Full-text topics are then confirmed on the article.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit

from monitor.config import TopicConfig
from monitor.errors import redact_url
from monitor.extract import better_text, check_date, page_words
from monitor.models import Article, Entry, Match, Response
from monitor.pipeline.article_pages import ArticlePages
from monitor.pipeline.placement import Candidate
from monitor.query import Document, Explanation, Query, TopicIndex
from monitor.stories import StoryArticle
from monitor.urls import canonical_url

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class WatchedTopic:
    config: TopicConfig
    query: Query


def _story_url(entry: Entry, article: Article | None) -> str:
    """The page's canonical URL when it stays on the same site, else the page or entry link."""
    if article is None:
        return entry.link or entry.key
    canonical = article.canonical_url
    if canonical and urlsplit(canonical).hostname == urlsplit(article.url).hostname:
        return canonical  # a canonical on another host is more often wrong than right
    return article.url


@dataclass(frozen=True, slots=True)
class CandidateFinder:
    """The topics, their index and the pages: one entry in, its candidate (or None) out."""

    topics: Mapping[str, WatchedTopic]  # by name
    index: TopicIndex  # the same topics, indexed by the words they require
    pages: ArticlePages

    async def find(self, entry: Entry, source: str, now: datetime) -> Candidate | None:
        """The topics this entry matches, each with the cleaned article (fetched once)."""
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
        page, note = await self.pages.page(entry)
        if (
            page is not None
            and not selected
            and not self._worth_extracting(entry, source, page, wider)
        ):
            return None
        article, note = (None, note) if page is None else await self.pages.article(page, entry)
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
