"""Trying a topic before it goes live: its query against past entries, a page or a file.

Nothing is stored and nothing is sent. Past entries are matched on their title
and summary, or on their article's text when the store kept one; results are
grouped by story where the story is known.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from monitor.config import FeedConfig, Settings
from monitor.extract import Extractor
from monitor.http import HttpClient
from monitor.query import Document, Explanation, Query
from monitor.source_names import source_name
from monitor.store import SeenEntry
from monitor.store.interfaces import PastEntries


@dataclass(frozen=True, slots=True)
class Hit:
    title: str
    url: str | None
    source: str
    when: datetime | None
    story: str | None
    explanation: Explanation
    joined: str | None = None  # why the article joined its story, when it did


def source_namer(store: PastEntries, feeds: Sequence[FeedConfig]) -> Callable[[str], str]:
    """Feed URL -> how the source is named everywhere (the feed's name, its title, its host)."""
    names = {feed.url: feed.name for feed in feeds}
    titles = store.feed_titles()
    return lambda url: source_name(names.get(url), titles.get(url), url)


def on_stored(
    store: PastEntries, query: Query, since: datetime, feeds: Sequence[FeedConfig]
) -> list[Hit]:
    """Past entries the query matches, oldest first, their sources named as digests name them."""
    namer = source_namer(store, feeds)
    found = (match_entry(query, entry, namer) for entry in store.entries_since(since))
    return [hit for hit in found if hit is not None]


def match_entry(query: Query, entry: SeenEntry, namer: Callable[[str], str]) -> Hit | None:
    """The entry as a backtest hit, if the query matches it (its article's text if kept)."""
    text = entry.article_text or entry.summary
    source = namer(entry.feed_url)
    explanation = query.match(Document(entry.title, text, source, entry.link or ""))
    if explanation is None:
        return None
    return Hit(
        entry.title,
        entry.link,
        source,
        entry.first_seen,
        entry.story_id,
        explanation,
        entry.story_reason,
    )


async def on_page(settings: Settings, query: Query, url: str) -> tuple[str, Explanation | None]:
    """Fetch and clean one page, then match it: (its title, the explanation or None)."""
    async with HttpClient(settings.fetch) as http:
        page = await http.get(url)
    with Extractor(workers=1, timeout=settings.extract.timeout.total_seconds()) as extractor:
        article = await extractor.extract(
            page.body, url=page.url, content_type=page.headers.get("content-type")
        )
    title = article.title or page.url
    source = source_name(None, article.site_name, page.url)
    return title, query.match(Document(title, article.text, source, page.url))


async def on_file(settings: Settings, query: Query, path: Path) -> tuple[str, Explanation | None]:
    """Match a saved HTML page (cleaned like a fetched one) or a plain text file."""
    data = path.read_bytes()
    if path.suffix.lower() in (".html", ".htm") or data.lstrip()[:1] == b"<":
        with Extractor(workers=1, timeout=settings.extract.timeout.total_seconds()) as extractor:
            article = await extractor.extract(data, url=path.resolve().as_uri())
        title, text = article.title or path.name, article.text
    else:
        title, text = path.name, data.decode("utf-8", errors="replace")
    return title, query.match(Document(title, text, "", str(path)))


def by_story(hits: Sequence[Hit]) -> list[list[Hit]]:
    """Hits grouped by story (entries without a known story stand alone), in first-seen order."""
    groups: dict[str, list[Hit]] = {}
    for number, hit in enumerate(hits):
        groups.setdefault(hit.story or f"entry-{number}", []).append(hit)
    return list(groups.values())
